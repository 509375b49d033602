"""The real ``sentinelkit serve`` process over stdio, driven by the mcp SDK client (2025-11-25 handshake,
confirmation through ctx.elicit), against the emulator over HTTPS."""

from __future__ import annotations

from typing import Any

import mcp.types as t
import pytest
from sentinelkit_devkit.process import result_json as _json
from sentinelkit_devkit.process import stdio_session as serve

pytestmark = pytest.mark.usefixtures("restore")
WS = "law-fabrikam-prod"


async def test_stdio_watchlist_lifecycle_and_a_hunt(sentinelkit_env, si) -> None:
    asked: list[str] = []

    async def elicit(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        asked.append(params.message)
        return t.ElicitResult(action="accept", content={"value": True})

    async with serve(sentinelkit_env, elicit=elicit) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        made = _json(await session.call_tool("watchlist_create", {
            "workspace": WS, "alias": "TorExits", "display_name": "Tor exit nodes", "search_key": "IP",
            "csv_text": "IP,Seen\n185.220.101.1,2026-11-01\n185.220.101.2,2026-11-02\n"}))
        added = _json(await session.call_tool("watchlist_item_add", {
            "workspace": WS, "alias": "TorExits", "rows": [{"IP": "185.220.101.3", "Seen": "2026-11-03"}]}))
        hunt = _json(await session.call_tool("hunting_run", {"query": "Sign-ins from a new country", "workspace": WS,
                                                             "rows_per_workspace": 1}))
        removed = _json(await session.call_tool("watchlist_delete", {"workspace": WS, "alias": "TorExits"}))
    assert tools["watchlist_delete"].annotations.destructive_hint is True
    assert tools["hunting_run"].annotations.read_only_hint is True
    assert made["items"] == 2 and added["counts"] == {"added": 1}
    assert hunt["queries"][0]["results"][WS]["rows"] > 0 and len(hunt["queries"][0]["results"][WS]["first_rows"]) == 1
    assert removed == {"deleted": "TorExits", "items": 3, "workspace": WS}
    assert len(asked) == 1 and "delete watchlist TorExits and its 3 items" in asked[0]
    client, rg, ws = si(WS)
    assert "TorExits" not in {w.name for w in client.watchlists.list(rg, ws)}
