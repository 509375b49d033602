"""Automation rules: ordered triggers (incident/alert created or updated) with conditions and actions
(modify properties, run a playbook, add a task), validated as Sentinel validates them.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

from ...model import World
from ...store import Resource, new_etag
from ..kinds import Ctx, register
from ..odata import parse_datetime
from .sentinel_common import (
    PROVIDER,
    SEVERITIES,
    SentinelKind,
    caller_client_info,
    invalid,
    now_iso,
    properties_of,
    req_bool,
    req_enum,
    req_int,
    req_str,
)
from .sentinel_incidents import (
    CLASSIFICATION_REASONS,
    CLASSIFICATIONS,
    ON_INCIDENT_CREATED,
    STATUSES,
    incident_alerts,
    incident_entities,
    log_incident,
    normalize_labels,
    normalize_owner,
    workspace_of,
)

AUTOMATION_TYPE = f"{PROVIDER}/automationRules"
TRIGGERS_ON = ("Incidents", "Alerts")
TRIGGERS_WHEN = ("Created", "Updated")
CONDITION_TYPES = ("Property", "PropertyArray", "PropertyChanged", "PropertyArrayChanged", "Boolean")
ACTION_TYPES = ("ModifyProperties", "RunPlaybook", "AddIncidentTask")
PROPERTY_OPERATORS = ("Equals", "NotEquals", "Contains", "NotContains", "StartsWith", "NotStartsWith", "EndsWith",
                      "NotEndsWith")
CONDITION_PROPERTIES = (
    "IncidentTitle", "IncidentDescription", "IncidentSeverity", "IncidentStatus", "IncidentRelatedAnalyticRuleIds",
    "IncidentTactics", "IncidentLabel", "IncidentProviderName", "IncidentUpdatedBySource", "IncidentCustomDetailsKey",
    "IncidentCustomDetailsValue", "AccountAadTenantId", "AccountAadUserId", "AccountName", "AccountNTDomain",
    "AccountPUID", "AccountSid", "AccountObjectGuid", "AccountUPNSuffix", "AlertProductNames", "AlertAnalyticRuleIds",
    "AzureResourceResourceId", "AzureResourceSubscriptionId", "CloudApplicationAppId", "CloudApplicationAppName",
    "DNSDomainName", "FileDirectory", "FileName", "FileHashValue", "HostAzureID", "HostName", "HostNetBiosName",
    "HostNTDomain", "HostOSVersion", "IoTDeviceId", "IoTDeviceName", "IoTDeviceType", "IoTDeviceVendor",
    "IoTDeviceModel", "IoTDeviceOperatingSystem", "IPAddress", "MailboxDisplayName", "MailboxPrimaryAddress",
    "MailboxUPN", "MailMessageDeliveryAction", "MailMessageDeliveryLocation", "MailMessageRecipient",
    "MailMessageSenderIP", "MailMessageSubject", "MailMessageP1Sender", "MailMessageP2Sender", "MalwareCategory",
    "MalwareName", "ProcessCommandLine", "ProcessId", "RegistryKey", "RegistryValueData", "Url",
)
CHANGED_PROPERTIES = ("IncidentSeverity", "IncidentStatus", "IncidentOwner")
CHANGE_TYPES = ("ChangedFrom", "ChangedTo")
ARRAY_TYPES = ("Alerts", "Labels", "Tactics", "Comments")
ARRAY_CHANGE_TYPES = ("Added",)
ARRAY_CONDITION_TYPES = ("AnyItem", "AllItems")
MAX_CONDITIONS = 50
MAX_ACTIONS = 20


def _conditions(raw: Any, where: str, depth: int = 0) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_CONDITIONS:
        raise invalid(where, f"expected an array of at most {MAX_CONDITIONS} conditions")
    return [_condition(c, f"{where}[{i}]", depth) for i, c in enumerate(raw)]


def _values(props: Mapping[str, Any], where: str) -> list[str]:
    values = props.get("propertyValues")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise invalid(f"{where}.propertyValues", "expected an array of strings")
    return values


def _condition(raw: Any, where: str, depth: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid(where, "expected an object")
    ctype = req_enum(raw, "conditionType", CONDITION_TYPES, where)
    props = raw.get("conditionProperties")
    pwhere = f"{where}.conditionProperties"
    if not isinstance(props, dict):
        raise invalid(pwhere, "required object not found")
    out: dict[str, Any]
    if ctype == "Property":
        out = {
            "propertyName": req_enum(props, "propertyName", CONDITION_PROPERTIES, pwhere),
            "operator": req_enum(props, "operator", PROPERTY_OPERATORS, pwhere),
            "propertyValues": _values(props, pwhere),
        }
    elif ctype == "PropertyChanged":
        out = {
            "propertyName": req_enum(props, "propertyName", CHANGED_PROPERTIES, pwhere),
            "changeType": req_enum(props, "changeType", CHANGE_TYPES, pwhere),
            "operator": req_enum(props, "operator", PROPERTY_OPERATORS, pwhere),
            "propertyValues": _values(props, pwhere),
        }
    elif ctype == "PropertyArrayChanged":
        out = {
            "arrayType": req_enum(props, "arrayType", ARRAY_TYPES, pwhere),
            "changeType": req_enum(props, "changeType", ARRAY_CHANGE_TYPES, pwhere),
        }
    elif ctype == "PropertyArray":
        out = {
            "arrayType": req_enum(props, "arrayType", ("CustomDetails", "CustomDetailValues"), pwhere),
            "arrayConditionType": req_enum(props, "arrayConditionType", ARRAY_CONDITION_TYPES, pwhere),
            "itemConditions": _conditions(props.get("itemConditions"), f"{pwhere}.itemConditions", depth + 1),
        }
    else:
        if depth > 2:
            raise invalid(where, "Boolean conditions nest at most 3 levels deep")
        out = {
            "operator": req_enum(props, "operator", ("And", "Or"), pwhere),
            "innerConditions": _conditions(props.get("innerConditions"), f"{pwhere}.innerConditions", depth + 1),
        }
    return {"conditionType": ctype, "conditionProperties": out}


def _action(raw: Any, where: str, triggers_on: str, world: World) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid(where, "expected an object")
    atype = req_enum(raw, "actionType", ACTION_TYPES, where)
    order = req_int(raw, "order", where)
    if triggers_on == "Alerts" and atype != "RunPlaybook":
        raise invalid(f"{where}.actionType", "automation rules triggered by alerts can only run playbooks")
    config = raw.get("actionConfiguration")
    cwhere = f"{where}.actionConfiguration"
    if not isinstance(config, dict):
        raise invalid(cwhere, "required object not found")
    if atype == "RunPlaybook":
        app = req_str(config, "logicAppResourceId", cwhere)
        if "/providers/microsoft.logic/workflows/" not in str(app).lower():
            raise invalid(f"{cwhere}.logicAppResourceId", "expected the ARM id of a Logic App "
                          "(…/providers/Microsoft.Logic/workflows/{name})")
        out: dict[str, Any] = {"logicAppResourceId": app, "tenantId": config.get("tenantId")}
    elif atype == "AddIncidentTask":
        out = {"title": req_str(config, "title", cwhere), "description": req_str(config, "description", cwhere,
                                                                                  required=False)}
    else:
        out = {
            "severity": req_enum(config, "severity", SEVERITIES, cwhere, required=False),
            "status": req_enum(config, "status", STATUSES, cwhere, required=False),
            "classification": req_enum(config, "classification", CLASSIFICATIONS, cwhere, required=False),
            "classificationReason": req_enum(config, "classificationReason", CLASSIFICATION_REASONS, cwhere,
                                             required=False),
            "classificationComment": req_str(config, "classificationComment", cwhere, required=False),
            "owner": normalize_owner(world, config["owner"]) if config.get("owner") else None,
            "labels": normalize_labels(config.get("labels")) if config.get("labels") else None,
        }
        if not any(out.values()):
            raise invalid(cwhere, "ModifyProperties needs at least one property to set")
        if out["status"] == "Closed" and not out["classification"]:
            raise invalid(f"{cwhere}.classification", "required when the action closes incidents")
    return {"order": order, "actionType": atype, "actionConfiguration": out}


def normalize_automation_rule(props: Mapping[str, Any], world: World) -> dict[str, Any]:
    """Validate an automation rule's properties and return the stored form (no audit fields)."""
    logic = props.get("triggeringLogic")
    if not isinstance(logic, dict):
        raise invalid("properties.triggeringLogic", "required object not found")
    lwhere = "properties.triggeringLogic"
    triggers_on = req_enum(logic, "triggersOn", TRIGGERS_ON, lwhere)
    assert triggers_on is not None
    expiration = logic.get("expirationTimeUtc")
    if expiration is not None and parse_datetime(expiration) is None:
        raise invalid(f"{lwhere}.expirationTimeUtc", f"'{expiration}' is not an ISO 8601 date-time")
    actions = props.get("actions")
    if not isinstance(actions, list) or not 1 <= len(actions) <= MAX_ACTIONS:
        raise invalid("properties.actions", f"expected an array of 1 to {MAX_ACTIONS} actions")
    return {
        "displayName": req_str(props, "displayName"),
        "order": req_int(props, "order", low=1, high=1000),
        "triggeringLogic": {
            "isEnabled": req_bool(logic, "isEnabled", lwhere),
            "expirationTimeUtc": expiration,
            "triggersOn": triggers_on,
            "triggersWhen": req_enum(logic, "triggersWhen", TRIGGERS_WHEN, lwhere),
            "conditions": _conditions(logic.get("conditions"), f"{lwhere}.conditions"),
        },
        "actions": [_action(a, f"properties.actions[{i}]", triggers_on, world) for i, a in enumerate(actions)],
    }


@register
class AutomationRuleKind(SentinelKind):
    type_name = AUTOMATION_TYPE
    template = "{sentinel}/automationRules/{automationRuleId}"
    operation = f"{PROVIDER}/automationRules"

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        props = normalize_automation_rule(properties_of(body), ctx.store.world)
        prev = (existing or {}).get("properties", {})
        now = now_iso()
        who = caller_client_info(ctx)
        props.update({
            "createdTimeUtc": prev.get("createdTimeUtc", now),
            "lastModifiedTimeUtc": now,
            "createdBy": prev.get("createdBy", who),
            "lastModifiedBy": who,
        })
        return {"properties": props}

    def delete_response(self, ctx: Ctx, resource: Resource) -> Response:
        """AutomationRules_Delete answers with a JSON body (``{}``), which the SDK parses."""
        return JSONResponse({})


# -- running them -----------------------------------------------------------------------------------
#: condition properties read from the incident's entities: (entity kind, entity property)
_ENTITY_PROPERTIES = {
    "AccountName": ("Account", "accountName"), "AccountUPNSuffix": ("Account", "upnSuffix"),
    "AccountAadUserId": ("Account", "aadUserId"), "AccountAadTenantId": ("Account", "aadTenantId"),
    "AccountSid": ("Account", "sid"), "AccountNTDomain": ("Account", "ntDomain"),
    "AccountObjectGuid": ("Account", "objectGuid"), "AccountPUID": ("Account", "puid"),
    "HostName": ("Host", "hostName"), "HostNetBiosName": ("Host", "netBiosName"), "HostNTDomain": ("Host", "ntDomain"),
    "HostAzureID": ("Host", "azureID"), "HostOSVersion": ("Host", "osVersion"), "IPAddress": ("Ip", "address"),
    "Url": ("Url", "url"), "FileName": ("File", "fileName"), "FileDirectory": ("File", "directory"),
    "FileHashValue": ("FileHash", "hashValue"), "DNSDomainName": ("DnsResolution", "domainName"),
    "ProcessCommandLine": ("Process", "commandLine"), "ProcessId": ("Process", "processId"),
    "MalwareName": ("Malware", "malwareName"), "MalwareCategory": ("Malware", "category"),
    "CloudApplicationAppName": ("CloudApplication", "appName"), "MailboxPrimaryAddress": ("Mailbox", "primaryAddress"),
}


def _facts(store: Any, incident: Resource) -> dict[str, list[str]]:
    """The values each condition property has for ``incident`` (several for entities, labels, rule ids...)."""
    p = incident["properties"]
    alerts = incident_alerts(store, incident["id"])
    facts: dict[str, list[str]] = {
        "IncidentTitle": [p.get("title") or ""], "IncidentDescription": [p.get("description") or ""],
        "IncidentSeverity": [p.get("severity") or ""], "IncidentStatus": [p.get("status") or ""],
        "IncidentProviderName": [p.get("providerName") or ""],
        "IncidentRelatedAnalyticRuleIds": [str(r) for r in p.get("relatedAnalyticRuleIds") or []],
        "IncidentLabel": [str(label.get("labelName")) for label in p.get("labels") or []],
        "IncidentTactics": sorted({t for a in alerts for t in a["properties"].get("tactics") or []}),
        "AlertProductNames": sorted({str(a["properties"].get("productName")) for a in alerts
                                     if a["properties"].get("productName")}),
        "AlertAnalyticRuleIds": sorted({str(r) for a in alerts for r in a["properties"].get("analyticRuleIds") or []}),
    }
    for entity in incident_entities(store, incident["id"]):
        for prop, (kind, key) in _ENTITY_PROPERTIES.items():
            value = (entity.get("properties") or {}).get(key)
            if str(entity.get("kind", "")).lower() == kind.lower() and value not in (None, ""):
                facts.setdefault(prop, []).append(str(value))
    return facts


def _compare(operator: str, actual: str, wanted: str) -> bool:
    a, w = actual.lower(), wanted.lower()
    positive = operator.removeprefix("Not")
    hit = {"Equals": a == w, "Contains": w in a, "StartsWith": a.startswith(w), "EndsWith": a.endswith(w)}[positive]
    return hit


def _holds(condition: Mapping[str, Any], facts: Mapping[str, list[str]]) -> bool:
    """Whether one condition holds, as Sentinel evaluates it: case-insensitive; a positive operator holds when
    any value matches any wanted value, a negative one when none does."""
    ctype = condition.get("conditionType")
    p = condition.get("conditionProperties") or {}
    if ctype == "Boolean":
        results = [_holds(c, facts) for c in p.get("innerConditions") or []]
        return any(results) if p.get("operator") == "Or" else all(results)
    if ctype != "Property":  # changes and arrays of an incident just created: nothing changed yet
        return ctype == "PropertyArray" and p.get("arrayConditionType") == "AllItems"
    operator = str(p.get("operator") or "Equals")
    values = facts.get(str(p.get("propertyName")), [])
    matched = any(_compare(operator, v, w) for v in values for w in p.get("propertyValues") or [])
    return not matched if operator.startswith("Not") else matched


def _expired(logic: Mapping[str, Any], now: str) -> bool:
    raw = logic.get("expirationTimeUtc")
    expiration = parse_datetime(str(raw)) if raw else None
    current = parse_datetime(now)
    return expiration is not None and current is not None and expiration <= current


def _modify(incident: Resource, config: Mapping[str, Any]) -> list[str]:
    """Apply a ModifyProperties action; the properties it changed."""
    props = incident["properties"]
    changed = []
    for key in ("severity", "status", "classification", "classificationReason", "classificationComment"):
        if config.get(key) and props.get(key) != config[key]:
            props[key] = config[key]
            changed.append(key)
    if config.get("owner") and props.get("owner") != config["owner"]:
        props["owner"] = dict(config["owner"])
        changed.append("owner")
    known = {str(label.get("labelName", "")).lower() for label in props.get("labels") or []}
    added = [label for label in config.get("labels") or [] if str(label.get("labelName", "")).lower() not in known]
    if added:
        props["labels"] = list(props.get("labels") or []) + [{"labelName": a["labelName"], "labelType": "User"}
                                                             for a in added]
        changed.append("labels")
    return changed


def _health(store: Any, rule: Resource, incident: Resource, customer_id: str, when: str,
            actions: list[dict[str, Any]], playbooks: list[str]) -> None:
    store.append_logs(customer_id, "SentinelHealth", [{
        "TimeGenerated": when, "OperationName": "Automation rule run", "SentinelResourceId": rule["id"],
        "SentinelResourceName": rule["properties"].get("displayName"), "Status": "Success",
        "Description": "Automation rule ran successfully.", "Reason": "", "WorkspaceId": customer_id,
        "SentinelResourceType": "Automation rule", "SentinelResourceKind": "", "RecordId": str(uuid.uuid4()),
        "ExtendedProperties": {"IncidentName": incident["id"],
                               "IncidentNumber": str(incident["properties"].get("incidentNumber", "")),
                               "TotalActions": len(actions), "ActionsTriggeredSuccessfully": len(actions),
                               "TriggeredOn": "Incident", "TriggeredWhen": "Created",
                               "TriggeredPlaybooks": [{"WorkflowId": p} for p in playbooks]},
    }])


def run_on_created(store: Any, incident_id: str) -> list[str]:
    """Apply the workspace's enabled, unexpired "incident created" automation rules to a new incident, in their
    order, each rule's actions in their order, the way Sentinel does right after creating it: properties
    changed, tasks added, playbook runs recorded (SentinelHealth). Returns the names of the rules that ran."""
    incident = store.get(incident_id)
    if incident is None:
        return []
    workspace_id = workspace_of(incident_id)
    workspace = store.get(workspace_id) or {}
    customer_id = str((workspace.get("properties") or {}).get("customerId") or "")
    now = now_iso()
    rules = [r for r in store.children(f"{workspace_id}/providers/{PROVIDER}/automationRules")
             if (r["properties"].get("triggeringLogic") or {}).get("isEnabled")
             and (r["properties"]["triggeringLogic"].get("triggersOn"), r["properties"]["triggeringLogic"].get(
                 "triggersWhen")) == ("Incidents", "Created")
             and not _expired(r["properties"]["triggeringLogic"], now)]
    rules.sort(key=lambda r: (r["properties"].get("order") or 0, r["properties"].get("createdTimeUtc") or ""))
    incident = copy.deepcopy(incident)
    ran: list[str] = []
    changed = False
    for rule in rules:
        if not all(_holds(c, _facts(store, incident)) for c in rule["properties"]["triggeringLogic"].get("conditions")
                   or []):
            continue
        actions = sorted(rule["properties"].get("actions") or [], key=lambda a: a.get("order") or 0)
        playbooks = []
        for action in actions:
            config = action.get("actionConfiguration") or {}
            if action.get("actionType") == "ModifyProperties":
                changed = bool(_modify(incident, config)) or changed
            elif action.get("actionType") == "AddIncidentTask":
                task_id = str(uuid.uuid4())
                store.put({"id": f"{incident_id}/tasks/{task_id}", "name": task_id, "type": f"{PROVIDER}/incidents/tasks",
                           "etag": new_etag(), "properties": {
                               "title": config.get("title"), "description": config.get("description"),
                               "status": "New", "createdTimeUtc": now, "lastModifiedTimeUtc": now,
                               "createdBy": {"name": f"Automation rule - {rule['properties'].get('displayName')}"},
                               "lastModifiedBy": {"name": f"Automation rule - {rule['properties'].get('displayName')}"}}})
                changed = True
            elif action.get("actionType") == "RunPlaybook":
                playbooks.append(str(config.get("logicAppResourceId")))
        ran.append(str(rule["properties"].get("displayName")))
        if customer_id:
            _health(store, rule, incident, customer_id, now, actions, playbooks)
    if changed:
        incident["properties"]["lastModifiedTimeUtc"] = now
        quoted = str(incident.get("etag", '"')).startswith('"')
        incident["etag"] = new_etag(quoted)
        store.put(incident)
        log_incident(store, incident, "Automation rule - " + ", ".join(ran), when=now)
    return ran


ON_INCIDENT_CREATED.append(run_on_created)
