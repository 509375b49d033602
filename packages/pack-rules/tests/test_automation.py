"""Automation rules through a real MCP client — list/get/create/update/enable/disable/delete with conditions,
ordered actions and expiration — and the emulator applying them to the next incident, as Sentinel does,
cross-checked with azure-mgmt-securityinsight."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from rules_testkit import failure, out

ALICE = "alice.analyst@contoso-mssp.onmicrosoft.com"


def new_incident(si: Any, tenant: str, title: str, severity: str) -> dict[str, Any]:
    """An incident created the way a connector or an analyst creates one; returns it as Sentinel shows it after."""
    from azure.mgmt.securityinsight import models

    client, rg, ws = si(tenant)
    name = str(uuid.uuid4())
    client.incidents.create_or_update(rg, ws, name, models.Incident(
        {"properties": {"title": title, "severity": severity, "status": "New"}}))
    incident = client.incidents.get(rg, ws, name)
    tasks = [t.properties.title for t in client.incident_tasks.list(rg, ws, name)]
    return {"props": incident.properties, "tasks": tasks,
            "labels": sorted(label.label_name for label in incident.properties.labels or [])}


async def test_list_and_get_match_the_sdk(call, si) -> None:
    listed = out(await call("automation_rule_list", workspace="law-northwind", fields=["*"]))
    client, rg, ws = si("northwind")
    sdk = sorted(client.automation_rules.list(rg, ws), key=lambda r: r.properties.order)
    assert [r["name"] for r in listed["automation_rules"]] == [r.name for r in sdk]
    first = listed["automation_rules"][0]
    assert first["display_name"] == "Notify SOC on high severity" and first["actions"] == ["1. run playbook Notify-SOC-Teams"]
    assert first["conditions"] == ["IncidentSeverity Equals High"] and first["trigger"] == "Incidents Created"
    got = out(await call("automation_rule_get", workspace="law-northwind", rule="Notify SOC on high severity"))
    assert got["etag"] == sdk[0].etag and got["actions_detail"][0]["actionType"] == "RunPlaybook"


async def test_a_rule_created_here_works_on_the_next_incident_in_order(call, si, restore) -> None:
    lower = out(await call("automation_rule_create", workspace="law-tailspin", display_name="Lower VPN noise",
                           order=1, title_contains=["VPN"], set_severity="Medium"))
    triage = out(await call("automation_rule_create", workspace="law-tailspin", display_name="Triage VPN incidents",
                            order=2, title_contains=["VPN"], assign_owner=ALICE, set_status="Active",
                            add_labels=["vpn", "triage"], add_task="Check the VPN session"))
    late = out(await call("automation_rule_create", workspace="law-tailspin", display_name="Late high severity tag",
                          order=3, severity=["High"], title_contains=["VPN"], add_labels=["still-high"]))
    assert triage["automation_rule"]["actions"] == [
        f"1. set status=Active; owner={ALICE}; labels=vpn, triage", "2. add task 'Check the VPN session'"]
    client, rg, ws = si("tailspin")
    sdk = {r.properties.display_name: r for r in client.automation_rules.list(rg, ws)}
    assert sdk["Triage VPN incidents"].properties.order == 2
    assert lower["created"] and late["created"]

    hit = new_incident(si, "tailspin", "Impossible travel on the VPN gateway", "High")
    assert hit["props"].severity == "Medium"  # rule 1 ran first
    assert hit["props"].owner.user_principal_name == ALICE and hit["props"].status == "Active"
    assert {"vpn", "triage"} <= set(hit["labels"]) and "still-high" not in hit["labels"]  # rule 3 saw Medium
    assert "Check the VPN session" in hit["tasks"]
    miss = new_incident(si, "tailspin", "Malware on a kiosk", "Low")
    assert miss["props"].owner.user_principal_name is None and "vpn" not in miss["labels"]


async def test_disabled_and_expired_rules_do_not_run(call, si, restore) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out(await call("automation_rule_create", workspace="law-tailspin", display_name="Expired suppression",
                   title_contains=["Printer"], add_labels=["expired"], expiration=past))
    out(await call("automation_rule_create", workspace="law-tailspin", display_name="Tag printers",
                   title_contains=["Printer"], add_labels=["printer"]))
    preview = out(await call("automation_rule_disable", workspace="law-tailspin", rule="Tag printers"))
    assert preview["confirmation_required"] is True
    assert new_incident(si, "tailspin", "Printer spooler exploit", "Medium")["labels"] == ["printer"]
    out(await call("automation_rule_disable", workspace="law-tailspin", rule="Tag printers", confirm=True))
    assert new_incident(si, "tailspin", "Printer spooler exploit again", "Medium")["labels"] == []
    out(await call("automation_rule_enable", workspace="law-tailspin", rule="Tag printers"))
    assert new_incident(si, "tailspin", "Printer spooler exploit, third", "Medium")["labels"] == ["printer"]


async def test_update_with_etag_delete_with_confirmation_and_clear_errors(call, si, restore) -> None:
    created = out(await call("automation_rule_create", workspace="law-northwind", display_name="Close test hosts",
                             conditions=[{"property": "HostName", "operator": "StartsWith", "values": ["TEST-"]}],
                             set_status="Closed", set_classification="BenignPositive",
                             classification_reason="SuspiciousButExpected"))
    etag = created["automation_rule"]["etag"]
    again = failure(await call("automation_rule_create", workspace="law-northwind", display_name="Close test hosts",
                               add_labels=["x"]))
    assert "already exists" in again and "automation_rule_update" in again
    updated = out(await call("automation_rule_update", workspace="law-northwind", rule="Close test hosts",
                             order=9, etag=etag))
    assert updated["changed"] == ["order"]
    stale = failure(await call("automation_rule_update", workspace="law-northwind", rule="Close test hosts",
                               order=8, etag=etag))
    assert "changed since you read it" in stale
    bad = failure(await call("automation_rule_create", workspace="law-northwind", display_name="Bad operator",
                             conditions=[{"property": "IncidentTitle", "operator": "Like", "values": ["x"]}],
                             add_labels=["x"]))
    assert "condition operator 'Like' does not exist" in bad
    closing = failure(await call("automation_rule_create", workspace="law-northwind", display_name="Close all",
                                 set_status="Closed"))
    assert "needs set_classification" in closing
    done = out(await call("automation_rule_delete", workspace="law-northwind", rule="Close test hosts", confirm=True))
    client, rg, ws = si("northwind")
    assert done["deleted"] not in {r.name for r in client.automation_rules.list(rg, ws)}
