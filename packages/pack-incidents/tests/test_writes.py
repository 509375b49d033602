"""Writes through a real MCP client, each cross-checked with azure-mgmt-securityinsight reading the
emulator's state afterwards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from incidents_testkit import data, error

WS = "law-northwind"
pytestmark = pytest.mark.usefixtures("restore")


def _audit(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["SENTINELKIT_AUDIT_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def _open_incident(client: Any, status: str = "Active", **filters: Any) -> dict[str, Any]:
    page = data(await client.call_tool("incident_list", {"workspace": WS, "status": status, "limit": 1,
                                                        "fields": ["*"], **filters}))
    return page["incidents"][0]


async def test_update_severity_and_labels(mcp_client, sdk, sentinelkit_env) -> None:
    inc = await _open_incident(mcp_client)
    new_severity = "Low" if inc["severity"] != "Low" else "Medium"
    result = data(await mcp_client.call_tool("incident_update", {
        "workspace": WS, "incident_id": str(inc["number"]), "severity": new_severity,
        "labels_add": ["Phishing campaign", "needs-review"]}))
    assert result["changed"] is True
    assert result["changes"]["severity"] == {"before": inc["severity"], "after": new_severity}
    client, rg, ws = sdk(WS)
    truth = client.incidents.get(rg, ws, inc["id"]).properties
    assert truth.severity == new_severity
    assert {"Phishing campaign", "needs-review"} <= {label.label_name for label in truth.labels}
    assert truth.status == inc["status"] and truth.title == inc["title"]  # nothing else moved
    removed = data(await mcp_client.call_tool("incident_update", {
        "workspace": WS, "incident_id": inc["id"], "labels_remove": ["NEEDS-REVIEW"], "labels_add": ["Phishing campaign"]}))
    assert removed["changes"]["labels"]["after"].count("Phishing campaign") == 1
    truth = client.incidents.get(rg, ws, inc["id"]).properties
    assert "needs-review" not in {label.label_name for label in truth.labels}
    entry = _audit(sentinelkit_env)[-1]
    assert entry["tool"] == "incident_update" and entry["outcome"] == "applied" and entry["workspace"] == WS
    assert entry["tenant"] == "northwind" and entry["correlation_ids"]


async def test_update_that_changes_nothing_writes_nothing(mcp_client, sdk) -> None:
    inc = await _open_incident(mcp_client)
    client, rg, ws = sdk(WS)
    before = client.incidents.get(rg, ws, inc["id"]).etag
    result = data(await mcp_client.call_tool("incident_update", {"workspace": WS, "incident_id": inc["id"],
                                                                 "severity": inc["severity"].upper()}))
    assert result["changed"] is False and "nothing was written" in result["message"]
    assert client.incidents.get(rg, ws, inc["id"]).etag == before


async def test_dry_run_shows_the_change_only(mcp_client, sdk) -> None:
    inc = await _open_incident(mcp_client)
    result = data(await mcp_client.call_tool("incident_update", {"workspace": WS, "incident_id": inc["id"],
                                                                 "title": "Renamed by dry run", "dry_run": True}))
    assert result["dry_run"] is True
    assert result["would_change"]["changes"]["changes"]["title"]["after"] == "Renamed by dry run"
    client, rg, ws = sdk(WS)
    assert client.incidents.get(rg, ws, inc["id"]).properties.title == inc["title"]


async def test_close_needs_confirmation_then_closes_with_classification(mcp_client, sdk, sentinelkit_env) -> None:
    inc = await _open_incident(mcp_client)
    args = {"workspace": WS, "incident_id": str(inc["number"]), "classification": "benignpositive",
            "comment": "Expected admin activity during the migration window."}
    preview = data(await mcp_client.call_tool("incident_close", args))
    assert preview["confirmation_required"] is True and "confirm=true" in preview["next"]
    changes = preview["would_change"]["changes"]["changes"]
    assert changes["status"] == {"before": inc["status"], "after": "Closed"}
    assert changes["classification"]["after"] == "BenignPositive"
    client, rg, ws = sdk(WS)
    assert client.incidents.get(rg, ws, inc["id"]).properties.status == inc["status"]  # not yet
    done = data(await mcp_client.call_tool("incident_close", {**args, "confirm": True}))
    assert done["changed"] is True and done["incident"]["status"] == "Closed"
    truth = client.incidents.get(rg, ws, inc["id"]).properties
    assert truth.status == "Closed" and truth.classification == "BenignPositive"
    assert truth.classification_reason == "SuspiciousButExpected"  # the only reason that fits, filled in
    assert truth.classification_comment == args["comment"]
    outcomes = [e["outcome"] for e in _audit(sentinelkit_env) if e["tool"] == "incident_close"]
    assert outcomes == ["preview", "applied"]


async def test_close_asks_through_elicitation(make_server, sdk) -> None:
    asked: list[str] = []

    async def accept(message, response_type, params, context):
        asked.append(message)
        return {"confirm": True}

    async with Client(make_server(), elicitation_handler=accept) as client:
        inc = await _open_incident(client, status="New")
        done = data(await client.call_tool("incident_close", {
            "workspace": WS, "incident_id": inc["id"], "classification": "FalsePositive",
            "classification_reason": "IncorrectAlertLogic"}))
    assert done["changed"] is True
    assert len(asked) == 1 and f"incident {inc['number']}" in asked[0] and WS in asked[0]
    sdk_client, rg, ws = sdk(WS)
    truth = sdk_client.incidents.get(rg, ws, inc["id"]).properties
    assert (truth.status, truth.classification, truth.classification_reason) == (
        "Closed", "FalsePositive", "IncorrectAlertLogic")


async def test_bad_classification_lists_the_values(mcp_client) -> None:
    inc = await _open_incident(mcp_client)
    text = error(await mcp_client.call_tool("incident_close", {"workspace": WS, "incident_id": inc["id"],
                                                               "classification": "Benign"}, raise_on_error=False))
    for value in ("TruePositive", "BenignPositive", "FalsePositive", "Undetermined", "SuspiciousButExpected"):
        assert value in text
    text = error(await mcp_client.call_tool("incident_close", {
        "workspace": WS, "incident_id": inc["id"], "classification": "TruePositive",
        "classification_reason": "InaccurateData"}, raise_on_error=False))
    assert "InaccurateData" in text and "SuspiciousActivity" in text
    text = error(await mcp_client.call_tool("incident_update", {"workspace": WS, "incident_id": inc["id"],
                                                                "status": "Closed"}, raise_on_error=False))
    assert "incident_close" in text


async def test_assign_by_upn_by_object_id_and_unassign(mcp_client, sdk) -> None:
    inc = await _open_incident(mcp_client, status="New", owner="unassigned")
    client, rg, ws = sdk(WS)
    upn = "bob.lead@contoso-mssp.onmicrosoft.com"
    done = data(await mcp_client.call_tool("incident_assign", {"workspace": WS, "incident_id": inc["id"], "owner": upn}))
    assert done["incident"]["owner"] == upn and done["changes"]["owner"] == {"before": None, "after": upn}
    owner = client.incidents.get(rg, ws, inc["id"]).properties.owner
    assert owner.user_principal_name == upn and owner.object_id and owner.assigned_to
    carol = "carol.tier1@contoso-mssp.onmicrosoft.com"
    others = data(await mcp_client.call_tool("incident_list", {"workspace": WS, "owner": carol, "limit": 1,
                                                               "fields": ["owner_details"]}))
    carol_id = others["incidents"][0]["owner_details"]["objectId"]
    data(await mcp_client.call_tool("incident_assign", {"workspace": WS, "incident_id": inc["id"], "owner": carol_id}))
    assert client.incidents.get(rg, ws, inc["id"]).properties.owner.user_principal_name == carol
    data(await mcp_client.call_tool("incident_assign", {"workspace": WS, "incident_id": inc["id"], "owner": ""}))
    owner = client.incidents.get(rg, ws, inc["id"]).properties.owner
    assert owner is None or not (owner.object_id or owner.user_principal_name)
    text = error(await mcp_client.call_tool("incident_assign", {"workspace": WS, "incident_id": inc["id"],
                                                                "owner": "nobody.here@contoso-mssp.onmicrosoft.com"},
                                            raise_on_error=False))
    assert "nobody.here" in text and "object id" in text and WS in text
    text = error(await mcp_client.call_tool("incident_assign", {"workspace": WS, "incident_id": inc["id"],
                                                                "owner": "Bob"}, raise_on_error=False))
    assert "UPN" in text


async def test_comment_add_is_retry_safe(mcp_client, sdk) -> None:
    inc = await _open_incident(mcp_client)
    client, rg, ws = sdk(WS)
    before = len(list(client.incident_comments.list(rg, ws, inc["id"])))
    args = {"workspace": WS, "incident_id": str(inc["number"]), "message": "Contacted the user; password reset."}
    first = data(await mcp_client.call_tool("incident_comment_add", args))
    again = data(await mcp_client.call_tool("incident_comment_add", args))  # a client retrying the same call
    assert first["added"] is True and again["added"] is False and first["comment_id"] == again["comment_id"]
    comments = list(client.incident_comments.list(rg, ws, inc["id"]))
    assert len(comments) == before + 1
    assert any(c.name == first["comment_id"] and c.properties.message == args["message"] for c in comments)
    listed = data(await mcp_client.call_tool("incident_comment_list", {"workspace": WS, "incident_id": inc["id"],
                                                                       "limit": 50}))
    assert listed["comments"][-1]["message"] == args["message"]
    got = data(await mcp_client.call_tool("incident_get", {"workspace": WS, "incident_id": inc["id"]}))
    assert got["incident"]["comments"] == before + 1


async def test_a_concurrent_change_is_reported_not_overwritten(mcp_client, sdk) -> None:
    from azure.mgmt.securityinsight import models as m

    inc = await _open_incident(mcp_client)
    got = data(await mcp_client.call_tool("incident_get", {"workspace": WS, "incident_id": inc["id"]}))
    client, rg, ws = sdk(WS)
    current = client.incidents.get(rg, ws, inc["id"])
    current.properties.severity = "High" if inc["severity"] != "High" else "Low"
    current.properties.title = "Changed by another analyst"
    client.incidents.create_or_update(rg, ws, inc["id"], m.Incident(etag=current.etag, properties=current.properties))
    text = error(await mcp_client.call_tool("incident_update", {
        "workspace": WS, "incident_id": inc["id"], "labels_add": ["mine"], "etag": got["incident"]["etag"]},
        raise_on_error=False))
    assert f"incident {inc['number']}" in text and WS in text and "nothing was written" in text
    assert "Changed by another analyst" in text and current.properties.severity in text
    truth = client.incidents.get(rg, ws, inc["id"]).properties
    assert "mine" not in {label.label_name for label in truth.labels or []}
    assert truth.title == "Changed by another analyst"


async def test_forbidden_write_names_incident_workspace_and_role(make_server, emulator, monkeypatch, sdk) -> None:
    reader = emulator.principal("sentinelkit-reader")
    monkeypatch.setenv("AZURE_CLIENT_ID", reader["client_id"])
    monkeypatch.setenv("AZURE_CLIENT_SECRET", reader["client_secret"])
    async with Client(make_server()) as client:
        inc = await _open_incident(client)  # reading works for a Reader
        result = await client.call_tool("incident_update", {"workspace": WS, "incident_id": inc["id"],
                                                            "severity": "Informational"}, raise_on_error=False)
    text = error(result)
    assert "403" in text and f"incident {inc['number']}" in text and WS in text and "northwind" in text
    assert "Sentinel Contributor" in text and reader["client_secret"] not in text
    sdk_client, rg, ws = sdk(WS)
    assert sdk_client.incidents.get(rg, ws, inc["id"]).properties.severity == inc["severity"]


async def test_read_only_mode_hides_and_refuses_writes(make_server) -> None:
    async with Client(make_server(read_only=True)) as client:
        names = {t.name for t in await client.list_tools()}
        refused = await client.call_tool("incident_close", {"workspace": WS, "incident_id": "1",
                                                            "classification": "Undetermined"}, raise_on_error=False)
    assert {"incident_list", "incident_get", "incident_comment_list", "incident_alert_list",
            "incident_entity_list"} <= names
    assert not names & {"incident_update", "incident_close", "incident_assign", "incident_comment_add",
                        "incident_bulk_update"}
    assert "read-only mode" in error(refused)


async def test_a_new_list_shows_changes_made_elsewhere_at_once(mcp_client, sdk) -> None:
    """A first page is read from Sentinel, not from the read cache: an analyst sees others' changes."""
    from azure.mgmt.securityinsight import models as m

    inc = await _open_incident(mcp_client)
    client, rg, ws = sdk(WS)
    current = client.incidents.get(rg, ws, inc["id"])
    current.properties.title = "Renamed in the portal"
    client.incidents.create_or_update(rg, ws, inc["id"], m.Incident(etag=current.etag, properties=current.properties))
    again = await _open_incident(mcp_client, title="Renamed in the portal")
    assert again["id"] == inc["id"]
    listed = data(await mcp_client.call_tool("incident_list", {"workspace": WS, "status": "Active", "limit": 1,
                                                              "fields": ["id", "title"]}))
    assert listed["incidents"][0] == {"id": inc["id"], "title": "Renamed in the portal"}


async def test_answers_stay_within_the_size_budget(mcp_client) -> None:
    from sentinelkit.outputs import DEFAULT_BUDGET

    inc = await _open_incident(mcp_client)
    long_text = "Timeline of the investigation. " * 400  # ~12,000 characters
    updated = data(await mcp_client.call_tool("incident_update", {"workspace": WS, "incident_id": inc["id"],
                                                                  "description": long_text}))
    assert len(json.dumps(updated)) < DEFAULT_BUDGET and "[truncated: " in updated["changes"]["description"]["after"]
    got = data(await mcp_client.call_tool("incident_get", {"workspace": WS, "incident_id": inc["id"]}))
    assert len(json.dumps(got)) < DEFAULT_BUDGET
    assert got["incident"]["description"].endswith(f"[truncated: {len(long_text)} characters]")
    page = data(await mcp_client.call_tool("incident_list", {"workspaces": "all", "fields": ["*"], "limit": 1000}))
    assert len(json.dumps(page)) < DEFAULT_BUDGET and page["next_cursor"] and "size budget" in page["truncated"]
