"""Automation rules: conditions on new or updated incidents (provider, analytics rule, severity, title...)
and ordered actions (assign an owner, change status or severity, add labels or a task, run a playbook)."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, NotFoundError, Workspace, clip, tool

from . import api, locate
from .shape import changes

AUTOMATION_FIELDS = ["name", "workspace", "display_name", "order", "enabled", "trigger", "conditions", "actions",
                     "expiration"]
OPERATORS = ("Equals", "NotEquals", "Contains", "NotContains", "StartsWith", "NotStartsWith", "EndsWith",
             "NotEndsWith")
STATUSES = ("New", "Active", "Closed")
SEVERITIES = ("High", "Medium", "Low", "Informational")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_NAMESPACE = uuid.UUID("0b7e4f55-8d61-4d7a-a6c4-3f3a51e0c2a9")


def automation_id(display_name: str) -> str:
    """A stable id from the display name: a retried create never makes a second rule."""
    return str(uuid.uuid5(_NAMESPACE, f"automation-rule:{display_name.strip().lower()}"))


# -- reading ---------------------------------------------------------------------------------------
def _condition_text(condition: dict[str, Any]) -> str:
    ctype = condition.get("conditionType")
    p = condition.get("conditionProperties") or {}
    if ctype in ("Property", "PropertyChanged"):
        change = f" {p.get('changeType')}" if ctype == "PropertyChanged" else ""
        return f"{p.get('propertyName')}{change} {p.get('operator')} {', '.join(map(str, p.get('propertyValues') or []))}"
    if ctype == "PropertyArrayChanged":
        return f"{p.get('arrayType')} {p.get('changeType')}"
    if ctype == "Boolean":
        inner = [_condition_text(c) for c in p.get("innerConditions") or []]
        return "(" + f" {str(p.get('operator')).upper()} ".join(inner) + ")"
    return f"{ctype}"


def _action_text(action: dict[str, Any]) -> str:
    config = action.get("actionConfiguration") or {}
    atype = action.get("actionType")
    if atype == "RunPlaybook":
        detail = f"run playbook {str(config.get('logicAppResourceId', '')).rsplit('/', 1)[-1]}"
    elif atype == "AddIncidentTask":
        detail = f"add task {config.get('title')!r}"
    else:
        parts = []
        for key, value in config.items():
            if value in (None, [], {}):
                continue
            if key == "owner":
                value = value.get("userPrincipalName") or value.get("email") or value.get("objectId")
            elif key == "labels":
                value = ", ".join(label.get("labelName", "") for label in value)
            parts.append(f"{key}={value}")
        detail = "set " + "; ".join(parts)
    return f"{action.get('order')}. {detail}"


def automation_row(rule: dict[str, Any], workspace: str | None = None) -> dict[str, Any]:
    p = rule.get("properties") or {}
    logic = p.get("triggeringLogic") or {}
    actions = sorted(p.get("actions") or [], key=lambda a: a.get("order") or 0)
    return {
        "name": rule.get("name"),
        "workspace": workspace,
        "display_name": p.get("displayName"),
        "order": p.get("order"),
        "enabled": logic.get("isEnabled"),
        "trigger": f"{logic.get('triggersOn')} {logic.get('triggersWhen')}",
        "conditions": [_condition_text(c) for c in logic.get("conditions") or []],
        "actions": [_action_text(a) for a in actions],
        "expiration": logic.get("expirationTimeUtc"),
        "last_modified": p.get("lastModifiedTimeUtc"),
        "etag": rule.get("etag"),
    }


async def _list(kit: Kit, ws: Workspace, *, cache: bool = True) -> list[dict[str, Any]]:
    return await kit.arm(ws).list(api.automation_rules(ws), api.SENTINEL, cache=cache,
                                  where=ws.where(operation="list automation rules"))


async def _find(kit: Kit, ws: Workspace, ref: str) -> dict[str, Any]:
    """An automation rule by id, ARM id or display name; fresh."""
    name = ref.rstrip("/").rsplit("/", 1)[-1].strip()
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", name):
        try:
            return await kit.arm(ws).get(api.automation_rule(ws, name), api.SENTINEL, cache=False,
                                         where=ws.where(resource=f"automation rule {name}", operation="read"))
        except NotFoundError:
            pass
    rules = await _list(kit, ws, cache=False)
    found = [r for r in rules if str((r.get("properties") or {}).get("displayName", "")).lower() == ref.lower()]
    if len(found) == 1:
        return found[0]
    names = ", ".join(sorted(str((r.get("properties") or {}).get("displayName")) for r in rules))
    if found:
        raise KitError(f"{len(found)} automation rules in {ws.label} are called {ref!r}; name one by its id")
    raise KitError(f"no automation rule {ref!r} in workspace {ws.label}; it has: {names or 'none'}")


@tool(READ_ONLY, title="List automation rules")
async def automation_rule_list(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                               tenant: str | None = None, enabled: bool | None = None,
                               fields: list[str] | None = None, limit: int = 25,
                               cursor: str | None = None) -> dict[str, Any]:
    """List automation rules in the order Sentinel runs them: trigger, conditions, actions, expiration. One
    workspace or across workspaces and tenants.

    Args:
        workspace: One workspace (alias, name or ARM id); omit to cover `workspaces`/`tenant`.
        workspaces: Workspaces to cover, or "all" (the default): every Sentinel workspace.
        tenant: Only workspaces of this tenant.
        enabled: Only enabled (true) or disabled (false) rules.
        fields: Fields per rule (default: name, workspace, display_name, order, enabled, trigger, conditions, actions, expiration); ["*"] adds last_modified and etag.
        limit: Rules per page.
        cursor: next_cursor of the previous page.
    """
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)

    async def one(ws: Workspace) -> list[dict[str, Any]]:
        rows = [automation_row(r, ws.label) for r in await _list(kit, ws)]
        return [r for r in rows if enabled is None or bool(r["enabled"]) == enabled]

    result = await kit.fan_out(chosen, one)
    rows = sorted((r for _, rows in result.results for r in rows), key=lambda r: (r["workspace"], r["order"] or 0))
    extra: dict[str, Any] = {"workspaces": result.total}
    if result.errors:
        extra["errors"] = result.error_messages()
    return kit.page(rows, fields=fields, default_fields=AUTOMATION_FIELDS, limit=limit, cursor=cursor,
                    key="automation_rules", extra=extra)


@tool(READ_ONLY, title="Show an automation rule")
async def automation_rule_get(kit: Kit, workspace: str, rule: str) -> dict[str, Any]:
    """Show one automation rule: a readable summary, and its conditions and actions as the API has them.

    Args:
        workspace: Workspace alias, name or ARM id.
        rule: The rule's id, ARM id or display name (see automation_rule_list).
    """
    ws = await kit.workspace(workspace)
    found = await _find(kit, ws, rule)
    props = found.get("properties") or {}
    return clip({**automation_row(found, ws.label), "triggering_logic": props.get("triggeringLogic"),
                 "actions_detail": props.get("actions"), "created_by": props.get("createdBy"),
                 "last_modified_by": props.get("lastModifiedBy")})


# -- writing ---------------------------------------------------------------------------------------
def _property(name: str, operator: str, values: list[str]) -> dict[str, Any]:
    if operator not in OPERATORS:
        raise KitError(f"condition operator {operator!r} does not exist: use {', '.join(OPERATORS)}")
    return {"conditionType": "Property", "conditionProperties": {"propertyName": name, "operator": operator,
                                                                 "propertyValues": [str(v) for v in values]}}


def _raw_condition(raw: dict[str, Any]) -> dict[str, Any]:
    """An ARM condition as it is, or the short form {"property", "operator", "values"}."""
    if "conditionType" in raw:
        return raw
    if "property" in raw:
        values = raw.get("values")
        return _property(str(raw["property"]), str(raw.get("operator") or "Equals"),
                         [str(v) for v in values] if isinstance(values, list) else [str(values)])
    raise KitError(f"condition {raw!r}: give {{'property', 'operator', 'values'}} or an ARM condition "
                   "({'conditionType', 'conditionProperties'})")


def _enum(value: str, allowed: tuple[str, ...], what: str) -> str:
    found = next((a for a in allowed if a.lower() == value.strip().lower()), None)
    if found is None:
        raise KitError(f"{what} {value!r} does not exist: use {', '.join(allowed)}")
    return found


async def _conditions(kit: Kit, ws: Workspace, *, severity: list[str] | None, title_contains: list[str] | None,
                      analytics_rules: list[str] | None, incident_provider: list[str] | None,
                      conditions: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The conditions the parameters describe (None: none given, keep the rule's)."""
    if all(v is None for v in (severity, title_contains, analytics_rules, incident_provider, conditions)):
        return None
    out: list[dict[str, Any]] = []
    if incident_provider:
        out.append(_property("IncidentProviderName", "Equals", incident_provider))
    if analytics_rules:
        rules = await asyncio.gather(*(locate.find_rule(kit, ws, r) for r in analytics_rules))
        out.append(_property("IncidentRelatedAnalyticRuleIds", "Contains", [r["id"] for r in rules]))
    if severity:
        out.append(_property("IncidentSeverity", "Equals", [_enum(s, SEVERITIES, "severity") for s in severity]))
    if title_contains:
        out.append(_property("IncidentTitle", "Contains", title_contains))
    out += [_raw_condition(c) for c in conditions or []]
    return out


def _actions(*, assign_owner: str | None, set_status: str | None, set_severity: str | None,
             set_classification: str | None, classification_reason: str | None,
             classification_comment: str | None, add_labels: list[str] | None, add_task: str | None,
             task_description: str | None, run_playbook: str | None, playbook_tenant: str | None,
             actions: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The actions, in the order they run: property changes, then a task, then a playbook, then `actions`."""
    modify: dict[str, Any] = {}
    if assign_owner:
        key = "objectId" if _GUID.match(assign_owner) else "userPrincipalName"
        modify["owner"] = {key: assign_owner}
    if set_status:
        modify["status"] = _enum(set_status, STATUSES, "status")
        if modify["status"] == "Closed" and not set_classification:
            raise KitError("closing incidents needs set_classification (TruePositive, BenignPositive, FalsePositive, "
                           "Undetermined)")
    if set_severity:
        modify["severity"] = _enum(set_severity, SEVERITIES, "severity")
    if set_classification:
        modify.update({"classification": set_classification, "classificationReason": classification_reason,
                       "classificationComment": classification_comment})
    if add_labels:
        modify["labels"] = [{"labelName": label} for label in add_labels]
    out: list[dict[str, Any]] = []
    if modify:
        out.append({"actionType": "ModifyProperties", "actionConfiguration": modify})
    if add_task:
        out.append({"actionType": "AddIncidentTask",
                    "actionConfiguration": {"title": add_task, "description": task_description}})
    if run_playbook:
        out.append({"actionType": "RunPlaybook",
                    "actionConfiguration": {"logicAppResourceId": run_playbook, "tenantId": playbook_tenant}})
    out += [dict(a) for a in actions or []]
    if not out and actions is None:
        return None
    for order, action in enumerate(out, start=1):
        action["order"] = order
    return out


async def _save(kit: Kit, ws: Workspace, name: str, body: dict[str, Any], summary: str,
                before: dict[str, Any] | None) -> dict[str, Any]:
    preview: dict[str, Any] = {"automation_rule": name, "workspace": ws.label}
    if before is None:
        preview["body"] = body
    else:
        preview["changes"] = changes(before.get("properties") or {}, body["properties"])
        preview["etag"] = before.get("etag")
    await kit.confirm_change(summary, clip(preview))
    return await kit.arm(ws).put(api.automation_rule(ws, name), api.SENTINEL, body,
                                 etag=(before or {}).get("etag"),
                                 where=ws.where(resource=f"automation rule {body['properties']['displayName']}",
                                                operation="save"))


def _expect_etag(current: dict[str, Any], etag: str | None, ws: Workspace) -> None:
    if etag and current.get("etag") and etag != current["etag"]:
        raise KitError(f"automation rule {(current.get('properties') or {}).get('displayName')!r} in {ws.label} "
                       f"changed since you read it (etag {etag} is now {current['etag']}); nothing was written. "
                       "Read it again (automation_rule_get) and retry.")


def _body(current: dict[str, Any]) -> dict[str, Any]:
    """A stored automation rule as a body to send back (without the audit fields the service keeps)."""
    keep = ("displayName", "order", "triggeringLogic", "actions")
    return {"properties": {k: v for k, v in (current.get("properties") or {}).items() if k in keep}}


@tool(ADDITIVE, title="Create an automation rule")
async def automation_rule_create(
    kit: Kit, workspace: str, display_name: str, order: int | None = None, triggers_on: str = "Incidents",
    triggers_when: str = "Created", enabled: bool = True, expiration: str | None = None,
    severity: list[str] | None = None, title_contains: list[str] | None = None,
    analytics_rules: list[str] | None = None, incident_provider: list[str] | None = None,
    conditions: list[dict[str, Any]] | None = None, assign_owner: str | None = None, set_status: str | None = None,
    set_severity: str | None = None, set_classification: str | None = None, classification_reason: str | None = None,
    classification_comment: str | None = None, add_labels: list[str] | None = None, add_task: str | None = None,
    task_description: str | None = None, run_playbook: str | None = None, playbook_tenant: str | None = None,
    actions: list[dict[str, Any]] | None = None, rule_id: str | None = None,
) -> dict[str, Any]:
    """Create an automation rule: when incidents are created (or updated) and match every condition, run the
    actions in order. Conditions and actions come from the short parameters, or as ARM objects. The rule gets
    a stable id, so a retried create never makes a second one.

    Args:
        workspace: Workspace alias, name or ARM id.
        display_name: The rule's name.
        order: Where it runs among the workspace's rules (1 = first); default: after the last.
        triggers_on: Incidents (default) or Alerts (alerts can only run playbooks).
        triggers_when: Created (default) or Updated.
        enabled: Whether the rule runs (default true).
        expiration: When the rule stops running (ISO 8601 date-time, UTC), e.g. for a temporary suppression.
        severity: Condition: the incident's severity is one of these.
        title_contains: Condition: the incident's title contains one of these.
        analytics_rules: Condition: the incident comes from one of these analytics rules (names or display names).
        incident_provider: Condition: the incident's provider is one of these (e.g. "Azure Sentinel", "Microsoft 365 Defender").
        conditions: More conditions: [{"property": "HostName", "operator": "StartsWith", "values": ["TEST-"]}] or ARM condition objects.
        assign_owner: Action: assign the incident to this user (object id or user principal name).
        set_status: Action: set the status (Active; Closed needs set_classification).
        set_severity: Action: set the severity.
        set_classification: Action (with status Closed): TruePositive, BenignPositive, FalsePositive or Undetermined.
        classification_reason: Reason for the classification (e.g. SuspiciousButExpected).
        classification_comment: Comment for the classification.
        add_labels: Action: add these labels (tags).
        add_task: Action: add a task with this title.
        task_description: The task's description.
        run_playbook: Action: run this playbook (the Logic App's ARM id).
        playbook_tenant: The tenant of the playbook (default: the workspace's).
        actions: More actions, as ARM objects ({"actionType", "actionConfiguration"}), run after the others.
        rule_id: The rule's id (a GUID); default: one derived from the display name.
    """
    ws = await kit.workspace(workspace)
    found = await _conditions(kit, ws, severity=severity, title_contains=title_contains,
                              analytics_rules=analytics_rules, incident_provider=incident_provider,
                              conditions=conditions)
    steps = _actions(assign_owner=assign_owner, set_status=set_status, set_severity=set_severity,
                     set_classification=set_classification, classification_reason=classification_reason,
                     classification_comment=classification_comment, add_labels=add_labels, add_task=add_task,
                     task_description=task_description, run_playbook=run_playbook, playbook_tenant=playbook_tenant,
                     actions=actions)
    if not steps:
        raise KitError("an automation rule needs at least one action (assign_owner, set_status, add_labels, add_task, "
                       "run_playbook, ... or actions); nothing was created")
    existing = await _list(kit, ws, cache=False)
    name = (rule_id or automation_id(display_name)).strip()
    for rule in existing:
        if str(rule.get("name", "")).lower() == name.lower() or str(
                (rule.get("properties") or {}).get("displayName", "")).lower() == display_name.lower():
            raise KitError(f"an automation rule {display_name!r} (id {rule.get('name')}) already exists in {ws.label}; "
                           "nothing was created. Use automation_rule_update to change it.")
    logic: dict[str, Any] = {"isEnabled": enabled, "triggersOn": triggers_on, "triggersWhen": triggers_when,
                             "conditions": found or []}
    if expiration:
        logic["expirationTimeUtc"] = expiration
    position = order or (max((int((r.get("properties") or {}).get("order") or 0) for r in existing), default=0) + 1)
    body = {"properties": {"displayName": display_name, "order": position, "triggeringLogic": logic,
                           "actions": steps}}
    saved = await _save(kit, ws, name, body, f"create automation rule {display_name!r} (order {position}) in "
                        f"{ws.label} (tenant {ws.tenant})", None)
    return {"created": True, "automation_rule": automation_row(saved, ws.label)}


@tool(ADDITIVE, title="Update an automation rule")
async def automation_rule_update(
    kit: Kit, workspace: str, rule: str, display_name: str | None = None, order: int | None = None,
    expiration: str | None = None, severity: list[str] | None = None, title_contains: list[str] | None = None,
    analytics_rules: list[str] | None = None, incident_provider: list[str] | None = None,
    conditions: list[dict[str, Any]] | None = None, assign_owner: str | None = None, set_status: str | None = None,
    set_severity: str | None = None, set_classification: str | None = None, classification_reason: str | None = None,
    classification_comment: str | None = None, add_labels: list[str] | None = None, add_task: str | None = None,
    task_description: str | None = None, run_playbook: str | None = None, playbook_tenant: str | None = None,
    actions: list[dict[str, Any]] | None = None, etag: str | None = None,
) -> dict[str, Any]:
    """Change an automation rule: name, order, expiration, or its conditions (any condition parameter replaces
    them all) or actions (any action parameter replaces them all). Saved with its etag.

    Args:
        workspace: Workspace alias, name or ARM id.
        rule: The rule's id, ARM id or display name.
        display_name: New name.
        order: New position (1 = first).
        expiration: New expiration (ISO 8601 date-time, UTC); "none" removes it.
        severity: Condition: the incident's severity is one of these.
        title_contains: Condition: the incident's title contains one of these.
        analytics_rules: Condition: the incident comes from one of these analytics rules.
        incident_provider: Condition: the incident's provider is one of these.
        conditions: More conditions ({"property", "operator", "values"} or ARM objects); [] removes all.
        assign_owner: Action: assign to this user (object id or user principal name).
        set_status: Action: set the status.
        set_severity: Action: set the severity.
        set_classification: Action: the classification (with status Closed).
        classification_reason: Reason for the classification.
        classification_comment: Comment for the classification.
        add_labels: Action: add these labels.
        add_task: Action: add a task with this title.
        task_description: The task's description.
        run_playbook: Action: run this playbook (the Logic App's ARM id).
        playbook_tenant: The tenant of the playbook.
        actions: More actions as ARM objects.
        etag: The etag you read; the update is refused if the rule changed since. Default: the current one.
    """
    ws = await kit.workspace(workspace)
    current = await _find(kit, ws, rule)
    _expect_etag(current, etag, ws)
    body = _body(current)
    props = body["properties"]
    logic = dict(props.get("triggeringLogic") or {})
    found = await _conditions(kit, ws, severity=severity, title_contains=title_contains,
                              analytics_rules=analytics_rules, incident_provider=incident_provider,
                              conditions=conditions)
    if found is not None:
        logic["conditions"] = found
    steps = _actions(assign_owner=assign_owner, set_status=set_status, set_severity=set_severity,
                     set_classification=set_classification, classification_reason=classification_reason,
                     classification_comment=classification_comment, add_labels=add_labels, add_task=add_task,
                     task_description=task_description, run_playbook=run_playbook, playbook_tenant=playbook_tenant,
                     actions=actions)
    if steps is not None:
        props["actions"] = steps
    if expiration is not None:
        logic["expirationTimeUtc"] = None if expiration.lower() == "none" else expiration
    props["triggeringLogic"] = logic
    if display_name:
        props["displayName"] = display_name
    if order is not None:
        props["order"] = order
    diff = changes(current.get("properties") or {}, props, ("displayName", "order", "triggeringLogic", "actions"))
    if not diff:
        return {"changed": False, "automation_rule": automation_row(current, ws.label),
                "message": "the rule already looks like that; nothing was written"}
    label = (current.get("properties") or {}).get("displayName")
    saved = await _save(kit, ws, str(current["name"]), body, f"update automation rule {label!r} in {ws.label}: "
                        + ", ".join(d["field"] for d in diff), current)
    return {"updated": True, "changed": [d["field"] for d in diff], "automation_rule": automation_row(saved, ws.label)}


async def _set_enabled(kit: Kit, workspace: str, rule: str, enabled: bool, etag: str | None) -> dict[str, Any]:
    ws = await kit.workspace(workspace)
    current = await _find(kit, ws, rule)
    _expect_etag(current, etag, ws)
    body = _body(current)
    logic = dict(body["properties"].get("triggeringLogic") or {})
    if bool(logic.get("isEnabled")) == enabled:
        return {"changed": False, "automation_rule": automation_row(current, ws.label),
                "message": f"the rule is already {'enabled' if enabled else 'disabled'}; nothing was written"}
    logic["isEnabled"] = enabled
    body["properties"]["triggeringLogic"] = logic
    label = (current.get("properties") or {}).get("displayName")
    saved = await _save(kit, ws, str(current["name"]), body,
                        f"{'enable' if enabled else 'disable'} automation rule {label!r} in {ws.label} "
                        f"(tenant {ws.tenant})", current)
    return {"changed": True, "automation_rule": automation_row(saved, ws.label)}


@tool(ADDITIVE, title="Enable an automation rule")
async def automation_rule_enable(kit: Kit, workspace: str, rule: str, etag: str | None = None) -> dict[str, Any]:
    """Enable an automation rule: it runs on the next matching incidents.

    Args:
        workspace: Workspace alias, name or ARM id.
        rule: The rule's id, ARM id or display name.
        etag: The etag you read; the change is refused if the rule changed since. Default: the current one.
    """
    return await _set_enabled(kit, workspace, rule, True, etag)


@tool(DESTRUCTIVE, title="Disable an automation rule")
async def automation_rule_disable(kit: Kit, workspace: str, rule: str, etag: str | None = None) -> dict[str, Any]:
    """Disable an automation rule: incidents are no longer assigned, tagged or closed by it.

    Args:
        workspace: Workspace alias, name or ARM id.
        rule: The rule's id, ARM id or display name.
        etag: The etag you read; the change is refused if the rule changed since. Default: the current one.
    """
    return await _set_enabled(kit, workspace, rule, False, etag)


@tool(DESTRUCTIVE, title="Delete an automation rule")
async def automation_rule_delete(kit: Kit, workspace: str, rule: str, etag: str | None = None) -> dict[str, Any]:
    """Delete an automation rule. The preview shows its conditions and actions so that it can be recreated.

    Args:
        workspace: Workspace alias, name or ARM id.
        rule: The rule's id, ARM id or display name.
        etag: The etag you read; the delete is refused if the rule changed since. Default: the current one.
    """
    ws = await kit.workspace(workspace)
    current = await _find(kit, ws, rule)
    _expect_etag(current, etag, ws)
    row = automation_row(current, ws.label)
    await kit.confirm_change(f"delete automation rule {row['display_name']!r} from {ws.label} (tenant {ws.tenant})",
                             clip({"automation_rule": row, "body": _body(current)}))
    await kit.arm(ws).delete(api.automation_rule(ws, str(current["name"])), api.SENTINEL, etag=current.get("etag"),
                             where=ws.where(resource=f"automation rule {row['display_name']}", operation="delete"))
    return {"deleted": current["name"], "display_name": row["display_name"], "workspace": ws.label}
