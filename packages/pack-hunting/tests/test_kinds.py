"""The content kinds ``watchlist`` and ``saved_search``: list, read, a stable normal form, create and update
(with etags), delete, the same object in two workspaces, and workspace references rewritten."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastmcp import Client

from sentinelkit import ADDITIVE, READ_ONLY, ContentKind, Kit, KitError, hookimpl, tool

pytestmark = pytest.mark.usefixtures("restore")
RESULT: dict[str, Any] = {}


def _kind(kit: Kit, name: str) -> ContentKind:
    return kit.content_kinds()[name]


@tool(READ_ONLY)
async def kinds_probe(kit: Kit, kind: str, workspace: str, identity: str) -> dict[str, Any]:
    """Read through a content kind (test helper).

    Args:
        kind: Content kind name.
        workspace: Workspace.
        identity: Object identity.
    """
    ws = await kit.workspace(workspace)
    k = _kind(kit, kind)
    listed = await k.list(kit, ws)
    one = await k.read(kit, ws, identity)
    again = await k.read(kit, ws, identity)
    RESULT.update(listed=listed, one=one, same=k.normalize(one or {}) == k.normalize(again or {}),
                  normalized=k.normalize(one or {}), identities=[k.identity(o) for o in listed])
    return {"ok": True}


@tool(ADDITIVE)
async def kinds_copy(kit: Kit, kind: str, source: str, target: str, identity: str, drop: bool = False) -> dict[str, Any]:
    """Copy one object to another workspace through a content kind, then (drop) delete it (test helper).

    Args:
        kind: Content kind name.
        source: Source workspace.
        target: Target workspace.
        identity: Object identity.
        drop: Delete the copy afterwards.
    """
    src, dst = await kit.workspace(source), await kit.workspace(target)
    k = _kind(kit, kind)
    obj = await k.read(kit, src, identity)
    if obj is None:
        raise KitError("missing")
    portable = k.rewrite(k.normalize(obj), src, dst)
    await kit.confirm_change("copy", {"identity": identity})
    existing = await k.read(kit, dst, identity)
    written = await k.write(kit, dst, portable, existing=existing)
    RESULT.update(written=written, portable=portable, existing=existing)
    if drop:
        await k.delete(kit, dst, written)
        RESULT["after_delete"] = await k.read(kit, dst, identity)
    return {"ok": True}


class Probe:
    @hookimpl
    def register_tools(self, register: Any) -> None:
        register(kinds_probe)
        register(kinds_copy)


@pytest.fixture
async def probe(make_server: Any) -> AsyncIterator[Client]:
    async with Client(make_server(plugins={"kinds-probe": Probe()})) as c:
        yield c


async def test_watchlist_kind_reads_stably_and_copies_with_items(probe, si) -> None:
    await probe.call_tool("kinds_probe", {"kind": "watchlist", "workspace": "law-tailspin", "identity": "VIPUsers"})
    assert "VIPUsers" in RESULT["identities"] and RESULT["same"] is True
    normalized = RESULT["normalized"]
    assert "etag" not in normalized and "watchlistId" not in normalized["properties"]
    assert len(normalized["items"]) == 6
    await probe.call_tool("kinds_copy", {"kind": "watchlist", "source": "law-tailspin", "target": "law-northwind",
                                         "identity": "VIPUsers"})
    client, rg, ws = si("law-northwind")
    copied = {i.properties.items_key_value["UserPrincipalName"] for i in client.watchlist_items.list(rg, ws, "VIPUsers")}
    assert copied == {r["UserPrincipalName"] for r in normalized["items"]}
    # the same object in two workspaces normalizes the same; an update with the etag changes items in place
    await probe.call_tool("kinds_probe", {"kind": "watchlist", "workspace": "law-northwind", "identity": "VIPUsers"})
    assert RESULT["normalized"]["items"] == normalized["items"]
    client.watchlist_items.delete(rg, ws, "VIPUsers", next(iter(client.watchlist_items.list(rg, ws, "VIPUsers"))).name)
    await probe.call_tool("kinds_copy", {"kind": "watchlist", "source": "law-tailspin", "target": "law-northwind",
                                         "identity": "VIPUsers", "drop": True})
    assert RESULT["existing"] is not None and len(RESULT["written"]["items"]) == 6
    assert RESULT["after_delete"] is None


async def test_saved_search_kind_identity_update_and_rewrite(probe, la, emulator) -> None:
    identity = "function:FailedSignins"
    await probe.call_tool("kinds_probe", {"kind": "saved_search", "workspace": "law-tailspin", "identity": identity})
    assert identity in RESULT["identities"] and "Hunting Queries/Sign-ins from a new country" in RESULT["identities"]
    assert RESULT["same"] is True and "name" not in RESULT["normalized"] and "etag" not in RESULT["normalized"]
    # the function exists in law-northwind too (another GUID name there): the copy updates it with its etag
    await probe.call_tool("kinds_copy", {"kind": "saved_search", "source": "law-tailspin", "target": "law-northwind",
                                         "identity": identity})
    assert RESULT["existing"] is not None and RESULT["written"]["name"] == RESULT["existing"]["name"]
    assert RESULT["written"]["etag"] != RESULT["existing"]["etag"]
    # references to the source workspace are rewritten
    client, rg, ws = la("law-tailspin")
    from azure.mgmt.loganalytics.models import SavedSearch

    src_id = next(w["id"] for w in emulator.info["workspaces"] if w["name"] == "law-tailspin")
    dst_id = next(w["id"] for w in emulator.info["workspaces"] if w["name"] == "law-northwind")
    client.saved_searches.create_or_update(rg, ws, "xws", SavedSearch(
        category="Cross", display_name="Other workspace", query=f"workspace('{src_id}').Heartbeat | take 1"))
    await probe.call_tool("kinds_copy", {"kind": "saved_search", "source": "law-tailspin", "target": "law-northwind",
                                         "identity": "Cross/Other workspace", "drop": True})
    assert dst_id in RESULT["portable"]["properties"]["query"] and src_id not in RESULT["portable"]["properties"]["query"]
    assert RESULT["existing"] is None and RESULT["after_delete"] is None
