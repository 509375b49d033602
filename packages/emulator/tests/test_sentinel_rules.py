"""Analytics rules (each kind), rule actions, rule templates and automation rules through the SDK."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.securityinsight import SecurityInsightsMgmtClient
from azure.mgmt.securityinsight import models as m
from spec_conformance import requires_specs, validate_response
from test_sentinel_support import API, SPEC, WORKSPACES, error_of, raw, sentinel_emulator, sentinel_path, si, sub_id

from sentinelkit_emulator import Emulator

__all__ = ["raw", "sentinel_emulator", "si"]  # fixtures used by this module
RG, WS = WORKSPACES["contoso-mssp"]
Client = Callable[..., SecurityInsightsMgmtClient]
FUSION_TEMPLATE = "f71aba3d-28fb-450b-b192-4e76a83015c8"


def scheduled(**overrides: object) -> m.ScheduledAlertRule:
    props: dict[str, object] = {
        "display_name": "Emulator scheduled rule", "enabled": True, "query": "SecurityEvent | where EventID == 4625",
        "query_frequency": timedelta(hours=1), "query_period": timedelta(hours=2), "severity": "Medium",
        "trigger_operator": "GreaterThan", "trigger_threshold": 5, "suppression_duration": timedelta(hours=5),
        "suppression_enabled": False, "tactics": ["CredentialAccess"],
        "entity_mappings": [m.EntityMapping(entity_type="Account", field_mappings=[
            m.FieldMapping(identifier="FullName", column_name="Account")])],
    }
    props.update(overrides)
    # azure-mgmt-securityinsight 2.0.0b4's flattened rule models do not fill in their discriminator
    return m.ScheduledAlertRule(kind="Scheduled", properties=m.ScheduledAlertRuleProperties(**props))


def test_seeded_rules_and_templates(si: Client) -> None:
    client = si("contoso-mssp")
    rules = list(client.alert_rules.list(RG, WS))
    kinds = {r.kind for r in rules}
    assert {"Scheduled", "Fusion", "MicrosoftSecurityIncidentCreation"} <= kinds and 10 <= len(rules) <= 20
    assert all(r.properties.enabled for r in rules)  # a healthy workspace
    fusion = client.alert_rules.get(RG, WS, "BuiltInFusion")
    assert isinstance(fusion, m.FusionAlertRule) and fusion.properties.alert_rule_template_name == FUSION_TEMPLATE
    templates = list(client.alert_rule_templates.list(RG, WS))
    assert len(templates) >= 15 and {t.kind for t in templates} >= {"Scheduled", "NRT", "Fusion",
                                                                     "MicrosoftSecurityIncidentCreation"}
    fusion_template = client.alert_rule_templates.get(RG, WS, FUSION_TEMPLATE)
    assert fusion_template.properties.status == "Installed"
    assert fusion_template.properties.alert_rules_created_by_template_count == 1


def test_planted_rule_problems(si: Client) -> None:
    fabrikam = {r.properties.display_name: r for r in si("fabrikam").alert_rules.list(*WORKSPACES["fabrikam"])}
    assert fabrikam["Suspicious PowerShell download cradle"].properties.enabled
    disabled = sorted(name for name, r in fabrikam.items() if not r.properties.enabled)
    assert disabled == ["Mass download from SharePoint", "Rare RDP connections"]
    tailspin = {r.properties.display_name: r for r in si("tailspin").alert_rules.list(*WORKSPACES["tailspin"])}
    auto = tailspin["AUTO DISABLED Brute force against Azure Portal"]
    assert not auto.properties.enabled and auto.kind == "Scheduled"
    assert [n for n, r in tailspin.items() if not r.properties.enabled] == [auto.properties.display_name]


def test_scheduled_rule_lifecycle(si: Client) -> None:
    client = si("contoso-mssp")
    rule_id = str(uuid.uuid4())
    created = client.alert_rules.create_or_update(RG, WS, rule_id, scheduled())
    assert isinstance(created, m.ScheduledAlertRule)
    assert created.properties.query_frequency == timedelta(hours=1) and created.properties.last_modified_utc
    assert created.properties.incident_configuration.create_incident is True  # the service's default
    assert created.properties.event_grouping_settings.aggregation_kind == "SingleAlert"
    created.properties.enabled = False
    updated = client.alert_rules.create_or_update(RG, WS, rule_id, created)
    assert updated.properties.enabled is False and updated.etag != created.etag
    with pytest.raises(HttpResponseError) as info:
        client.alert_rules.create_or_update(RG, WS, rule_id, created)  # stale etag
    assert info.value.status_code == 412
    client.alert_rules.delete(RG, WS, rule_id)
    with pytest.raises(ResourceNotFoundError):
        client.alert_rules.get(RG, WS, rule_id)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"query_frequency": timedelta(minutes=1)}, "properties.queryFrequency"),
        ({"query_period": timedelta(days=20)}, "properties.queryPeriod"),
        ({"query_period": timedelta(minutes=30)}, "at least as long as queryFrequency"),
        ({"severity": "Critical"}, "properties.severity"),
        ({"trigger_operator": "Above"}, "properties.triggerOperator"),
        ({"tactics": ["Teleportation"]}, "properties.tactics"),
        ({"query": ""}, "properties.query"),
    ],
)
def test_scheduled_rule_validation(si: Client, overrides: dict[str, object], problem: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        si("contoso-mssp").alert_rules.create_or_update(RG, WS, str(uuid.uuid4()), scheduled(**overrides))
    assert info.value.status_code == 400 and problem in info.value.message


def test_rule_without_kind_is_refused(si: Client) -> None:
    """The 2.0.0b4 SDK sends no ``kind`` unless the caller sets it; the service refuses such a rule."""
    rule = scheduled()
    rule.kind = None  # type: ignore[assignment]
    with pytest.raises(HttpResponseError) as info:
        si("contoso-mssp").alert_rules.create_or_update(RG, WS, str(uuid.uuid4()), rule)
    assert info.value.status_code == 400 and "[kind: required property 'kind' not found" in info.value.message


def test_rule_missing_required_fields(raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    url = f"{sentinel_path(sentinel_emulator, 'contoso-mssp')}/alertRules/{uuid.uuid4()}"
    no_kind = raw().put(url, params=API, json={"properties": {"displayName": "x"}})
    assert no_kind.status_code == 400 and "kind" in error_of(no_kind)["message"]
    no_trigger = raw().put(url, params=API, json={"kind": "Scheduled", "properties": {
        "displayName": "x", "enabled": True, "query": "Heartbeat", "queryFrequency": "PT1H", "queryPeriod": "PT1H",
        "severity": "Low", "suppressionDuration": "PT1H", "suppressionEnabled": False}})
    assert no_trigger.status_code == 400 and "triggerOperator" in error_of(no_trigger)["message"]
    bad_duration = raw().put(url, params=API, json={"kind": "NRT", "properties": {
        "displayName": "x", "enabled": True, "query": "Heartbeat", "severity": "Low",
        "suppressionDuration": "one hour", "suppressionEnabled": False}})
    assert bad_duration.status_code == 400 and "ISO 8601 duration" in error_of(bad_duration)["message"]


def test_other_rule_kinds(si: Client) -> None:
    client = si("contoso-mssp")
    nrt = client.alert_rules.create_or_update(RG, WS, "nrt-test", m.NrtAlertRule(kind="NRT", properties=m.NrtAlertRuleProperties(
        display_name="NRT test", enabled=True, query="SecurityEvent | where EventID == 1102", severity="High",
        suppression_duration=timedelta(hours=1), suppression_enabled=False)))
    assert isinstance(nrt, m.NrtAlertRule) and nrt.properties.severity == "High"
    msic = client.alert_rules.create_or_update(RG, WS, "msic-test", m.MicrosoftSecurityIncidentCreationAlertRule(
        kind="MicrosoftSecurityIncidentCreation", properties=m.MicrosoftSecurityIncidentCreationAlertRuleProperties(
            display_name="Defender for Cloud High", enabled=True, product_filter="Azure Security Center",
            severities_filter=["High"])))
    assert isinstance(msic, m.MicrosoftSecurityIncidentCreationAlertRule)
    assert msic.properties.severities_filter == ["High"]
    fusion = client.alert_rules.create_or_update(RG, WS, "BuiltInFusion", m.FusionAlertRule(
        kind="Fusion", properties=m.FusionAlertRuleProperties(alert_rule_template_name=FUSION_TEMPLATE, enabled=False)))
    assert fusion.properties.enabled is False and fusion.properties.display_name == "Advanced Multistage Attack Detection"
    with pytest.raises(HttpResponseError) as info:
        client.alert_rules.create_or_update(RG, WS, "fusion-bad", m.FusionAlertRule(
            kind="Fusion", properties=m.FusionAlertRuleProperties(alert_rule_template_name=str(uuid.uuid4()), enabled=True)))
    assert info.value.status_code == 400 and "Fusion alert rule template" in info.value.message
    with pytest.raises(HttpResponseError) as info:
        client.alert_rules.create_or_update(RG, WS, "msic-test", scheduled())
    assert info.value.status_code == 400 and "cannot change" in info.value.message
    with pytest.raises(HttpResponseError) as info:
        client.alert_rules.create_or_update(RG, WS, "msic-bad", m.MicrosoftSecurityIncidentCreationAlertRule(
            kind="MicrosoftSecurityIncidentCreation", properties=m.MicrosoftSecurityIncidentCreationAlertRuleProperties(
                display_name="x", enabled=True, product_filter="Splunk")))
    assert info.value.status_code == 400 and "productFilter" in info.value.message
    for name in ("nrt-test", "msic-test"):
        client.alert_rules.delete(RG, WS, name)


def test_rule_actions(si: Client, sentinel_emulator: Emulator) -> None:
    client = si("contoso-mssp")
    rule = next(r for r in client.alert_rules.list(RG, WS) if r.kind == "Scheduled")
    app = (f"/subscriptions/{sub_id(sentinel_emulator, 'contoso-mssp')}/resourceGroups/{RG}/providers/"
           "Microsoft.Logic/workflows/Isolate-Host")
    action = client.actions.create_or_update(RG, WS, rule.name, "isolate", m.ActionRequest(
        properties=m.ActionRequestProperties(logic_app_resource_id=app, trigger_uri="https://logic.example/trigger")))
    assert action.properties.logic_app_resource_id == app and action.properties.workflow_id
    assert "triggerUri" not in str(action.as_dict())
    assert [a.name for a in client.actions.list_by_alert_rule(RG, WS, rule.name)] == ["isolate"]
    assert client.actions.get(RG, WS, rule.name, "isolate").etag == action.etag
    with pytest.raises(HttpResponseError) as info:
        client.actions.create_or_update(RG, WS, rule.name, "bad", m.ActionRequest(
            properties=m.ActionRequestProperties(logic_app_resource_id=app, trigger_uri=None)))
    assert info.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        list(client.actions.list_by_alert_rule(RG, WS, "no-such-rule"))
    client.actions.delete(RG, WS, rule.name, "isolate")
    assert list(client.actions.list_by_alert_rule(RG, WS, rule.name)) == []


def test_templates_are_read_only(raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    url = f"{sentinel_path(sentinel_emulator, 'contoso-mssp')}/alertRuleTemplates/{FUSION_TEMPLATE}"
    assert raw().put(url, params=API, json={"kind": "Fusion", "properties": {}}).status_code == 405


# -- automation rules -----------------------------------------------------------------------------------
def automation_rule(sub: str, **overrides: object) -> m.AutomationRule:
    props: dict[str, object] = {
        "display_name": "Emulator automation", "order": 7,
        "triggering_logic": m.AutomationRuleTriggeringLogic(
            is_enabled=True, triggers_on="Incidents", triggers_when="Created",
            conditions=[m.PropertyConditionProperties(condition_properties=m.AutomationRulePropertyValuesCondition(
                property_name="IncidentSeverity", operator="Equals", property_values=["High"]))]),
        "actions": [
            m.AutomationRuleModifyPropertiesAction(order=1, action_configuration=m.IncidentPropertiesAction(
                status="Active", labels=[m.IncidentLabel(label_name="auto")])),
            m.AutomationRuleRunPlaybookAction(order=2, action_configuration=m.PlaybookActionProperties(
                logic_app_resource_id=f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Logic/workflows/pb",
                tenant_id=str(uuid.uuid4()))),
            m.AutomationRuleAddIncidentTaskAction(order=3, action_configuration=m.AddIncidentTaskActionProperties(
                title="Check the host")),
        ],
    }
    props.update(overrides)
    return m.AutomationRule(properties=m.AutomationRuleProperties(**props))


def test_automation_rules(si: Client, sentinel_emulator: Emulator) -> None:
    client = si("contoso-mssp")
    sub = sub_id(sentinel_emulator, "contoso-mssp")
    seeded = list(client.automation_rules.list(RG, WS))
    assert 2 <= len(seeded) <= 4
    rule_id = str(uuid.uuid4())
    created = client.automation_rules.create_or_update(RG, WS, rule_id, automation_rule(sub))
    assert [a.action_type for a in created.properties.actions] == ["ModifyProperties", "RunPlaybook", "AddIncidentTask"]
    assert created.properties.created_by.name == "sentinelkit-mssp" and created.properties.created_time_utc
    got = client.automation_rules.get(RG, WS, rule_id)
    assert got.properties.triggering_logic.conditions[0].condition_properties.property_values == ["High"]
    nested = automation_rule(sub, triggering_logic=m.AutomationRuleTriggeringLogic(
        is_enabled=True, triggers_on="Incidents", triggers_when="Updated", conditions=[
            m.BooleanConditionProperties(condition_properties=m.AutomationRuleBooleanCondition(operator="Or", inner_conditions=[
                m.PropertyConditionProperties(condition_properties=m.AutomationRulePropertyValuesCondition(
                    property_name="IncidentTitle", operator="Contains", property_values=["phish"]))]))]))
    nested.etag = got.etag
    assert client.automation_rules.create_or_update(RG, WS, rule_id, nested).properties.triggering_logic.triggers_when == "Updated"
    client.automation_rules.delete(RG, WS, rule_id)
    assert rule_id not in {r.name for r in client.automation_rules.list(RG, WS)}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"order": 0}, "properties.order"),
        ({"actions": []}, "properties.actions"),
        ({"triggering_logic": m.AutomationRuleTriggeringLogic(is_enabled=True, triggers_on="Alerts",
                                                               triggers_when="Created")}, "can only run playbooks"),
        ({"triggering_logic": m.AutomationRuleTriggeringLogic(is_enabled=True, triggers_on="Incidents",
                                                               triggers_when="Deleted")}, "triggersWhen"),
        ({"actions": [m.AutomationRuleModifyPropertiesAction(order=1, action_configuration=m.IncidentPropertiesAction(
            status="Closed"))]}, "required when the action closes incidents"),
        ({"actions": [m.AutomationRuleRunPlaybookAction(order=1, action_configuration=m.PlaybookActionProperties(
            logic_app_resource_id="not-an-arm-id"))]}, "logicAppResourceId"),
    ],
)
def test_automation_rule_validation(si: Client, sentinel_emulator: Emulator, change: dict[str, object],
                                    problem: str) -> None:
    rule = automation_rule(sub_id(sentinel_emulator, "contoso-mssp"), **change)
    with pytest.raises(HttpResponseError) as info:
        si("contoso-mssp").automation_rules.create_or_update(RG, WS, str(uuid.uuid4()), rule)
    assert info.value.status_code == 400 and problem in info.value.message


def test_planted_automation_rule(si: Client) -> None:
    rules = {r.properties.display_name: r for r in si("northwind").automation_rules.list(*WORKSPACES["northwind"])}
    notify = rules["Notify SOC on high severity"]
    assert notify.properties.actions[0].action_type == "RunPlaybook"
    assert notify.properties.actions[0].action_configuration.logic_app_resource_id.endswith("/workflows/Notify-SOC-Teams")


def test_reader_cannot_change_rules(si: Client) -> None:
    reader = si("fabrikam", principal="sentinelkit-reader")
    rg, ws = WORKSPACES["fabrikam"]
    assert list(reader.alert_rules.list(rg, ws))
    with pytest.raises(HttpResponseError) as info:
        reader.alert_rules.create_or_update(rg, ws, str(uuid.uuid4()), scheduled())
    assert info.value.status_code == 403 and info.value.error.code == "AuthorizationFailed"
    with pytest.raises(HttpResponseError) as info:
        reader.automation_rules.delete(rg, ws, next(iter(reader.automation_rules.list(rg, ws))).name)
    assert info.value.status_code == 403


@requires_specs
def test_rule_responses_conform_to_the_spec(raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    client = raw()
    base = sentinel_path(sentinel_emulator, "northwind")
    rules = client.get(f"{base}/alertRules", params=API).json()
    # NRT is not in the 2025-09-01 stable spec (only in previews): check the kinds that are
    validate_response(SPEC, "AlertRules_List", 200, {"value": [r for r in rules["value"] if r["kind"] != "NRT"]})
    for rule in rules["value"]:
        if rule["kind"] != "NRT":
            validate_response(SPEC, "AlertRules_Get", 200, client.get(f"{base}/alertRules/{rule['name']}", params=API).json())
    templates = client.get(f"{base}/alertRuleTemplates", params=API).json()
    validate_response(SPEC, "AlertRuleTemplates_List", 200, {"value": [t for t in templates["value"] if t["kind"] != "NRT"]})
    validate_response(SPEC, "AutomationRules_List", 200, client.get(f"{base}/automationRules", params=API).json())
    scheduled_rule = next(r for r in rules["value"] if r["kind"] == "Scheduled")
    validate_response(SPEC, "Actions_ListByAlertRule", 200,
                      client.get(f"{base}/alertRules/{scheduled_rule['name']}/actions", params=API).json())
