"""What packs get from the core beyond tools: start-up warnings, Azure's own error details, unique
fan-out keys for same-named workspaces, path-based cache invalidation, partial query results — each
through the real path (the `sentinelkit` command, or a fastmcp client against the emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastmcp import Client
from sentinelkit_devkit.process import cli_json, run_cli

from sentinelkit import ADDITIVE, READ_ONLY, hookimpl, tool
from sentinelkit.azure import api_versions as v

DCR_API = "2024-03-11"


@tool(ADDITIVE)
async def probe_put(kit: Any, workspace: str, path: str, api_version: str, body: dict[str, Any]) -> dict[str, Any]:
    """PUT an ARM resource with the credential that reaches a workspace (a test probe).

    Args:
        workspace: The workspace whose credential is used.
        path: ARM path of the resource.
        api_version: api-version.
        body: The resource body.
    """
    ws = await kit.workspace(workspace)
    await kit.confirm_change(f"put {path}", body)
    return await kit.arm(ws).put(path, api_version, body, where=ws.where(path, "create")) or {}


@tool(READ_ONLY)
async def probe_list(kit: Any, workspace: str, path: str, api_version: str) -> dict[str, Any]:
    """List an ARM collection (cached reads) with the credential that reaches a workspace (a test probe).

    Args:
        workspace: The workspace whose credential is used.
        path: ARM path of the collection.
        api_version: api-version.
    """
    ws = await kit.workspace(workspace)
    return {"names": [item["name"] for item in await kit.arm(ws).list(path, api_version)]}


@tool(READ_ONLY)
async def probe_query(kit: Any, workspace: str, kql: str) -> dict[str, Any]:
    """Run KQL in a workspace and say how many rows came back, and whether the answer was partial.

    Args:
        workspace: Workspace alias, name or ARM id.
        kql: The query.
    """
    rows = await kit.query(await kit.workspace(workspace), kql, timespan=None)
    return {"rows": len(rows), "partial_error": rows.partial_error}


class Probe:
    @hookimpl
    def register_tools(self, register: Any) -> None:
        for fn in (probe_put, probe_list, probe_query):
            register(fn)


@pytest.fixture
def restore(emulator: Any) -> Iterator[None]:
    """These tests change the session emulator: put its scenario back afterwards."""
    yield
    emulator.reset()


def data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content  # type: ignore[no-any-return]


# -- 1. start-up warnings -------------------------------------------------------------------------
def test_a_packs_start_up_warning_is_shown_by_sentinelkit_packs(sample_packs, tmp_path) -> None:
    env = {"SAMPLE_PACK_TOOL_PATH": str(tmp_path / "no-such-tool")}
    packs = {p["name"]: p for p in cli_json("packs", "--json", env=env)["packs"]}
    sample = packs["sample"]
    assert sample["loaded"] and sample["error"] is None and "sample_query_run" in sample["tools"]
    assert sample["warnings"] == [f"the sample tool {tmp_path / 'no-such-tool'} was not found: sample_query_run "
                                  "will fail; install it or fix SAMPLE_PACK_TOOL_PATH"]
    assert packs["core"]["warnings"] == []
    text = run_cli("packs", env=env).stdout
    assert f"    warning: the sample tool {tmp_path / 'no-such-tool'} was not found" in text
    quiet = {p["name"]: p for p in cli_json("packs", "--json")["packs"]}
    assert quiet["sample"]["warnings"] == []


# -- 2. Azure's error details ---------------------------------------------------------------------
async def test_arm_error_details_reach_the_client(make_server) -> None:
    async with Client(make_server(plugins={"probe": Probe()})) as client:
        ws = data(await client.call_tool("workspace_get", {"workspace": "law-tailspin"}))
        path = (f"/subscriptions/{ws['subscription_id']}/resourceGroups/{ws['resource_group']}/providers/"
                "Microsoft.Insights/dataCollectionRules/dcr-probe")
        result = await client.call_tool("probe_put", {"workspace": "law-tailspin", "path": path,
                                                      "api_version": DCR_API,
                                                      "body": {"location": "westeurope", "kind": "Bogus",
                                                               "properties": {}}}, raise_on_error=False)
    text = result.content[0].text
    assert result.is_error and "HTTP 400" in text and "InvalidPayload" in text
    assert "InvalidKind: Kind 'Bogus' is not supported." in text and "[kind]" in text


# -- 3. and 4. same-named workspaces in two tenants; a write refreshes subscription-wide lists ----
async def test_same_named_workspaces_of_two_tenants_keep_their_own_results(sample_packs, make_server,
                                                                           restore) -> None:
    async with Client(make_server(plugins={"probe": Probe()})) as client:
        fab = data(await client.call_tool("workspace_get", {"workspace": "law-fabrikam-prod"}))
        sub = f"/subscriptions/{fab['subscription_id']}"
        listing = {"workspace": "law-fabrikam-prod", "path": f"{sub}/providers/Microsoft.OperationalInsights/workspaces",
                   "api_version": v.WORKSPACES}
        before = data(await client.call_tool("probe_list", listing))["names"]  # cached from now on
        assert "law-contoso-soc" not in before
        # the MSSP principal creates a workspace named like its own SOC workspace in the customer's tenant
        path = f"{sub}/resourceGroups/{fab['resource_group']}/providers/Microsoft.OperationalInsights/workspaces/law-contoso-soc"
        data(await client.call_tool("probe_put", {"workspace": "law-fabrikam-prod", "path": path,
                                                  "api_version": v.WORKSPACES,
                                                  "body": {"location": fab["location"] or "westeurope",
                                                           "properties": {"sku": {"name": "PerGB2018"}}}}))
        data(await client.call_tool("probe_put", {
            "workspace": "law-fabrikam-prod", "path": f"{path}/providers/Microsoft.SecurityInsights/onboardingStates/default",
            "api_version": v.SENTINEL, "body": {"properties": {}}}))
        after = data(await client.call_tool("probe_list", listing))["names"]
        assert "law-contoso-soc" in after  # the write invalidated the subscription-wide list

        listed = data(await client.call_tool("workspace_list", {"refresh": True}))["workspaces"]
        labels = sorted(w["label"] for w in listed if w["name"] == "law-contoso-soc")
        assert len(labels) == 2 and "fabrikam/law-contoso-soc" in labels
        mssp_label = next(label for label in labels if label != "fabrikam/law-contoso-soc")
        assert mssp_label.endswith("/law-contoso-soc")

        counted = data(await client.call_tool("sample_sentinel_count", {}))
        assert counted["summary"] == {"workspaces": 6, "succeeded": 6, "failed": 0}
        assert set(labels) <= set(counted["results"]) and "law-fabrikam-prod" in counted["results"]

        got = data(await client.call_tool("workspace_get", {"workspace": "fabrikam/law-contoso-soc"}))
        assert got["id"].lower() == path.lower()
        ambiguous = await client.call_tool("workspace_get", {"workspace": "law-contoso-soc"}, raise_on_error=False)
        assert ambiguous.is_error and "ambiguous" in ambiguous.content[0].text
        assert "'fabrikam/law-contoso-soc'" in ambiguous.content[0].text


# -- 4. the cache, by path -------------------------------------------------------------------------
def test_cache_invalidation_compares_arm_paths_whatever_the_endpoint() -> None:
    from sentinelkit.azure.cache import TtlCache, cache_key

    cache = TtlCache(300)
    sub = "/subscriptions/s1"
    rule = f"{sub}/resourceGroups/rg/providers/Microsoft.Insights/dataCollectionRules/r1"
    vm = f"{sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
    reads = {
        "rule": cache_key(f"https://management.example{rule}?api-version=1"),
        "rule_assocs": cache_key(f"https://management.example{rule}/associations?api-version=1") + "#max=None",
        "sub_rules": cache_key(f"{sub}/providers/Microsoft.Insights/dataCollectionRules?api-version=1") + "#max=None",
        "vm": cache_key(f"{vm}?api-version=1"),
        "other_sub": cache_key("/subscriptions/s2/providers/Microsoft.Insights/dataCollectionRules?api-version=1"),
    }
    for key in reads.values():
        cache.put("default", key, 1)
    assert cache.invalidate(f"https://management.example{rule}") == 2  # the rule and what hangs under it
    assert cache.get("default", reads["sub_rules"]) == 1
    for key in reads.values():
        cache.put("default", key, 1)
    # a write of an association under the machine: the rule's associations and the subscription's lists
    cache.invalidate_write(f"{vm}/providers/Microsoft.Insights/dataCollectionRuleAssociations/a1")
    assert {name for name, key in reads.items() if cache.get("default", key) is None} == {
        "rule", "rule_assocs", "sub_rules", "vm"}
    assert cache.get("default", reads["other_sub"]) == 1


# -- 6. partial results -----------------------------------------------------------------------------
async def test_a_partial_query_result_is_surfaced(make_server) -> None:
    async with Client(make_server(plugins={"probe": Probe()})) as client:
        complete = data(await client.call_tool("probe_query", {"workspace": "law-tailspin",
                                                               "kql": "range x from 1 to 10 step 1"}))
        cut = data(await client.call_tool("probe_query", {"workspace": "law-tailspin",
                                                          "kql": "range x from 1 to 500001 step 1"}))
    assert complete == {"rows": 10, "partial_error": None}
    assert cut["rows"] == 500_000
    assert "partial result" in cut["partial_error"] and "PartialError" in cut["partial_error"]
    assert "E_QUERY_RESULT_SET_TOO_LARGE" in cut["partial_error"] and "law-tailspin" in cut["partial_error"]


def test_replace_references_matches_whole_names_only() -> None:
    from sentinelkit import replace_references

    ws = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law-a"
    value = {"ids": [ws.lower() + "/tables/SecurityEvent", ws + "b", f"workspace('{ws}')"],
             "customer": "11111111-2222-3333-4444-555555555555", "longer": "a11111111-2222-3333-4444-555555555555"}
    out = replace_references(value, {ws: "/T", "11111111-2222-3333-4444-555555555555": "C"})
    assert out == {"ids": ["/T/tables/SecurityEvent", ws + "b", "workspace('/T')"], "customer": "C",
                   "longer": "a11111111-2222-3333-4444-555555555555"}
