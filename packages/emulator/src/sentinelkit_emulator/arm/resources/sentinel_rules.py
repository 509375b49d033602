"""Analytics rules (Scheduled, NRT, Fusion, Microsoft security incident creation), their actions and
the read-only rule templates, validated the way Sentinel validates them.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from ...store import Resource, new_etag
from ..kinds import Ctx, register
from .sentinel_catalog import BUILTIN_FUSION_RULE, FUSION_TEMPLATE_ID, TEMPLATES, TEMPLATES_BY_ID
from .sentinel_common import (
    PROVIDER,
    SEVERITIES,
    TACTICS,
    SentinelKind,
    enum_list,
    invalid,
    now_iso,
    properties_of,
    req_bool,
    req_duration,
    req_enum,
    req_int,
    req_str,
    sentinel_prefix,
    workspace_id_of,
)

RULE_TYPE = f"{PROVIDER}/alertRules"
TEMPLATE_TYPE = f"{PROVIDER}/AlertRuleTemplates"
RULE_KINDS = ("Scheduled", "NRT", "Fusion", "MicrosoftSecurityIncidentCreation", "MLBehaviorAnalytics",
              "ThreatIntelligence")
TRIGGER_OPERATORS = ("GreaterThan", "LessThan", "Equal", "NotEqual")
AGGREGATION_KINDS = ("SingleAlert", "AlertPerResult")
MATCHING_METHODS = ("AllEntities", "AnyAlert", "Selected")
ALERT_DETAILS = ("DisplayName", "Severity")
ENTITY_MAPPING_TYPES = (
    "Account", "Host", "IP", "Malware", "File", "Process", "CloudApplication", "DNS", "AzureResource", "FileHash",
    "RegistryKey", "RegistryValue", "SecurityGroup", "URL", "Mailbox", "MailCluster", "MailMessage",
    "SubmissionMail",
)
SECURITY_PRODUCTS = (
    "Microsoft Cloud App Security", "Azure Security Center", "Azure Advanced Threat Protection",
    "Azure Active Directory Identity Protection", "Azure Security Center for IoT", "Office 365 Advanced Threat Protection",
    "Microsoft Defender Advanced Threat Protection",
)
MIN_FREQUENCY, MAX_FREQUENCY = timedelta(minutes=5), timedelta(days=14)
MAX_ENTITY_MAPPINGS = 10
MAX_QUERY_LENGTH = 10000
#: kinds whose descriptive fields are read-only copies of their template
TEMPLATE_DRIVEN = ("Fusion", "MLBehaviorAnalytics", "ThreatIntelligence")
_TECHNIQUE = re.compile(r"T\d{4}")
_SUB_TECHNIQUE = re.compile(r"T\d{4}\.\d{3}")


def _entity_mappings(props: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    mappings = props.get("entityMappings")
    if mappings is None:
        return None
    if not isinstance(mappings, list) or len(mappings) > MAX_ENTITY_MAPPINGS:
        raise invalid("properties.entityMappings", f"expected an array of at most {MAX_ENTITY_MAPPINGS} mappings")
    out = []
    for i, mapping in enumerate(mappings):
        where = f"properties.entityMappings[{i}]"
        if not isinstance(mapping, dict):
            raise invalid(where, "expected an object")
        fields = mapping.get("fieldMappings")
        if not isinstance(fields, list) or not fields:
            raise invalid(f"{where}.fieldMappings", "expected a non-empty array of {identifier, columnName}")
        for j, field in enumerate(fields):
            if not isinstance(field, dict):
                raise invalid(f"{where}.fieldMappings[{j}]", "expected an object")
            req_str(field, "identifier", f"{where}.fieldMappings[{j}]")
            req_str(field, "columnName", f"{where}.fieldMappings[{j}]")
        out.append({"entityType": req_enum(mapping, "entityType", ENTITY_MAPPING_TYPES, where), "fieldMappings": fields})
    return out


def _mitre(props: Mapping[str, Any], key: str, pattern: re.Pattern[str]) -> list[str]:
    """MITRE ATT&CK ids: techniques are ``T1234``, sub-techniques ``T1234.001`` (in their own property)."""
    values = props.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) and pattern.fullmatch(v) for v in values):
        example = "T1234.001" if key == "subTechniques" else "T1234 (sub-techniques go in subTechniques)"
        raise invalid(f"properties.{key}", f"expected an array of MITRE ATT&CK ids like {example}")
    return list(values)


def _incident_configuration(props: Mapping[str, Any]) -> dict[str, Any]:
    raw = props.get("incidentConfiguration")
    if raw is None:  # what the service fills in when a client leaves it out
        raw = {"createIncident": True}
    if not isinstance(raw, dict):
        raise invalid("properties.incidentConfiguration", "expected an object")
    where = "properties.incidentConfiguration"
    grouping = raw.get("groupingConfiguration") or {
        "enabled": False, "reopenClosedIncident": False, "lookbackDuration": "PT5H", "matchingMethod": "AllEntities",
    }
    if not isinstance(grouping, dict):
        raise invalid(f"{where}.groupingConfiguration", "expected an object")
    gwhere = f"{where}.groupingConfiguration"
    req_bool(grouping, "enabled", gwhere)
    req_bool(grouping, "reopenClosedIncident", gwhere)
    req_duration(grouping, "lookbackDuration", gwhere, low=timedelta(minutes=5), high=timedelta(days=7))
    return {
        "createIncident": req_bool(raw, "createIncident", where),
        "groupingConfiguration": {
            **grouping,
            "matchingMethod": req_enum(grouping, "matchingMethod", MATCHING_METHODS, gwhere),
            "groupByEntities": enum_list(grouping, "groupByEntities", ENTITY_MAPPING_TYPES, gwhere) or [],
            "groupByAlertDetails": enum_list(grouping, "groupByAlertDetails", ALERT_DETAILS, gwhere) or [],
            "groupByCustomDetails": grouping.get("groupByCustomDetails") or [],
        },
    }


def _query_rule(props: Mapping[str, Any], scheduled: bool) -> dict[str, Any]:
    """Fields Scheduled and NRT rules share (and Scheduled's schedule and trigger)."""
    query = req_str(props, "query")
    assert query is not None
    if len(query) > MAX_QUERY_LENGTH:
        raise invalid("properties.query", f"{len(query)} characters; at most {MAX_QUERY_LENGTH} allowed")
    custom = props.get("customDetails")
    if custom is not None and not (isinstance(custom, dict) and all(isinstance(v, str) for v in custom.values())):
        raise invalid("properties.customDetails", "expected an object of column names")
    grouping = props.get("eventGroupingSettings") or {"aggregationKind": "SingleAlert"}
    out = {
        "displayName": req_str(props, "displayName"),
        "description": req_str(props, "description", required=False),
        "enabled": req_bool(props, "enabled"),
        "query": query,
        "severity": req_enum(props, "severity", SEVERITIES),
        "suppressionDuration": props.get("suppressionDuration"),
        "suppressionEnabled": req_bool(props, "suppressionEnabled"),
        "tactics": enum_list(props, "tactics", TACTICS) or [],
        "techniques": _mitre(props, "techniques", _TECHNIQUE),
        "subTechniques": _mitre(props, "subTechniques", _SUB_TECHNIQUE),
        "alertRuleTemplateName": props.get("alertRuleTemplateName"),
        "templateVersion": props.get("templateVersion"),
        "incidentConfiguration": _incident_configuration(props),
        "eventGroupingSettings": {
            "aggregationKind": req_enum(grouping, "aggregationKind", AGGREGATION_KINDS, "properties.eventGroupingSettings")
        },
        "customDetails": custom,
        "entityMappings": _entity_mappings(props),
        "alertDetailsOverride": props.get("alertDetailsOverride"),
    }
    req_duration(props, "suppressionDuration", low=timedelta(minutes=5), high=timedelta(days=14))
    if scheduled:
        frequency = req_duration(props, "queryFrequency", low=MIN_FREQUENCY, high=MAX_FREQUENCY)
        period = req_duration(props, "queryPeriod", low=MIN_FREQUENCY, high=MAX_FREQUENCY)
        assert frequency is not None and period is not None
        if period < frequency:
            raise invalid("properties.queryPeriod", "must be at least as long as queryFrequency")
        out.update(
            {
                "queryFrequency": props["queryFrequency"],
                "queryPeriod": props["queryPeriod"],
                "triggerOperator": req_enum(props, "triggerOperator", TRIGGER_OPERATORS),
                "triggerThreshold": req_int(props, "triggerThreshold", low=0, high=10000),
            }
        )
    return out


def _from_template(kind: str, props: Mapping[str, Any]) -> dict[str, Any]:
    name = req_str(props, "alertRuleTemplateName")
    template = TEMPLATES_BY_ID.get(str(name).lower())
    if template is None or template["kind"] != kind:
        raise invalid("properties.alertRuleTemplateName", f"'{name}' is not a {kind} alert rule template")
    out = {
        "alertRuleTemplateName": template["id"],
        "enabled": req_bool(props, "enabled"),
        "displayName": template["displayName"],
        "description": template["description"],
        "severity": template["severity"],
        "tactics": list(template["tactics"]),
        "techniques": list(template["techniques"]),
    }
    for passthrough in ("sourceSettings", "scenarioExclusionPatterns"):
        if passthrough in props:
            out[passthrough] = props[passthrough]
    return out


def _incident_creation(props: Mapping[str, Any]) -> dict[str, Any]:
    for key in ("displayNamesFilter", "displayNamesExcludeFilter"):
        value = props.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise invalid(f"properties.{key}", "expected an array of strings")
    return {
        "displayName": req_str(props, "displayName"),
        "description": req_str(props, "description", required=False),
        "enabled": req_bool(props, "enabled"),
        "productFilter": req_enum(props, "productFilter", SECURITY_PRODUCTS),
        "severitiesFilter": enum_list(props, "severitiesFilter", SEVERITIES),
        "displayNamesFilter": props.get("displayNamesFilter"),
        "displayNamesExcludeFilter": props.get("displayNamesExcludeFilter"),
        "alertRuleTemplateName": props.get("alertRuleTemplateName"),
    }


def normalize_rule(kind: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an alert rule's properties for its kind and return the stored form (no timestamps)."""
    if kind == "Scheduled":
        return _query_rule(props, scheduled=True)
    if kind == "NRT":
        return _query_rule(props, scheduled=False)
    if kind == "MicrosoftSecurityIncidentCreation":
        return _incident_creation(props)
    return _from_template(kind, props)


def rule_kind(body: Mapping[str, Any]) -> str:
    kind = req_enum(body, "kind", RULE_KINDS, where="")
    assert kind is not None
    return kind


# -- templates and onboarding defaults ---------------------------------------------------------------
def template_resource(workspace_id: str, template: Mapping[str, Any], created: str) -> Resource:
    """The stored form of a built-in template in one workspace (status/counts are computed on read)."""
    props = {k: copy.deepcopy(v) for k, v in template.items() if k not in ("id", "kind")}
    props.update({"createdDateUTC": created, "lastUpdatedDateUTC": created, "status": "Available",
                  "alertRulesCreatedByTemplateCount": 0})
    return {
        "id": f"{sentinel_prefix(workspace_id)}/alertRuleTemplates/{template['id']}",
        "name": template["id"],
        "type": TEMPLATE_TYPE,
        "kind": template["kind"],
        "properties": props,
    }


def fusion_rule_resource(workspace_id: str, modified: str, etag: str) -> Resource:
    """The Fusion rule Sentinel enables when a workspace is onboarded."""
    return {
        "id": f"{sentinel_prefix(workspace_id)}/alertRules/{BUILTIN_FUSION_RULE}",
        "name": BUILTIN_FUSION_RULE,
        "type": RULE_TYPE,
        "kind": "Fusion",
        "etag": etag,
        "properties": {
            **normalize_rule("Fusion", {"alertRuleTemplateName": FUSION_TEMPLATE_ID, "enabled": True}),
            "lastModifiedUtc": modified,
        },
    }


def install_defaults(store: Any, workspace_id: str, when: str, etag: Callable[[], str] = new_etag) -> None:
    """What onboarding brings: the template gallery and the enabled Fusion rule."""
    for template in TEMPLATES:
        resource = template_resource(workspace_id, template, when)
        if store.get(resource["id"]) is None:
            store.put(resource)
    fusion = fusion_rule_resource(workspace_id, when, etag())
    if store.get(fusion["id"]) is None:
        store.put(fusion)


# -- kinds ----------------------------------------------------------------------------------------
@register
class AlertRuleKind(SentinelKind):
    type_name = RULE_TYPE
    template = "{sentinel}/alertRules/{ruleId}"
    operation = f"{PROVIDER}/alertRules"

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        kind = rule_kind(body)
        if existing is not None and existing.get("kind") != kind:
            raise invalid("kind", f"the kind of an existing rule cannot change ('{existing.get('kind')}' -> '{kind}'); "
                          "delete the rule and create it again")
        props = normalize_rule(kind, properties_of(body))
        if kind in ("Scheduled", "NRT"):
            from .sentinel_rule_query import check_rule_query

            check_rule_query(ctx.store, workspace_id_of(ctx.params), str(props["query"]))
        props["lastModifiedUtc"] = now_iso()
        return {"kind": kind, "properties": props}


@register
class AlertRuleActionKind(SentinelKind):
    """Playbooks attached to a rule (Actions_*): the trigger URI is taken but never returned."""

    type_name = f"{PROVIDER}/alertRules/actions"
    template = "{sentinel}/alertRules/{ruleId}/actions/{actionId}"
    parent_template = "{sentinel}/alertRules/{ruleId}"
    parent_type = RULE_TYPE
    operation = f"{PROVIDER}/alertRules/actions"

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        props = properties_of(body)
        app = req_str(props, "logicAppResourceId")
        req_str(props, "triggerUri")
        if "/providers/microsoft.logic/workflows/" not in str(app).lower():
            raise invalid("properties.logicAppResourceId", "expected the ARM id of a Logic App "
                          "(…/providers/Microsoft.Logic/workflows/{name})")
        return {"properties": {"logicAppResourceId": app, "workflowId": uuid.uuid5(uuid.NAMESPACE_URL, str(app).lower()).hex}}


@register
class AlertRuleTemplateKind(SentinelKind):
    """AlertRuleTemplates_List/Get: read-only; status and usage count follow the workspace's rules."""

    type_name = TEMPLATE_TYPE
    template = "{sentinel}/alertRuleTemplates/{alertRuleTemplateId}"
    operation = f"{PROVIDER}/alertRuleTemplates"
    methods = frozenset({"GET"})
    has_etag = False
    body_etag = False

    def render(self, ctx: Ctx, resource: Resource) -> dict[str, Any]:
        out = super().render(ctx, resource)
        rules = ctx.store.children(ctx.collection_id.rsplit("/", 1)[0] + "/alertRules")
        used = sum(1 for r in rules if str(r["properties"].get("alertRuleTemplateName") or "").lower()
                   == resource["name"].lower())
        out["properties"]["alertRulesCreatedByTemplateCount"] = used
        out["properties"]["status"] = "Installed" if used else "Available"
        return out
