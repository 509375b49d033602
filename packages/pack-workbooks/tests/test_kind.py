"""The ``workbook`` content kind as the backup pack uses it (through ``kit.content_kinds()`` inside tools of a
probe pack): list, read, stable normalize, identity across workspaces, rewrite of workspace references,
write (create, update with the etag), delete — cross-checked with azure-mgmt-applicationinsights."""

from __future__ import annotations

import json
import types
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fastmcp import Client
from workbooks_testkit import SEEDED, data, error, sdk_by_name, sdk_workbooks

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, ToolRegistrar, hookimpl, tool


@tool(READ_ONLY)
async def kindprobe_read(kit: Kit, workspace: str, identity: str) -> dict[str, Any]:
    """Read one workbook twice through the content kind, and list the workspace's.

    Args:
        workspace: Workspace.
        identity: Display name.
    """
    kind = kit.content_kinds()["workbook"]
    ws = await kit.workspace(workspace)
    first, second = await kind.read(kit, ws, identity), await kind.read(kit, ws, identity)
    return {"identities": sorted(kind.identity(o) for o in await kind.list(kit, ws)),
            "normalized": kind.normalize(first) if first else None,
            "again": kind.normalize(second) if second else None,
            "identity_of_normalized": kind.identity(kind.normalize(first)) if first else None,
            "summary": kind.summary(first) if first else None}


@tool(READ_ONLY)
async def kindprobe_rewrite(kit: Kit, source: str, target: str, identity: str) -> dict[str, Any]:
    """The source's workbook pointed at the target, beside the target's own (a drift check).

    Args:
        source: Source workspace.
        target: Target workspace.
        identity: Display name.
    """
    kind = kit.content_kinds()["workbook"]
    src, dst = await kit.workspace_details(await kit.workspace(source)), await kit.workspace_details(
        await kit.workspace(target))
    theirs = await kind.read(kit, dst, identity)
    ours = await kind.read(kit, src, identity)
    assert ours is not None
    return {"rewritten": kind.rewrite(kind.normalize(ours), src, dst),
            "target": kind.normalize(theirs) if theirs else None}


@tool(ADDITIVE)
async def kindprobe_restore(kit: Kit, source: str, target: str, identity: str, stale: bool = False) -> dict[str, Any]:
    """Restore a workbook of one workspace into another through the kind (create, or update with the etag).

    Args:
        source: Source workspace.
        target: Target workspace.
        identity: Display name.
        stale: Write twice with the same read of the target: the second write must be refused.
    """
    kind = kit.content_kinds()["workbook"]
    src, dst = await kit.workspace_details(await kit.workspace(source)), await kit.workspace_details(
        await kit.workspace(target))
    ours = await kind.read(kit, src, identity)
    assert ours is not None
    moved = kind.rewrite(kind.normalize(ours), src, dst)
    existing = await kind.read(kit, dst, identity)
    await kit.confirm_change(f"restore {identity} into {dst.label}", moved)
    saved = await kind.write(kit, dst, moved, existing=existing)
    out: dict[str, Any] = {"id": saved["name"], "created": existing is None}
    if stale:
        try:
            await kind.write(kit, dst, moved, existing=existing)
        except KitError as exc:
            out["stale"] = str(exc)
    return out


@tool(DESTRUCTIVE)
async def kindprobe_delete(kit: Kit, workspace: str, identity: str) -> dict[str, Any]:
    """Delete a workbook through the kind.

    Args:
        workspace: Workspace.
        identity: Display name.
    """
    kind = kit.content_kinds()["workbook"]
    ws = await kit.workspace(workspace)
    existing = await kind.read(kit, ws, identity)
    assert existing is not None
    await kit.confirm_change(f"delete {identity}", kind.summary(existing))
    await kind.delete(kit, ws, existing)
    return {"deleted": identity}


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    for fn in (kindprobe_read, kindprobe_rewrite, kindprobe_restore, kindprobe_delete):
        register(fn)


PROBE = types.SimpleNamespace(register_tools=register_tools, __name__="tests.kindprobe")


@pytest.fixture
async def probe(make_server: Callable[..., Any]) -> AsyncIterator[Callable[..., Any]]:
    async with Client(make_server(plugins={"kindprobe": PROBE})) as c:
        async def run(tool_name: str, **args: Any) -> Any:
            return await c.call_tool(tool_name, args, raise_on_error=False)

        yield run


async def test_list_read_and_normalize_are_stable(probe, insights) -> None:
    out = data(await probe("kindprobe_read", workspace="law-contoso-soc", identity="Azure Activity"))
    assert out["identities"] == sorted(SEEDED["law-contoso-soc"])
    assert out["normalized"] == out["again"] and out["identity_of_normalized"] == "Azure Activity"
    wb = sdk_by_name(insights, "law-contoso-soc", "Azure Activity")
    assert out["normalized"]["workbook"] == json.loads(wb.serialized_data)
    assert not {"id", "etag", "revision", "timeModified", "location", "systemData"} & set(out["normalized"])
    assert out["summary"] == {"name": "Azure Activity", "steps": 2, "template": "sentinel-AzureActivity"}


async def test_normalize_keeps_the_ids_inside_the_content(call, probe, restore) -> None:
    template = {"version": "Notebook/1.0", "items": [{"type": 9, "name": "parameters - 0", "content": {
        "version": "KqlParameterItem/1.0", "parameters": [
            {"id": "b0a7f5e4-3c1d-4c4e-9f55-2b0d5e1b7a10", "version": "KqlParameterItem/1.0", "name": "TimeRange",
             "type": 4, "value": {"durationMs": 86400000}}]}}]}
    data(await call("workbook_import", workspace="law-tailspin", workbook_json=json.dumps(template),
                    display_name="With parameters"))
    out = data(await probe("kindprobe_read", workspace="law-tailspin", identity="With parameters"))
    parameter = out["normalized"]["workbook"]["items"][0]["content"]["parameters"][0]
    assert parameter["id"] == "b0a7f5e4-3c1d-4c4e-9f55-2b0d5e1b7a10"


async def test_the_same_workbook_in_two_workspaces_has_no_drift_once_rewritten(probe, emulator) -> None:
    out = data(await probe("kindprobe_rewrite", source="law-tailspin", target="law-woodgrove", identity="Azure Activity"))
    assert out["rewritten"] == out["target"]
    assert out["rewritten"]["sourceId"] == emulator.workspace("law-woodgrove")["id"]
    assert out["rewritten"]["workbook"]["fallbackResourceIds"] == [emulator.workspace("law-woodgrove")["id"]]


async def test_write_creates_then_updates_with_the_etag_and_delete_removes(probe, insights, emulator,
                                                                          restore) -> None:
    created = data(await probe("kindprobe_restore", source="law-contoso-soc", target="law-northwind",
                               identity="Security Operations Efficiency"))
    wb = sdk_by_name(insights, "law-northwind", "Security Operations Efficiency")
    assert created["created"] is True and created["id"] == wb.name
    assert wb.source_id == emulator.workspace("law-northwind")["id"] and wb.location == "northeurope"
    source = sdk_by_name(insights, "law-contoso-soc", "Security Operations Efficiency")
    assert json.loads(wb.serialized_data)["items"] == json.loads(source.serialized_data)["items"]
    updated = data(await probe("kindprobe_restore", source="law-contoso-soc", target="law-northwind",
                               identity="Security Operations Efficiency", stale=True))
    assert updated["created"] is False and updated["id"] == wb.name
    assert "changed since it was read" in updated["stale"] and "nothing was written" in updated["stale"]
    preview = data(await probe("kindprobe_delete", workspace="law-northwind", identity="Security Operations Efficiency"))
    assert preview["confirmation_required"] is True
    data(await probe("kindprobe_delete", workspace="law-northwind", identity="Security Operations Efficiency",
                     confirm=True))
    assert "Security Operations Efficiency" not in {w.display_name for w in sdk_workbooks(insights, "law-northwind")}
    text = error(await probe("kindprobe_read", workspace="law-nowhere", identity="x"))
    assert "law-nowhere" in text
