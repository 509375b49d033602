"""The content kinds analytics_rule and automation_rule, driven the way the backup pack drives them: through a
small probe pack whose tools call kit.content_kinds() — list, read, normalize, write (create and update with the
etag), delete, identity across two workspaces, rewrite of workspace references."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastmcp import Client
from rules_testkit import out

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, ToolRegistrar, hookimpl, tool


@tool(READ_ONLY)
async def content_read(kit: Kit, kind: str, workspace: str, identity: str | None = None) -> dict[str, Any]:
    """Every identity of a kind in a workspace, and one object normalized twice.

    Args:
        kind: Content kind name.
        workspace: Workspace.
        identity: The object to read.
    """
    ws = await kit.workspace(workspace)
    k = kit.content_kinds()[kind]
    items = await k.list(kit, ws)
    answer: dict[str, Any] = {"identities": sorted(k.identity(i) for i in items)}
    if identity:
        obj = await k.read(kit, ws, identity)
        again = await k.read(kit, ws, identity)
        answer.update({"object": k.normalize(obj) if obj else None, "again": k.normalize(again) if again else None,
                       "summary": k.summary(obj) if obj else None})
    return answer


@tool(ADDITIVE)
async def content_copy(kit: Kit, kind: str, source: str, target: str, identity: str) -> dict[str, Any]:
    """Copy one object to another workspace (create, or update the one with the same identity).

    Args:
        kind: Content kind name.
        source: Source workspace.
        target: Target workspace.
        identity: The object.
    """
    k = kit.content_kinds()[kind]
    src, dst = await kit.workspace_details(await kit.workspace(source)), await kit.workspace_details(await kit.workspace(target))
    obj = await k.read(kit, src, identity)
    if obj is None:
        raise KitError(f"no {identity}")
    portable = k.rewrite(k.normalize(obj), src, dst)
    existing = await k.read(kit, dst, identity)
    await kit.confirm_change(f"copy {identity}", {"existing": bool(existing)})
    saved = await k.write(kit, dst, portable, existing=existing)
    return {"created": existing is None, "name": saved.get("name"), "etag": saved.get("etag"), "portable": portable}


@tool(DESTRUCTIVE)
async def content_remove(kit: Kit, kind: str, workspace: str, identity: str) -> dict[str, Any]:
    """Delete one object.

    Args:
        kind: Content kind name.
        workspace: Workspace.
        identity: The object.
    """
    ws = await kit.workspace(workspace)
    k = kit.content_kinds()[kind]
    existing = await k.read(kit, ws, identity)
    if existing is None:
        raise KitError(f"no {identity}")
    await kit.confirm_change(f"delete {identity}")
    await k.delete(kit, ws, existing)
    return {"deleted": identity}


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    register(content_read)
    register(content_copy)
    register(content_remove)


@pytest.fixture
async def probe(make_server) -> AsyncIterator[Any]:
    module = types.SimpleNamespace(register_tools=register_tools, __name__="tests.contentprobe")
    async with Client(make_server(plugins={"contentprobe": module})) as client:
        async def run(name: str, **args: Any) -> Any:
            return out(await client.call_tool(name, args, raise_on_error=False))
        yield run


async def test_analytics_rules_read_normalize_and_copy_across_tenants(probe, si, restore) -> None:
    client, rg, ws = si("northwind")
    target, trg, tws = si("contoso-mssp")
    taken = {r.properties.get("displayName") for r in target.alert_rules.list(trg, tws)}
    name = next(r.properties["displayName"] for r in client.alert_rules.list(rg, ws)
                if r.kind == "Scheduled" and r.properties["displayName"] not in taken)
    listed = await probe("content_read", kind="analytics_rule", workspace="law-northwind", identity=name)
    assert listed["identities"] == sorted(r.properties.get("displayName") for r in client.alert_rules.list(rg, ws))
    assert listed["object"] == listed["again"]  # stable
    assert "etag" not in listed["object"] and "lastModifiedUtc" not in listed["object"]["properties"]
    assert "name" not in listed["object"]  # the GUID is the workspace's own
    assert listed["summary"]["kind"] == "Scheduled"
    copied = await probe("content_copy", kind="analytics_rule", source="law-northwind", target="law-contoso-soc",
                         identity=name)
    same = [r for r in target.alert_rules.list(trg, tws) if r.properties.get("displayName") == name]
    assert len(same) == 1 and same[0].etag == copied["etag"]
    there = await probe("content_read", kind="analytics_rule", workspace="law-contoso-soc", identity=name)
    assert there["object"] == listed["object"]  # the same object in two workspaces: equal normalized forms
    again = await probe("content_copy", kind="analytics_rule", source="law-northwind", target="law-contoso-soc",
                        identity=name)
    assert again["created"] is False and again["name"] == same[0].name and again["etag"] != copied["etag"]
    gone = await probe("content_remove", kind="analytics_rule", workspace="law-contoso-soc", identity=name,
                       confirm=True)
    assert gone["deleted"] and name not in {
        r.properties.get("displayName") for r in target.alert_rules.list(trg, tws)}


async def test_automation_rules_copy_with_workspace_references_rewritten(probe, call, si, emulator, restore) -> None:
    northwind = next(w for w in emulator.info["workspaces"] if w["name"] == "law-northwind")
    contoso = next(w for w in emulator.info["workspaces"] if w["name"] == "law-contoso-soc")
    rule = out(await call("rule_list", workspace="law-northwind", kind="Scheduled", fields=["name"]))["rules"][0]
    out(await call("automation_rule_create", workspace="law-northwind", display_name="Escalate this detection",
                   analytics_rules=[rule["name"]], set_severity="High"))
    read = await probe("content_read", kind="automation_rule", workspace="law-northwind",
                       identity="Escalate this detection")
    assert read["object"] == read["again"] and "createdTimeUtc" not in read["object"]["properties"]
    condition = read["object"]["properties"]["triggeringLogic"]["conditions"][0]["conditionProperties"]
    assert condition["propertyValues"][0].lower().startswith(northwind["id"].lower())
    await probe("content_copy", kind="automation_rule", source="law-northwind", target="law-contoso-soc",
                identity="Escalate this detection")
    client, rg, ws = si("contoso-mssp")
    stored = next(r for r in client.automation_rules.list(rg, ws) if r.properties.display_name == "Escalate this detection")
    value = stored.properties.triggering_logic.conditions[0].condition_properties.property_values[0]
    assert value.lower() == f"{contoso['id']}/providers/Microsoft.SecurityInsights/alertRules/{rule['name']}".lower()
