"""workspace_list / workspace_get through a real MCP client, against the emulator over HTTPS."""

from __future__ import annotations

from pathlib import Path

import pytest


async def test_workspace_list_spans_managing_delegated_and_per_tenant(mcp_client, emulator) -> None:
    result = await mcp_client.call_tool("workspace_list", {})
    rows = {w["name"]: w for w in result.structured_content["workspaces"]}
    expected = {w["name"] for w in emulator.info["workspaces"]}
    assert set(rows) == expected
    assert rows["law-fabrikam-prod"]["tenant"] == "fabrikam"
    assert rows["law-fabrikam-prod"]["subscription"] == "Fabrikam Production"
    assert rows["law-fabrikam-prod"]["resource_group"] == "rg-sentinel"
    assert rows["law-fabrikam-ops"]["sentinel"] is False
    assert rows["law-woodgrove"]["sentinel"] is True  # reached only with its own tenant's credential
    by_name = {w["name"]: w for w in emulator.info["workspaces"]}
    assert rows["law-northwind"]["customer_id"] == by_name["law-northwind"]["customer_id"]


async def test_workspace_list_filters_by_tenant(mcp_client) -> None:
    result = await mcp_client.call_tool("workspace_list", {"tenant": "fabrikam"})
    names = sorted(w["name"] for w in result.structured_content["workspaces"])
    assert names == ["law-fabrikam-ops", "law-fabrikam-prod"]


async def test_unknown_tenant_lists_known_ones(mcp_client) -> None:
    result = await mcp_client.call_tool("workspace_list", {"tenant": "fabrikma"}, raise_on_error=False)
    assert result.is_error
    text = result.content[0].text
    assert "fabrikma" in text and "fabrikam" in text and "northwind" in text


async def test_lighthouse_workspace_is_reached_with_the_managing_credential(mcp_client) -> None:
    result = await mcp_client.call_tool("workspace_get", {"workspace": "law-northwind"})
    data = result.structured_content
    assert data["delegated"] is True and data["via"] == "default"
    assert "Lighthouse" in data["reached_with"]
    woodgrove = (await mcp_client.call_tool("workspace_get", {"workspace": "law-woodgrove"})).structured_content
    assert woodgrove["via"] == "woodgrove"


async def test_workspace_resolves_by_arm_id_and_customer_id(mcp_client, emulator) -> None:
    ws = next(w for w in emulator.info["workspaces"] if w["name"] == "law-tailspin")
    by_id = await mcp_client.call_tool("workspace_get", {"workspace": ws["id"].upper()})
    by_customer = await mcp_client.call_tool("workspace_get", {"workspace": ws["customer_id"]})
    assert by_id.structured_content["name"] == by_customer.structured_content["name"] == "law-tailspin"


async def test_unknown_workspace_suggests_closest_names(mcp_client) -> None:
    result = await mcp_client.call_tool("workspace_get", {"workspace": "law-fabrikam-prd"}, raise_on_error=False)
    assert result.is_error
    text = result.content[0].text
    assert "unknown workspace 'law-fabrikam-prd'" in text
    assert "law-fabrikam-prod" in text and "workspace_list" in text


async def test_aliases_from_configuration(make_server, emulator, tmp_path: Path) -> None:
    from fastmcp import Client

    from sentinelkit_emulator.clientconfig import sentinelkit_config

    ws = next(w for w in emulator.info["workspaces"] if w["name"] == "law-fabrikam-prod")
    config = tmp_path / "aliases.toml"
    config.write_text(sentinelkit_config(emulator.info) + f'\n[[workspaces]]\nalias = "fab"\nid = "{ws["id"]}"\n')
    async with Client(make_server(config=config)) as client:
        got = await client.call_tool("workspace_get", {"workspace": "fab"})
        listed = await client.call_tool("workspace_list", {"tenant": "fabrikam"})
    assert got.structured_content["name"] == "law-fabrikam-prod"
    aliases = {w["name"]: w["alias"] for w in listed.structured_content["workspaces"]}
    assert aliases["law-fabrikam-prod"] == "fab"


@pytest.mark.parametrize("tenant", ["woodgrove", "Woodgrove"])
async def test_tenant_filter_is_case_insensitive(mcp_client, tenant: str) -> None:
    result = await mcp_client.call_tool("workspace_list", {"tenant": tenant})
    assert [w["name"] for w in result.structured_content["workspaces"]] == ["law-woodgrove"]


async def test_kql_query_through_the_log_analytics_api_with_paging(sample_packs, make_server) -> None:
    from fastmcp import Client

    kql = "Heartbeat | summarize LastSeen = max(TimeGenerated) by Computer | order by Computer asc"
    async with Client(make_server()) as client:
        first = (await client.call_tool("sample_query_run", {"workspace": "law-northwind", "kql": kql,
                                                             "limit": 1})).structured_content
        assert first["workspace"] == "law-northwind" and first["count"] == 1 and first["total"] >= 2
        computers = [r["Computer"] for r in first["rows"]]
        second = (await client.call_tool("sample_query_run", {"workspace": "law-northwind", "kql": kql, "limit": 50,
                                                              "cursor": first["next_cursor"]})).structured_content
    computers += [r["Computer"] for r in second["rows"]]
    assert any(c.startswith("nw-dc-02") for c in computers) and len(computers) == first["total"]


async def test_bad_kql_reports_the_innermost_error_with_its_position(sample_packs, make_server) -> None:
    from fastmcp import Client

    async with Client(make_server()) as client:
        result = await client.call_tool("sample_query_run", {"workspace": "law-northwind",
                                                             "kql": "Heartbeat\n| summarize by "}, raise_on_error=False)
    text = result.content[0].text
    assert result.is_error and "400" in text and "law-northwind" in text
    assert "SYN0002" in text and "line 2" in text and "pos 15" in text
