"""From a tool's arguments to the exact rule body: the source (parameters, rule file, ARM export or template),
the overrides on top, the rule's id, and the checks that run before anything is sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sentinelkit import Kit, KitError, Workspace

from . import convert, kqlcheck, locate

#: the namespace of the ids sentinelkit chooses for rules (the same rule gets the same id everywhere)
ID_NAMESPACE = uuid.UUID("5a8f3e0c-2f63-4c0e-9b1e-7c3d1a2b4f60")


@dataclass
class Source:
    """Where a rule comes from; exactly one of them (or display_name + query for a rule from parameters)."""

    yaml: str | None = None
    arm_template: Any = None
    pick: str | None = None
    template: str | None = None

    def given(self) -> list[str]:
        return [n for n, v in (("yaml", self.yaml), ("arm_template", self.arm_template), ("template", self.template))
                if v not in (None, "", {})]


@dataclass
class Built:
    """A rule body ready to check and send, with its id and where it came from."""

    body: dict[str, Any]
    rule_id: str | None
    origin: str
    info: dict[str, Any] = field(default_factory=dict)


def overrides(*, display_name: str | None = None, description: str | None = None, severity: str | None = None,
              enabled: bool | None = None, query: str | None = None, query_frequency: str | None = None,
              query_period: str | None = None, trigger_operator: str | None = None,
              trigger_threshold: int | None = None, tactics: list[str] | None = None,
              techniques: list[str] | None = None, entity_mappings: list[dict[str, Any]] | None = None,
              custom_details: dict[str, str] | None = None) -> dict[str, Any]:
    """The tool's parameters under the API's property names."""
    return {"displayName": display_name, "description": description, "severity": severity, "enabled": enabled,
            "query": query, "queryFrequency": query_frequency, "queryPeriod": query_period,
            "triggerOperator": trigger_operator, "triggerThreshold": trigger_threshold, "tactics": tactics,
            "techniques": techniques, "entityMappings": entity_mappings, "customDetails": custom_details}


async def from_source(kit: Kit, ws: Workspace | None, source: Source, kind: str, props: dict[str, Any]) -> Built:
    """The body a source describes, with the overrides applied (a template is read in ``ws``)."""
    given = source.given()
    if len(given) > 1:
        raise KitError(f"give one source, not {' and '.join(given)}")
    if source.yaml:
        body, info = convert.from_yaml(source.yaml)
        built = Built(body, None, "rule file", info)
    elif source.arm_template not in (None, "", {}):
        body, rule_id = convert.from_arm_template(source.arm_template, source.pick)
        built = Built(body, rule_id, "ARM template")
    elif source.template:
        if ws is None:
            raise KitError("a template is read in a workspace: name one")
        template = await locate.find_template(kit, ws, source.template)
        built = Built(convert.from_template(template), None, f"template {template['name']}",
                      {"template": template})
    else:
        built = Built(convert.from_parameters(kind, props.get("displayName"), props.get("query")), None,
                      "parameters")
    convert.apply_overrides(built.body, props)
    return built


def default_id(body: dict[str, Any]) -> str:
    """The id sentinelkit gives a rule: derived from its display name (or its template), so a retried create,
    or the same rule deployed to another workspace, gets the same id and never duplicates."""
    props = body.get("properties") or {}
    key = str(props.get("displayName") or props.get("alertRuleTemplateName") or "").strip().lower()
    return str(uuid.uuid5(ID_NAMESPACE, f"analytics-rule:{key}"))


async def checked(kit: Kit, ws: Workspace, body: dict[str, Any], *, validate: bool = True) -> kqlcheck.QueryCheck | None:
    """Refuse what the service would refuse, before sending: the body's fields, then its query against ``ws``."""
    convert.check_body(body)
    query = (body.get("properties") or {}).get("query")
    if body.get("kind") not in convert.QUERY_KINDS or not query or not validate:
        return None
    check = await kqlcheck.check_query(kit, ws, str(query))
    if check.missing_tables:
        raise KitError(f"workspace {ws.label} (tenant {ws.tenant}) has no table {', '.join(check.missing_tables)}, "
                       f"which the query reads; nothing was sent. Connect the data source first, or target a workspace "
                       f"that has it. ({check.summary()})")
    if not check.ok:
        raise KitError(f"the rule's query is invalid for workspace {ws.label}: {check.summary()}. Nothing was sent; "
                       "fix the query (kql_validate shows every problem).")
    return check


def validation_note(check: kqlcheck.QueryCheck | None) -> dict[str, Any] | None:
    """How the query was checked, for the answer (says when the check was partial)."""
    if check is None:
        return None
    note: dict[str, Any] = {"engine": check.engine, "complete": check.complete}
    if check.reason:
        note["partial"] = check.reason
    return note
