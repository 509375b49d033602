"""The real `sentinelkit serve` process over stdio, driven by the mcp SDK client (2025-11-25 handshake,
ctx.elicit confirmation), with the emulator over HTTPS and real azure-identity credentials."""

from __future__ import annotations

from typing import Any

import mcp.types as t
from sentinelkit_devkit.process import result_json as _json
from sentinelkit_devkit.process import stdio_session as serve


async def test_serve_lists_the_pack_and_finds_the_planted_gaps(sentinelkit_env, monitor) -> None:
    async with serve(sentinelkit_env) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        status = _json(await session.call_tool("dcr_status", {"tenant": "tailspin"}))
        rules = _json(await session.call_tool("dcr_list", {"workspace": "law-fabrikam-prod", "fields": ["name"]}))
    assert tools["dcr_status"].annotations.read_only_hint is True
    assert tools["dcr_delete"].annotations.destructive_hint is True
    assert "confirm" in tools["dcr_delete"].input_schema["properties"]
    assert [(p["type"], p["rule"], p["table"]) for p in status["problems"]] == [
        ("table_stopped", "dcr-tailspin-syslog", "Syslog")]
    sdk = sorted(r.name for r in monitor("fabrikam").data_collection_rules.list_by_resource_group("rg-sentinel")
                 if "law-fabrikam-prod" in r.destinations.log_analytics[0].workspace_resource_id)
    assert [r["name"] for r in rules["rules"]] == sdk


async def test_serve_read_only_hides_every_dcr_write(sentinelkit_env) -> None:
    async with serve(sentinelkit_env, "--read-only") as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
    assert {"dcr_list", "dcr_get", "dcr_status", "dcr_export", "dce_list", "dce_get", "dcr_association_list"} <= names
    assert not names & {"dcr_create", "dcr_update", "dcr_delete", "dcr_stream_add", "dcr_stream_remove",
                        "dce_create", "dce_delete", "dcr_association_create", "dcr_association_delete"}


async def test_serve_deletes_an_endpoint_only_after_the_user_confirms(sentinelkit_env, monitor, restore) -> None:
    asked: list[str] = []

    async def elicit(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        asked.append(params.message)
        return t.ElicitResult(action="accept", content={"value": True})

    async with serve(sentinelkit_env, elicit=elicit) as session:
        done = _json(await session.call_tool("dce_delete", {"workspace": "law-northwind",
                                                             "endpoint": "dce-northwind-legacy"}))
    assert done["deleted"] == "dce-northwind-legacy"
    assert len(asked) == 1 and "dce-northwind-legacy" in asked[0]
    assert {e.name for e in monitor("northwind").data_collection_endpoints.list_by_subscription()} == {"dce-northwind"}
