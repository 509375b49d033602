"""The Sentinel seeder makes SCENARIO.md true, quickly and deterministically (no server needed)."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sentinelkit_emulator.arm.odata import parse_datetime
from sentinelkit_emulator.arm.resources.la_catalog import AWS_CLOUDTRAIL, DEFENDER_XDR
from sentinelkit_emulator.arm.resources.sentinel_incidents import incident_alerts
from sentinelkit_emulator.scenario import build_store
from sentinelkit_emulator.scenario.plan import MSSP, WorkspacePlan
from sentinelkit_emulator.scenario.sentinel import DATA_SOURCES, seed_sentinel
from sentinelkit_emulator.scenario.topology import build_world, seed_topology
from sentinelkit_emulator.store import Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HEALTHY = ("law-contoso-soc", "law-woodgrove")


def build(seed: str = "sentinel") -> Store:
    store = Store(build_world(MSSP), NOW)
    seed_topology(store, MSSP)
    seed_sentinel(store, MSSP, random.Random(seed))
    return store


@pytest.fixture(scope="module")
def store() -> Store:
    return build()


def si_path(wp: WorkspacePlan) -> str:
    t = MSSP.tenant(wp.tenant)
    return (f"/subscriptions/{t.subscription_id}/resourceGroups/{wp.resource_group}/providers/"
            f"Microsoft.OperationalInsights/workspaces/{wp.name}/providers/Microsoft.SecurityInsights")


def workspace(name: str) -> WorkspacePlan:
    return next(w for w in MSSP.workspaces if w.name == name)


def children(store: Store, name: str, collection: str) -> list[dict[str, Any]]:
    return store.children(f"{si_path(workspace(name))}/{collection}")


def age(resource_time: str) -> timedelta:
    when = parse_datetime(resource_time)
    assert when is not None
    return NOW - when


def backlog(store: Store, name: str) -> list[dict[str, Any]]:
    return [i for i in children(store, name, "incidents")
            if i["properties"]["severity"] == "High" and i["properties"]["status"] == "New"
            and i["properties"]["owner"]["objectId"] is None and age(i["properties"]["createdTimeUtc"]) > timedelta(days=7)]


def test_deterministic_for_a_seed() -> None:
    def sentinel_state(store: Store) -> str:
        resources = sorted((r for r in store.all() if "microsoft.securityinsights" in r["id"].lower()),
                           key=lambda r: r["id"])
        return json.dumps([resources, store.logs], sort_keys=True, default=str)

    assert sentinel_state(build("same")) == sentinel_state(build("same"))


def test_every_sentinel_workspace_is_seeded(store: Store) -> None:
    for wp in MSSP.workspaces:
        onboarded = store.get(f"{si_path(wp)}/onboardingStates/default") is not None
        assert onboarded is wp.sentinel, wp.name
        if not wp.sentinel:
            assert children(store, wp.name, "incidents") == []
            continue
        incidents = children(store, wp.name, "incidents")
        assert len(incidents) == wp.incidents
        assert all(age(i["properties"]["createdTimeUtc"]) < timedelta(days=30) for i in incidents)
        numbers = sorted(incidents, key=lambda i: i["properties"]["createdTimeUtc"])
        assert [i["properties"]["incidentNumber"] for i in numbers] == list(range(1, wp.incidents + 1))
        statuses = Counter(i["properties"]["status"] for i in incidents)
        assert set(statuses) == {"New", "Active", "Closed"}
        assert {i["properties"]["severity"] for i in incidents} >= {"High", "Medium", "Low"}
        assert all(i["properties"]["classification"] for i in incidents if i["properties"]["status"] == "Closed")
        rules = children(store, wp.name, "alertRules")
        assert 10 <= len(rules) <= 20
        assert {r["kind"] for r in rules} >= {"Scheduled", "Fusion", "MicrosoftSecurityIncidentCreation"}
        assert 2 <= len(children(store, wp.name, "automationRules")) <= 4
        assert 1 <= len(children(store, wp.name, "watchlists")) <= 3
        sources = {DEFENDER_XDR, AWS_CLOUDTRAIL} & set(DATA_SOURCES.get(wp.name, ()))  # those with a connector
        connectors = children(store, wp.name, "dataConnectors")
        assert sources <= {c["kind"] for c in connectors}
        assert 3 <= len(connectors) - len(sources) <= 6
        assert len(children(store, wp.name, "alertRuleTemplates")) >= 15


def test_incidents_are_consistent_with_alerts_entities_and_logs() -> None:
    store = build_store("mssp", now=NOW)  # every seeder: the logs seeder writes the SecurityIncident rows
    for name in ("law-northwind", "law-tailspin"):
        wp = workspace(name)
        ws = store.get(si_path(wp).split("/providers/Microsoft.SecurityInsights")[0])
        assert ws is not None
        logs = store.workspace_logs(ws["properties"]["customerId"])
        rows_by_incident: dict[str, list[dict[str, Any]]] = {}
        for row in logs["SecurityIncident"]:
            rows_by_incident.setdefault(row["IncidentName"], []).append(row)
        alert_rows = {row["SystemAlertId"] for row in logs["SecurityAlert"]}
        owners = Counter()
        for incident in children(store, name, "incidents"):
            props = incident["properties"]
            alerts = incident_alerts(store, incident["id"])
            assert 1 <= len(alerts) <= 3 and {a["name"] for a in alerts} <= alert_rows
            assert all(store.children(f"{a['id']}/relations") for a in alerts)  # every alert names entities
            rule = store.get(props["relatedAnalyticRuleIds"][0])
            assert rule is not None
            rows = rows_by_incident[incident["name"]]
            assert rows[0]["Status"] == "New" and rows[-1]["Status"] == props["status"]
            assert rows[-1]["IncidentNumber"] == props["incidentNumber"] and rows[-1]["Title"] == props["title"]
            assert sorted(rows[-1]["AlertIds"]) == sorted(a["name"] for a in alerts)
            if props["status"] == "Closed":
                assert rows[-1]["ClosedTime"] == props["lastModifiedTimeUtc"]
            comments = store.children(f"{incident['id']}/comments")
            assert len(comments) <= 4 and rows[-1]["AdditionalData"]["commentsCount"] == len(comments)
            owners[props["owner"]["userPrincipalName"]] += 1
        assert owners[None] and any(str(upn).startswith("alice.analyst@") for upn in owners)


def test_planted_backlog(store: Store) -> None:
    planted = backlog(store, "law-fabrikam-prod")
    assert len(planted) == 12
    assert all(timedelta(days=8) <= age(i["properties"]["createdTimeUtc"]) <= timedelta(days=25) for i in planted)
    for name in ("law-contoso-soc", "law-northwind", "law-tailspin", "law-woodgrove"):
        assert backlog(store, name) == [], name


def test_planted_rules(store: Store) -> None:
    fabrikam = {r["properties"]["displayName"]: r for r in children(store, "law-fabrikam-prod", "alertRules")}
    failing = fabrikam["Suspicious PowerShell download cradle"]
    assert failing["kind"] == "Scheduled" and failing["properties"]["enabled"]
    assert sorted(n for n, r in fabrikam.items() if not r["properties"]["enabled"]) == [
        "Mass download from SharePoint", "Rare RDP connections"]
    tailspin = {r["properties"]["displayName"]: r for r in children(store, "law-tailspin", "alertRules")}
    auto = tailspin["AUTO DISABLED Brute force against Azure Portal"]
    assert auto["kind"] == "Scheduled" and not auto["properties"]["enabled"]
    assert [n for n, r in tailspin.items() if not r["properties"]["enabled"]] == [auto["properties"]["displayName"]]
    for name in ("law-contoso-soc", "law-northwind", "law-woodgrove"):
        assert all(r["properties"]["enabled"] for r in children(store, name, "alertRules")), name
    # no incident from the failing rule in the last 24 h, none from disabled rules after they were disabled
    for incident in children(store, "law-fabrikam-prod", "incidents"):
        rule_id = incident["properties"]["relatedAnalyticRuleIds"][0].lower()
        if rule_id == failing["id"].lower():
            assert age(incident["properties"]["createdTimeUtc"]) > timedelta(days=1)
        for disabled in ("Mass download from SharePoint", "Rare RDP connections"):
            if rule_id == fabrikam[disabled]["id"].lower():
                assert age(incident["properties"]["createdTimeUtc"]) > age(fabrikam[disabled]["properties"]["lastModifiedUtc"])


def test_planted_connector_automation_and_watchlist(store: Store) -> None:
    assert "Office365" in {c["kind"] for c in children(store, "law-northwind", "dataConnectors")}
    notify = [a for a in children(store, "law-northwind", "automationRules")
              if a["properties"]["displayName"] == "Notify SOC on high severity"]
    assert len(notify) == 1 and notify[0]["properties"]["actions"][0]["actionType"] == "RunPlaybook"
    vip = next(w for w in children(store, "law-tailspin", "watchlists") if w["name"] == "VIPUsers")
    assert vip["properties"]["defaultDuration"] == "P30D"
    assert timedelta(days=26, hours=23) < age(vip["properties"]["created"]) < timedelta(days=27, hours=1)
    for name in HEALTHY + ("law-fabrikam-prod", "law-northwind"):
        assert all(w["properties"]["defaultDuration"] is None for w in children(store, name, "watchlists")), name
