"""Compact rows of analytics rules and templates, shaped for an assistant (full rules on request)."""

from __future__ import annotations

from typing import Any

RULE_FIELDS = ["name", "workspace", "display_name", "kind", "enabled", "severity", "tactics", "template_version",
               "failing"]
TEMPLATE_FIELDS = ["name", "display_name", "kind", "severity", "version", "status", "tactics"]
#: what a template update can change in a rule made from it (compared to say what changed)
COMPARED = ("query", "severity", "queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold", "tactics",
            "techniques", "subTechniques", "entityMappings", "customDetails", "alertDetailsOverride",
            "eventGroupingSettings", "description", "displayName")
#: how rule_list filters and rule_get show the operator of a trigger
SYMBOLS = {"GreaterThan": ">", "LessThan": "<", "Equal": "==", "NotEqual": "!="}


def rule_row(rule: dict[str, Any], workspace: str | None = None,
             health: dict[str, Any] | None = None) -> dict[str, Any]:
    """One rule: what identifies it, what it does, where it came from, and whether its last run failed."""
    p = rule.get("properties") or {}
    row: dict[str, Any] = {
        "name": rule.get("name"),
        "workspace": workspace,
        "display_name": p.get("displayName"),
        "kind": rule.get("kind"),
        "enabled": p.get("enabled"),
        "severity": p.get("severity"),
        "tactics": p.get("tactics") or [],
        "techniques": (p.get("techniques") or []) + (p.get("subTechniques") or []),
        "template": p.get("alertRuleTemplateName"),
        "template_version": p.get("templateVersion"),
        "last_modified": p.get("lastModifiedUtc"),
        "query_frequency": p.get("queryFrequency"),
        "query_period": p.get("queryPeriod"),
        "trigger": (f"{SYMBOLS.get(p['triggerOperator'], p['triggerOperator'])} {p.get('triggerThreshold')}"
                    if p.get("triggerOperator") else None),
        "query": p.get("query"),
        "description": p.get("description"),
        "etag": rule.get("etag"),
        "failing": bool(health and health.get("last_status") == "Failure"),
    }
    if health:
        row["last_run"] = health
    return row


def template_row(template: dict[str, Any], *, status: str | None = None) -> dict[str, Any]:
    p = template.get("properties") or {}
    return {
        "name": template.get("name"),
        "display_name": p.get("displayName"),
        "kind": template.get("kind"),
        "severity": p.get("severity"),
        "version": p.get("version"),
        "status": status or p.get("status"),
        "tactics": p.get("tactics") or [],
        "techniques": (p.get("techniques") or []) + (p.get("subTechniques") or []),
        "data_types": sorted({t for c in p.get("requiredDataConnectors") or [] for t in c.get("dataTypes") or []}),
        "description": p.get("description"),
        "query": p.get("query"),
    }


def version_key(version: Any) -> tuple[int, ...]:
    """``"1.0.10"`` -> ``(1, 0, 10)`` so that versions compare as numbers; unparseable parts count as 0."""
    parts = []
    for piece in str(version or "0").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def template_changes(rule: dict[str, Any], template: dict[str, Any]) -> list[dict[str, Any]]:
    """What applying ``template``'s current version would change in a rule made from it: the fields the
    template defines (a field it leaves out keeps the service's default in the rule)."""
    rule_props, template_props = rule.get("properties") or {}, template.get("properties") or {}
    return changes(rule_props, template_props, [k for k in COMPARED if template_props.get(k) is not None])


def changes(before: dict[str, Any], after: dict[str, Any], keys: Any = None) -> list[dict[str, Any]]:
    """The properties that differ, each with its value before and after (long text clipped by the core)."""
    names = list(keys) if keys is not None else sorted(set(before) | set(after))
    return [{"field": k, "before": before.get(k), "after": after.get(k)} for k in names
            if _comparable(before.get(k)) != _comparable(after.get(k))]


def _comparable(value: Any) -> Any:
    """Empty lists, empty objects and None mean the same to the service; text compares without edge spaces."""
    if value in ([], {}, ""):
        return None
    if isinstance(value, str):
        return value.strip()
    return value
