"""The checks Sentinel runs when it saves a Scheduled/NRT rule (its query, against the workspace's tables and
functions), and automation rules applied to new incidents in order — through Microsoft's SDK, unchanged."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.securityinsight import SecurityInsightsMgmtClient
from azure.mgmt.securityinsight import models as m
from test_sentinel_rules import scheduled
from test_sentinel_support import WORKSPACES, sentinel_emulator, si

__all__ = ["sentinel_emulator", "si"]  # fixtures used by this module
RG, WS = WORKSPACES["contoso-mssp"]
Client = Callable[..., SecurityInsightsMgmtClient]
VALID = [
    "SecurityEvent | where EventID == 4625 | summarize count() by Account, Type, _ResourceId",
    "_GetWatchlist('VIPUsers') | join (SigninLogs | project SearchKey = UserPrincipalName) on SearchKey",
    "imAuthentication | where EventResult == 'Failure'",  # a built-in ASIM parser of Sentinel
    "FailedSignins(7d) | take 10",  # a saved function of the workspace
]
REFUSED = [
    ("SecurityEvent | where", "line 1"),
    ("NoSuchTable_CL | take 1", "NoSuchTable_CL"),
    ("SecurityEvent | where EventId == 4625", "'EventId'"),
]


@pytest.mark.parametrize("query", VALID)
def test_valid_queries_are_saved(si: Client, query: str) -> None:
    client, name = si("contoso-mssp"), str(uuid.uuid4())
    saved = client.alert_rules.create_or_update(RG, WS, name, scheduled(query=query, display_name=f"ok {name}"))
    assert saved.properties.query == query
    client.alert_rules.delete(RG, WS, name)


@pytest.mark.parametrize(("query", "names"), REFUSED)
def test_broken_queries_are_refused_with_the_problem_and_its_place(si: Client, query: str, names: str) -> None:
    client, name = si("contoso-mssp"), str(uuid.uuid4())
    with pytest.raises(HttpResponseError) as info:
        client.alert_rules.create_or_update(RG, WS, name, scheduled(query=query))
    assert info.value.status_code == 400 and info.value.error.code == "BadRequest"
    assert "query is not valid" in info.value.message and names in info.value.message and "line" in info.value.message
    assert name not in {r.name for r in client.alert_rules.list(RG, WS)}


def test_sub_techniques_have_their_own_property(si: Client) -> None:
    client, name = si("contoso-mssp"), str(uuid.uuid4())
    with pytest.raises(HttpResponseError) as info:
        client.alert_rules.create_or_update(RG, WS, name, scheduled(techniques=["T1110.003"]))
    assert "subTechniques" in info.value.message
    saved = client.alert_rules.create_or_update(RG, WS, name, scheduled(techniques=["T1110"], sub_techniques=["T1110.003"]))
    assert saved.properties.sub_techniques == ["T1110.003"]
    client.alert_rules.delete(RG, WS, name)


def _automation(name: str, order: int, conditions: list[m.AutomationRuleCondition],
                actions: list[m.AutomationRuleAction], expiration: str | None = None) -> m.AutomationRule:
    logic = m.AutomationRuleTriggeringLogic(is_enabled=True, triggers_on="Incidents", triggers_when="Created",
                                            conditions=conditions, expiration_time_utc=expiration)
    return m.AutomationRule(properties=m.AutomationRuleProperties(display_name=name, order=order,
                                                                  triggering_logic=logic, actions=actions))


def _title_contains(text: str) -> m.AutomationRuleCondition:
    return m.PropertyConditionProperties(condition_properties=m.AutomationRulePropertyValuesCondition(
        property_name="IncidentTitle", operator="Contains", property_values=[text]))


def test_new_incidents_run_the_automation_rules_in_order(si: Client) -> None:
    client = si("contoso-mssp")
    tag = uuid.uuid4().hex[:8]
    first, second, expired = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    client.automation_rules.create_or_update(RG, WS, first, _automation(f"raise {tag}", 1, [_title_contains(tag)], [
        m.AutomationRuleModifyPropertiesAction(order=2, action_configuration=m.IncidentPropertiesAction(
            labels=[m.IncidentLabel(label_name="second-action")])),
        m.AutomationRuleModifyPropertiesAction(order=1, action_configuration=m.IncidentPropertiesAction(
            severity="High", labels=[m.IncidentLabel(label_name="first-action")]))]))
    client.automation_rules.create_or_update(RG, WS, second, _automation(f"task {tag}", 2, [
        _title_contains(tag), m.PropertyConditionProperties(condition_properties=m.AutomationRulePropertyValuesCondition(
            property_name="IncidentSeverity", operator="Equals", property_values=["High"]))], [
        m.AutomationRuleAddIncidentTaskAction(order=1, action_configuration=m.AddIncidentTaskActionProperties(
            title="Call the customer"))]))
    client.automation_rules.create_or_update(RG, WS, expired, _automation(
        f"expired {tag}", 3, [_title_contains(tag)],
        [m.AutomationRuleModifyPropertiesAction(order=1, action_configuration=m.IncidentPropertiesAction(
            labels=[m.IncidentLabel(label_name="expired")]))], expiration="2020-01-01T00:00:00Z"))
    incident_id = str(uuid.uuid4())
    created = client.incidents.create_or_update(RG, WS, incident_id, m.Incident(properties=m.IncidentProperties(
        title=f"Suspicious login {tag}", severity="Low", status="New")))
    assert created.properties.severity == "Low"  # the answer to the PUT: the incident as created
    now = client.incidents.get(RG, WS, incident_id)
    assert now.properties.severity == "High" and now.etag != created.etag
    assert [label.label_name for label in now.properties.labels] == ["first-action", "second-action"]
    tasks = [t.properties.title for t in client.incident_tasks.list(RG, WS, incident_id)]
    assert "Call the customer" in tasks  # (the workspace's own high-severity rules may add theirs too)
    other = str(uuid.uuid4())
    client.incidents.create_or_update(RG, WS, other, m.Incident(properties=m.IncidentProperties(
        title="Unrelated", severity="Low", status="New")))
    assert client.incidents.get(RG, WS, other).properties.labels == []
    for rule in (first, second, expired):
        client.automation_rules.delete(RG, WS, rule)
    for incident in (incident_id, other):
        client.incidents.delete(RG, WS, incident)
