"""incident_bulk_update: preview (count + sample), confirmation, per-incident outcomes, across
workspaces and tenants; cross-checked with azure-mgmt-securityinsight."""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp import Client
from incidents_testkit import data, error, every_row

pytestmark = pytest.mark.usefixtures("restore")
#: the chore from the issue, sized to this scenario's 30 days of incidents
CHORE = {"workspaces": "all", "status": ["New", "Active"], "severity": ["Informational", "Low"],
         "created_before": "P10D"}
CLOSE = {"close_classification": "BenignPositive", "close_comment": "Bulk clean-up of stale low-value incidents"}


async def _matching(client: Any) -> list[dict[str, Any]]:
    return await every_row(client, "incident_list", {**CHORE, "limit": 200,
                                                     "fields": ["id", "number", "workspace", "tenant", "status"]})


async def test_bulk_close_previews_then_applies_across_tenants(mcp_client, sdk) -> None:
    expected = await _matching(mcp_client)
    assert len(expected) >= 5 and len({r["tenant"] for r in expected}) >= 3
    preview = data(await mcp_client.call_tool("incident_bulk_update", {**CHORE, **CLOSE}))
    assert preview["confirmation_required"] is True
    shown = preview["would_change"]["changes"]
    assert shown["count"] == len(expected)
    assert sum(shown["per_workspace"].values()) == len(expected)
    assert 0 < len(shown["sample"]) <= 10 and all(s["status"] in ("New", "Active") for s in shown["sample"])
    assert f"{len(expected)} incident(s)" in preview["would_change"]["summary"]
    one = expected[0]
    client, rg, ws = sdk(one["workspace"])
    assert client.incidents.get(rg, ws, one["id"]).properties.status == one["status"]  # previews change nothing

    done = data(await mcp_client.call_tool("incident_bulk_update", {**CHORE, **CLOSE, "confirm": True,
                                                                    "expected_count": len(expected)}))
    assert done["matched"] == len(expected) and done["applied"] == len(expected) and done["failed"] == 0
    assert sum(len(v) for v in done["applied_incidents"].values()) == len(expected)
    for row in expected:
        client, rg, ws = sdk(row["workspace"])
        truth = client.incidents.get(rg, ws, row["id"]).properties
        assert (truth.status, truth.classification, truth.classification_reason) == (
            "Closed", "BenignPositive", "SuspiciousButExpected"), row
    assert await _matching(mcp_client) == []


async def test_expected_count_guards_a_changed_set(mcp_client, sdk) -> None:
    expected = await _matching(mcp_client)
    text = error(await mcp_client.call_tool("incident_bulk_update", {**CHORE, **CLOSE, "confirm": True,
                                                                     "expected_count": len(expected) + 1},
                                            raise_on_error=False))
    assert "nothing was changed" in text and str(len(expected)) in text
    client, rg, ws = sdk(expected[0]["workspace"])
    assert client.incidents.get(rg, ws, expected[0]["id"]).properties.status != "Closed"


async def test_bulk_assign_and_label_in_one_tenant_with_elicitation(make_server, sdk) -> None:
    async def accept(message, response_type, params, context):
        assert "incident(s)" in message
        return {"confirm": True}

    upn = "carol.tier1@contoso-mssp.onmicrosoft.com"
    async with Client(make_server(), elicitation_handler=accept) as client:
        result = data(await client.call_tool("incident_bulk_update", {
            "tenant": "fabrikam", "severity": "High", "status": "New", "owner": "unassigned",
            "created_before": "P7D", "set_owner": upn, "set_status": "Active", "labels_add": ["backlog-sweep"]}))
        assert result["matched"] == 12 and result["applied"] == 12  # the planted backlog
        assert list(result["applied_incidents"]) == ["law-fabrikam-prod"]
        left = data(await client.call_tool("incident_list", {"tenant": "fabrikam", "severity": "High", "status": "New",
                                                             "owner": "unassigned", "created_before": "P7D"}))
        assert left["total"] == 0
        mine = await every_row(client, "incident_list", {"workspace": "law-fabrikam-prod", "labels": "backlog-sweep",
                                                         "fields": ["id", "owner", "status"]})
    assert len(mine) == 12 and all(r["owner"] == upn and r["status"] == "Active" for r in mine)
    sdk_client, rg, ws = sdk("law-fabrikam-prod")
    truth = sdk_client.incidents.get(rg, ws, mine[0]["id"]).properties
    assert truth.owner.user_principal_name == upn and truth.status == "Active"


async def test_bulk_refuses_without_filter_and_above_the_limit(mcp_client) -> None:
    text = error(await mcp_client.call_tool("incident_bulk_update", {"workspaces": "all", **CLOSE},
                                            raise_on_error=False))
    assert "at least one filter" in text
    text = error(await mcp_client.call_tool("incident_bulk_update", {"workspaces": "all", "status": "Closed",
                                                                     "set_severity": "Low", "max_incidents": 20},
                                            raise_on_error=False))
    assert "more than 20" in text and "nothing was changed" in text


async def test_bulk_dry_run_and_nothing_to_do(mcp_client) -> None:
    dry = data(await mcp_client.call_tool("incident_bulk_update", {**CHORE, **CLOSE, "dry_run": True}))
    assert dry["dry_run"] is True and dry["would_change"]["changes"]["count"] >= 5
    closed = data(await mcp_client.call_tool("incident_bulk_update", {
        "workspace": "law-tailspin", "status": "Closed", "severity": "High", "labels_remove": ["never-used-label"]}))
    assert closed["to_change"] == 0 and "nothing was written" in closed["message"]


async def test_bulk_whose_writes_all_fail_is_audited_as_failed(mcp_client, emulator, sentinelkit_env) -> None:
    """A Reader-like 403 on every incident PUT: the answer lists the failures and the audit says failed."""
    import json
    from pathlib import Path

    args = {"workspace": "law-northwind", "severity": "Low", "set_severity": "Medium", "confirm": True}
    emulator.add_fault(match={"method": "PUT", "path": "/incidents/[^/]+$", "tenant": "northwind"}, status=403,
                       message="The client does not have authorization to perform action "
                               "'Microsoft.SecurityInsights/incidents/write'.")
    try:
        done = data(await mcp_client.call_tool("incident_bulk_update", args))
    finally:
        emulator.clear_faults()
    assert done["applied"] == 0 and done["failed"] > 0
    audit = [json.loads(line) for line in Path(sentinelkit_env["SENTINELKIT_AUDIT_LOG"]).read_text().splitlines()]
    entry = audit[-1]
    assert entry["tool"] == "incident_bulk_update" and entry["outcome"] == "failed"
    assert f"{done['failed']} of {done['failed']} incidents not changed" in entry["error"]
