"""The log seeder: planted problems visible through KQL, consistency with ARM, determinism and speed.

Most tests run the seeder over a store built by the topology and monitor seeders plus a small stand-in
for the Sentinel seeder (``plant_sentinel`` below: the resources SCENARIO.md names, with the shapes
ARM stores). One test runs the real scenario (``build_store``) once every seeder exists.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import random
from typing import Any

import pytest

from sentinelkit_emulator.logs.engine import LogsEngine
from sentinelkit_emulator.model import World
from sentinelkit_emulator.scenario.logs import SeedError, seed_logs
from sentinelkit_emulator.scenario.plan import MSSP, ScenarioPlan, stable_id
from sentinelkit_emulator.scenario.topology import build_world, seed_topology
from sentinelkit_emulator.store import Store

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
SI = "Microsoft.SecurityInsights"


def _ts(hours_ago: float) -> str:
    return (NOW - dt.timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _workspace(store: Store, name: str) -> dict[str, Any]:
    return next(r for r in store.all() if r.get("type") == "Microsoft.OperationalInsights/workspaces"
                and r["name"] == name)


def plant_sentinel(store: Store, plan: ScenarioPlan, rng: random.Random, *, skip: str = "") -> None:
    """A stand-in for the Sentinel seeder: onboarding, rules, connectors, automation, incidents + alerts."""
    for wp in plan.workspaces:
        if not wp.sentinel:
            continue
        ws = _workspace(store, wp.name)
        sentinel = f"{ws['id']}/providers/{SI}"
        store.put({"id": f"{sentinel}/onboardingStates/default", "name": "default",
                   "type": f"{SI}/onboardingStates", "properties": {"customerManagedKey": False}})
        rules = ["Failed sign-ins from unusual locations", "New admin role assignment"]
        if "rule_failing" in wp.problems:
            rules.append("Suspicious PowerShell download cradle")
        disabled = ({"Rare RDP connections", "Mass download from SharePoint"} if "rules_disabled" in wp.problems
                    else set())
        rules += sorted(disabled)
        if "rule_auto_disabled" in wp.problems:
            rules.append("AUTO DISABLED Brute force against Azure Portal")
        rule_ids = []
        for name in rules:
            if name == skip:
                continue
            rid = stable_id("rule", wp.name, name)
            auto = name.startswith("AUTO DISABLED")
            rule = {"id": f"{sentinel}/alertRules/{rid}", "name": rid, "type": f"{SI}/alertRules", "kind": "Scheduled",
                    "properties": {"displayName": name, "enabled": name not in disabled and not auto,
                                   "queryFrequency": "PT1H", "queryPeriod": "PT1H", "severity": "High",
                                   "triggerOperator": "GreaterThan", "triggerThreshold": 0,
                                   "lastModifiedUtc": _ts(100) if name in disabled else _ts(400)}}
            store.put(rule)
            rule_ids.append(rule["id"])
        store.put({"id": f"{sentinel}/alertRules/fusion", "name": "fusion", "type": f"{SI}/alertRules",
                   "kind": "Fusion", "properties": {"displayName": "Advanced Multistage Attack Detection",
                                                    "enabled": True}})
        for kind in ("AzureActiveDirectory", "Office365", "ThreatIntelligence"):
            if kind == "Office365" and skip == "Office365":
                continue
            cid = stable_id("connector", wp.name, kind)
            store.put({"id": f"{sentinel}/dataConnectors/{cid}", "name": cid, "type": f"{SI}/dataConnectors",
                       "kind": kind, "properties": {"tenantId": plan.tenant(wp.tenant).id}})
        autos = ["Assign new incidents to tier 1"]
        if "automation_failing" in wp.problems:
            autos.append("Notify SOC on high severity")
        for name in autos:
            if name == skip:
                continue
            aid = stable_id("automation", wp.name, name)
            conditions = ([{"conditionType": "Property", "conditionProperties": {
                "propertyName": "IncidentSeverity", "operator": "Equals", "propertyValues": ["High"]}}]
                if "high severity" in name else [])
            store.put({"id": f"{sentinel}/automationRules/{aid}", "name": aid, "type": f"{SI}/automationRules",
                       "properties": {"displayName": name, "order": 1, "triggeringLogic": {
                           "isEnabled": True, "triggersOn": "Incidents", "triggersWhen": "Created",
                           "conditions": conditions},
                           "actions": [{"order": 1, "actionType": "RunPlaybook", "actionConfiguration": {
                               "logicAppResourceId": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Logic/"
                                                     "workflows/Notify-SOC", "tenantId": None}}]}})
        for n in range(1, 21):
            iid = stable_id("incident", wp.name, str(n))
            created = rng.uniform(2, 29 * 24)
            status = "New" if n % 3 else "Closed"
            incident_id = f"{sentinel}/incidents/{iid}"
            alert_name = stable_id("alert", wp.name, str(n))
            alert = {"id": f"{sentinel}/entities/{alert_name}", "name": alert_name, "type": f"{SI}/Entities",
                     "kind": "SecurityAlert", "properties": {
                         "alertDisplayName": f"Alert {n}", "severity": "High" if n % 2 else "Medium",
                         "productName": "Azure Sentinel", "status": "New", "tactics": ["InitialAccess"],
                         "timeGenerated": _ts(created), "startTimeUtc": _ts(created + 1), "endTimeUtc": _ts(created)}}
            account = {"id": f"{sentinel}/entities/acc-{alert_name}", "name": f"acc-{alert_name}",
                       "type": f"{SI}/Entities", "kind": "Account",
                       "properties": {"accountName": "alice", "upnSuffix": "contoso.com", "friendlyName": "alice"}}
            store.put(alert)
            store.put(account)
            store.put({"id": f"{alert['id']}/relations/r1", "name": "r1", "type": f"{SI}/entities/relations",
                       "properties": {"relatedResourceId": account["id"], "relatedResourceName": account["name"],
                                      "relatedResourceType": account["type"], "relatedResourceKind": "Account"}})
            incident = {"id": incident_id, "name": iid, "type": f"{SI}/incidents", "properties": {
                "title": f"Incident {n}", "severity": "High" if n % 2 else "Medium", "status": status,
                "incidentNumber": n, "createdTimeUtc": _ts(created),
                "lastModifiedTimeUtc": _ts(created - 1 if status == "Closed" else created),
                "firstActivityTimeUtc": _ts(created + 1), "lastActivityTimeUtc": _ts(created),
                "owner": {"objectId": None}, "labels": [], "relatedAnalyticRuleIds": rule_ids[:1],
                "classification": "TruePositive" if status == "Closed" else None,
                "additionalData": {"alertsCount": 1}}}
            store.put(incident)
            store.put({"id": f"{incident_id}/relations/a1", "name": "a1", "type": f"{SI}/incidents/relations",
                       "properties": {"relatedResourceId": alert["id"], "relatedResourceName": alert_name,
                                      "relatedResourceType": alert["type"], "relatedResourceKind": "SecurityAlert"}})


def build(skip: str = "", now: dt.datetime = NOW) -> Store:
    """Topology + monitor seeder + stand-in Sentinel seeder + the log seeder under test."""
    from sentinelkit_emulator.scenario.monitor import seed_monitor

    store = Store(build_world(MSSP), now)
    seed_topology(store, MSSP)
    plant_sentinel(store, MSSP, random.Random(1), skip=skip)
    seed_monitor(store, MSSP, random.Random(2))
    seed_logs(store, MSSP, random.Random(3))
    return store


@pytest.fixture(scope="module")
def store() -> Store:
    return build()


def kql(store: Store, workspace: str, query: str, timespan: str | None = None, now: dt.datetime = NOW
        ) -> list[dict[str, Any]]:
    ws = _workspace(store, workspace)
    engine = LogsEngine()
    snap = engine.snapshot(store, [(ws["id"], ws["properties"]["customerId"])])
    body = engine.run(snap, query, timespan=timespan, now=now).body
    table = body["tables"][0]
    names = [c["name"] for c in table["columns"]]
    return [dict(zip(names, row, strict=True)) for row in table["rows"]]


def test_every_workspace_has_data_and_tenant_id(store: Store) -> None:
    for wp in MSSP.workspaces:
        ws = _workspace(store, wp.name)
        rows = kql(store, wp.name, "Heartbeat | summarize n = count(), t = dcount(TenantId), tid = any(TenantId)")
        assert rows[0]["n"] > 0 and rows[0]["t"] == 1
        assert rows[0]["tid"] == ws["properties"]["customerId"]


def test_heartbeat_stopped_agent(store: Store) -> None:
    rows = kql(store, "law-northwind", "Heartbeat | summarize Last = max(TimeGenerated) by Computer")
    last = {r["Computer"].split(".")[0]: dt.datetime.fromisoformat(r["Last"]) for r in rows}
    assert 3 <= len(last) <= 5
    assert NOW - last["nw-dc-02"] == dt.timedelta(hours=26)
    assert all(NOW - t < dt.timedelta(hours=1) for name, t in last.items() if name != "nw-dc-02")


def test_syslog_stopped_in_tailspin(store: Store) -> None:
    assert kql(store, "law-tailspin", "Syslog | where TimeGenerated > ago(3d) | count")[0]["Count"] == 0
    assert kql(store, "law-tailspin", "Usage | where DataType == 'Syslog' and TimeGenerated > ago(3d) | count")[0][
        "Count"] == 0
    assert kql(store, "law-tailspin", "Syslog | count")[0]["Count"] > 100
    assert kql(store, "law-northwind", "Syslog | where TimeGenerated > ago(3d) | count")[0]["Count"] > 0


def test_azure_activity_drop_in_northwind(store: Store) -> None:
    q = """Usage | where DataType == 'AzureActivity'
        | summarize Last = sumif(Quantity, TimeGenerated > ago(1d)),
                    Earlier = sumif(Quantity, TimeGenerated <= ago(1d))"""
    row = kql(store, "law-northwind", q)[0]
    ratio = row["Last"] / (row["Earlier"] / 29)
    assert 0.07 < ratio < 0.13, ratio
    row = kql(store, "law-fabrikam-prod", q)[0]
    assert row["Last"] / (row["Earlier"] / 29) > 0.5


#: what SCENARIO.md plants as an ingestion problem (and a health check must report)
PLANTED_INGESTION = {("law-northwind", "AzureActivity"), ("law-tailspin", "Syslog"),
                     ("law-northwind", "OfficeActivity")}  # the failing Office 365 connector brings nothing
#: tables a health check does not judge by volume (pack-health's EVENT_DRIVEN_TABLES)
EVENT_DRIVEN = ("SecurityAlert", "SecurityIncident", "SentinelHealth", "SentinelAudit", "Usage", "Operation",
                "Anomalies", "ThreatIntelligenceIndicator")


@pytest.mark.parametrize("now", ["2026-12-06T09:33", "2026-12-07T09:21", "2026-12-07T00:05", "2026-12-07T05:40",
                                 "2026-12-07T14:10", "2026-12-07T19:55"])
def test_no_unplanted_feed_looks_like_an_ingestion_drop(now: str) -> None:
    """Whatever the hour, every table fed daily has a last day of at least a quarter of its daily average (the
    health check's threshold) unless the scenario plants the drop. The first two hours are when a few random
    events a day left law-fabrikam-ops' AzureActivity at 21 % (a CI run failed on it)."""
    from sentinelkit_emulator.scenario import build_store

    at = dt.datetime.fromisoformat(now).replace(tzinfo=dt.UTC)
    store = build_store(now=at)
    excluded = ", ".join(f"'{t}'" for t in EVENT_DRIVEN)
    query = f"""Usage | where TimeGenerated > ago(8d) and DataType !in ({excluded})
        | summarize Last = sumif(Quantity, TimeGenerated > ago(1d)),
                    Daily = sumif(Quantity, TimeGenerated <= ago(1d)) / 7.0 by DataType"""
    low = []
    for wp in MSSP.workspaces:
        for row in kql(store, wp.name, query, now=at):
            if (wp.name, row["DataType"]) not in PLANTED_INGESTION and row["Daily"] and row["Last"] < 0.25 * row["Daily"]:
                low.append((wp.name, row["DataType"], round(row["Last"] / row["Daily"], 2)))
    assert not low, low


def test_failing_rule_fails_every_run_of_the_last_day(store: Store) -> None:
    rows = kql(store, "law-fabrikam-prod", """SentinelHealth
        | where TimeGenerated > ago(24h) and SentinelResourceType == 'Analytics Rule'
        | summarize Runs = count(), Failures = countif(Status == 'Failure') by SentinelResourceName""")
    by_name = {r["SentinelResourceName"]: r for r in rows}
    failing = by_name["Suspicious PowerShell download cradle"]
    assert failing["Runs"] >= 23 and failing["Failures"] == failing["Runs"]
    assert by_name["New admin role assignment"]["Failures"] == 0
    assert "Rare RDP connections" not in by_name  # disabled by a user days ago: no runs
    audit = kql(store, "law-fabrikam-prod", "SentinelAudit | project SentinelResourceName, "
                "Caller = tostring(ExtendedProperties.CallerName)")
    assert {r["SentinelResourceName"] for r in audit} == {"Rare RDP connections", "Mass download from SharePoint"}


def test_auto_disabled_rule(store: Store) -> None:
    rows = kql(store, "law-tailspin", """SentinelHealth
        | where SentinelResourceType == 'Analytics Rule'
        | where Reason == 'The analytics rule is disabled and was not executed.'
        | project SentinelResourceName, Status, TimeGenerated""")
    assert [r["SentinelResourceName"] for r in rows] == ["AUTO DISABLED Brute force against Azure Portal"]
    assert rows[0]["Status"] == "Failure"
    runs = kql(store, "law-tailspin", """SentinelHealth
        | where SentinelResourceName startswith 'AUTO DISABLED' and OperationName == 'Scheduled analytics rule run'
        | where Reason != 'The analytics rule is disabled and was not executed.'
        | summarize Failures = countif(Status == 'Failure'), LastRun = max(TimeGenerated)""")[0]
    assert runs["Failures"] >= 3
    assert dt.datetime.fromisoformat(runs["LastRun"]) < dt.datetime.fromisoformat(rows[0]["TimeGenerated"])


def test_connector_failing_since_two_days(store: Store) -> None:
    rows = kql(store, "law-northwind", """SentinelHealth
        | where OperationName == 'Data fetch status change' and SentinelResourceKind == 'Office365'
        | summarize FailuresLast2d = countif(Status == 'Failure' and TimeGenerated > ago(2d)),
                    SuccessLast2d = countif(Status == 'Success' and TimeGenerated > ago(2d))""")
    row = rows[0]
    last = kql(store, "law-northwind", "SentinelHealth | where SentinelResourceKind == 'Office365' and Status == "
               "'Success' | summarize LastSuccess = max(TimeGenerated)")[0]
    assert NOW - dt.datetime.fromisoformat(last["LastSuccess"]) == dt.timedelta(hours=48)
    assert row["FailuresLast2d"] >= 47 and row["SuccessLast2d"] == 0
    office = kql(store, "law-northwind", "OfficeActivity | summarize max(TimeGenerated)")[0]
    assert NOW - dt.datetime.fromisoformat(office["max_TimeGenerated"]) >= dt.timedelta(hours=48)
    healthy = kql(store, "law-contoso-soc", "SentinelHealth | where SentinelResourceType == 'Data connector' "
                  "| summarize f = countif(Status == 'Failure'), n = count()")[0]
    assert healthy["f"] == 0 and healthy["n"] > 100


def test_automation_rule_playbook_failure(store: Store) -> None:
    rows = kql(store, "law-northwind", """SentinelHealth | where SentinelResourceType == 'Automation rule'
        | summarize Failures = countif(Status == 'Failure'), Runs = count() by SentinelResourceName""")
    by_name = {r["SentinelResourceName"]: r for r in rows}
    notify = by_name["Notify SOC on high severity"]
    assert notify["Runs"] > 0 and notify["Failures"] == notify["Runs"]
    assert by_name["Assign new incidents to tier 1"]["Failures"] == 0


def test_incidents_and_alerts_agree_with_arm(store: Store) -> None:
    ws = _workspace(store, "law-contoso-soc")
    incidents = store.children(f"{ws['id']}/providers/{SI}/incidents")
    rows = kql(store, "law-contoso-soc", """SecurityIncident
        | summarize arg_max(TimeGenerated, *) by IncidentName
        | project IncidentName, Status, AlertIds, IncidentNumber""")
    assert {r["IncidentName"] for r in rows} == {i["name"] for i in incidents}
    by_name = {i["name"]: i for i in incidents}
    alert_ids = set()
    for r in rows:
        assert r["Status"] == by_name[r["IncidentName"]]["properties"]["status"]
        alert_ids |= set(json.loads(r["AlertIds"]))
    alerts = kql(store, "law-contoso-soc", "SecurityAlert | project SystemAlertId, Entities")
    assert {a["SystemAlertId"] for a in alerts} == alert_ids
    assert json.loads(alerts[0]["Entities"])[0]["Type"] == "account"
    closed = kql(store, "law-contoso-soc", "SecurityIncident | where Status == 'Closed' | count")[0]["Count"]
    assert closed == sum(1 for i in incidents if i["properties"]["status"] == "Closed")
    created = kql(store, "law-contoso-soc", "SecurityIncident | where Status == 'New' | distinct IncidentName | count")
    assert created[0]["Count"] == len(incidents)  # every incident has its creation row


def test_usage_matches_tables(store: Store) -> None:
    rows = kql(store, "law-fabrikam-prod", """Usage | summarize Mb = sum(Quantity), Batches = sum(TotalBatches),
        Billable = any(IsBillable) by DataType""")
    by_table = {r["DataType"]: r for r in rows}
    counts = kql(store, "law-fabrikam-prod",
                 "union withsource=T SecurityEvent, Heartbeat, AppAudit_CL | summarize n = count() by T")
    for r in counts:
        assert by_table[r["T"]]["Batches"] == r["n"]
    assert by_table["SecurityEvent"]["Billable"] is True and by_table["Heartbeat"]["Billable"] is False


def test_custom_tables_follow_arm_schema_and_retention(store: Store) -> None:
    rows = kql(store, "law-fabrikam-prod", "AppAudit_CL | summarize n = count(), oldest = min(TimeGenerated), "
               "users = dcount(UserPrincipalName)")
    assert rows[0]["n"] > 0 and rows[0]["users"] > 1
    assert NOW - dt.datetime.fromisoformat(rows[0]["oldest"]) <= dt.timedelta(days=8)


def test_non_sentinel_workspace_is_light_and_has_no_sentinel_tables(store: Store) -> None:
    rows = kql(store, "law-fabrikam-ops", "Heartbeat | summarize dcount(Computer)")
    assert rows[0]["dcount_Computer"] == 1
    from sentinelkit_emulator.logs.engine import QueryApiError

    with pytest.raises(QueryApiError) as err:
        kql(store, "law-fabrikam-ops", "SecurityIncident | count")
    assert "SecurityIncident" in json.dumps(err.value.body())


def test_missing_planted_resource_fails_loudly() -> None:
    with pytest.raises(SeedError, match="Suspicious PowerShell download cradle"):
        build(skip="Suspicious PowerShell download cradle")
    with pytest.raises(SeedError, match="Office365"):
        build(skip="Office365")
    with pytest.raises(SeedError, match="Notify SOC on high severity"):
        build(skip="Notify SOC on high severity")


def test_deterministic() -> None:
    a, b = build(), build()
    for cid in a.logs:
        for table, rows in a.logs[cid].items():
            assert rows == b.logs[cid][table], table


@pytest.mark.skipif(importlib.util.find_spec("sentinelkit_emulator.scenario.sentinel") is None,
                    reason="the Sentinel ARM seeder (scenario/sentinel.py) is not written yet")
def test_real_scenario_builds_with_planted_problems() -> None:
    from sentinelkit_emulator.scenario import build_store

    real = build_store("mssp", now=NOW)
    assert kql(real, "law-northwind", "Heartbeat | where Computer startswith 'nw-dc-02' "
               "| summarize max(TimeGenerated)")[0]["max_TimeGenerated"] == (NOW - dt.timedelta(hours=26)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert kql(real, "law-fabrikam-prod", "SentinelHealth | where Status == 'Failure' and TimeGenerated > ago(1d) "
               "| distinct SentinelResourceName")[0]["SentinelResourceName"] == "Suspicious PowerShell download cradle"


def test_world_is_unused_by_seeder() -> None:
    """The seeder needs only the store's resources and plan: an empty world is fine."""
    store = Store(World(), NOW)
    with pytest.raises(SeedError, match="law-contoso-soc"):
        seed_logs(store, MSSP, random.Random(0))


def test_every_table_a_dcr_feeds_in_a_healthy_workspace_received_data_today() -> None:
    """law-contoso-soc and law-woodgrove are documented as healthy: no data collection gap there."""
    from sentinelkit_emulator.scenario import build_store

    store = build_store()
    cutoff = (store.now - dt.timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S")
    checked = 0
    for dcr in (r for r in store.all() if r.get("type") == "Microsoft.Insights/dataCollectionRules"):
        props = dcr["properties"]
        for flow in props.get("dataFlows", []):
            for dest in props["destinations"].get("logAnalytics", []):
                if dest["name"] not in flow["destinations"]:
                    continue
                ws = store.get(dest["workspaceResourceId"])
                if ws is None or ws["name"] not in ("law-contoso-soc", "law-woodgrove"):
                    continue
                out = flow.get("outputStream") or flow["streams"][0]
                table = out.split("-", 1)[1]
                rows = store.workspace_logs(ws["properties"]["customerId"]).get(table, [])
                assert any(r["TimeGenerated"] >= cutoff for r in rows), f"{dcr['name']} → {ws['name']}/{table}"
                checked += 1
    assert checked >= 4
