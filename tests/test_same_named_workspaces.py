"""Targets and fan-out as data: two tenants with a workspace of the same name (common at an MSSP) are
two workspaces in every fan-out tool of every pack — each with its own results, none mistaken for the
other. Set up with Microsoft's SDKs against the emulator, checked through a real MCP client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastmcp import Client

TWIN = "law-northwind"  # northwind's workspace name, created again in fabrikam's subscription
LABELS = {"fabrikam/law-northwind", "northwind/law-northwind"}


@pytest.fixture
def twin(emulator: Any) -> Iterator[str]:
    """Create a Sentinel workspace named like northwind's in fabrikam's tenant; the scenario afterwards."""
    from azure.identity import ClientSecretCredential
    from azure.mgmt.loganalytics import LogAnalyticsManagementClient
    from azure.mgmt.loganalytics.models import Workspace
    from azure.mgmt.securityinsight import SecurityInsightsMgmtClient

    info = emulator.info
    mssp = emulator.tenant(info["managing_tenant_id"])
    cred = ClientSecretCredential(mssp["id"], mssp["client_id"], mssp["client_secret"], authority=info["authority_url"],
                                  connection_verify=info["ca_path"], disable_instance_discovery=True)
    sub = emulator.tenant("fabrikam")["subscriptions"][0]["id"]
    common = {"base_url": info["arm_url"], "connection_verify": info["ca_path"],
              "credential_scopes": ["https://management.azure.com/.default"]}
    la = LogAnalyticsManagementClient(cred, sub, **common)
    created = la.workspaces.begin_create_or_update("rg-sentinel", TWIN, Workspace(location="westeurope")).result()
    si = SecurityInsightsMgmtClient(cred, sub, **common)
    si.sentinel_onboarding_states.create("rg-sentinel", TWIN, "default", {"properties": {}})
    la.close()
    si.close()
    try:
        yield str(created.id)
    finally:
        emulator.reset()


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return result.structured_content  # type: ignore[no-any-return]


async def test_every_fan_out_tool_keeps_same_named_workspaces_apart(make_server, twin) -> None:
    async with Client(make_server()) as client:
        before = ok(await client.call_tool("sentinel_health_check", {"tenant_scope": "northwind", "refresh": True}))
        northwind_before = before["workspaces"][0]
        listed = ok(await client.call_tool("workspace_list", {"refresh": True}))
        assert {w.get("label") for w in listed["workspaces"] if w["name"] == TWIN} == LABELS

        incidents = ok(await client.call_tool("incident_list", {"workspaces": "all", "limit": 100,
                                                                 "fields": ["workspace", "tenant"]}))
        assert "errors" not in incidents and incidents["workspaces"] == 6
        assert {(r["workspace"], r["tenant"]) for r in incidents["incidents"] if "law-northwind" in r["workspace"]} == {
            ("northwind/law-northwind", "northwind")}  # northwind's incidents are northwind's; the twin has none

        logs = ok(await client.call_tool("logs_query", {"query": "SecurityIncident | summarize n = count()",
                                                         "workspaces": "all", "timespan": "P30D"}))
        assert "errors" not in logs, logs.get("errors")
        counts = {r["Workspace"]: r["n"] for r in logs["rows"]}
        assert set(counts) >= LABELS and counts["fabrikam/law-northwind"] == 0 and counts["northwind/law-northwind"] > 0

        rules = ok(await client.call_tool("dcr_list", {"workspaces": "all", "limit": 100}))
        assert "errors" not in rules and rules["workspaces"] == 7

        status = ok(await client.call_tool("dcr_status", {"workspaces": "all"}))
        assert "errors" not in status and LABELS <= set(status["workspaces"])
        assert status["workspaces"]["fabrikam/law-northwind"]["rules"] == 0
        assert status["workspaces"]["northwind/law-northwind"]["rules"] > 0

        health = ok(await client.call_tool("sentinel_health_check", {"tenant_scope": "all", "refresh": True,
                                                                      "limit": 100}))
        by_label = {w["workspace"]: w for w in health["workspaces"]}
        assert LABELS <= set(by_label)
        northwind_now = by_label["northwind/law-northwind"]
        assert northwind_now["status"] == northwind_before["status"]
        assert sorted(f["title"] for f in northwind_now["findings"]) == sorted(
            f["title"] for f in northwind_before["findings"])
        assert not any(f["check"] == "access" for f in by_label["fabrikam/law-northwind"]["findings"])
