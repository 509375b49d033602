"""The ``data_collection_rule`` content kind, driven the way the backup pack drives it: through tools of a probe
pack that call ``kit.content_kinds()`` (so the write gate, confirmation and audit apply) — list, read, a
stable normal form, create and update with the etag, delete, the same rule in two workspaces, destinations
rewritten to the target workspace — cross-checked with azure-mgmt-monitor."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from dcr_testkit import data, error_text
from fastmcp import Client

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, ToolRegistrar, hookimpl, tool

RULE = "dcr-tailspin-windows-security"


@tool(READ_ONLY)
async def kind_read(kit: Kit, workspace: str, identity: str) -> dict[str, Any]:
    """The kind's identities in a workspace, and one rule read twice, normalized.

    Args:
        workspace: Workspace.
        identity: Rule name.
    """
    kind = kit.content_kinds()["data_collection_rule"]
    ws = await kit.workspace(workspace)
    first, second = await kind.read(kit, ws, identity), await kind.read(kit, ws, identity)
    return {"identities": sorted(kind.identity(r) for r in await kind.list(kit, ws)),
            "normal": kind.normalize(first) if first else None, "again": kind.normalize(second) if second else None,
            "summary": kind.summary(first) if first else None}


@tool(ADDITIVE)
async def kind_copy(kit: Kit, source: str, target: str, identity: str, description: str | None = None) -> dict[str, Any]:
    """Copy one rule to another workspace (create, or update the one with the same name), pointed at it.

    Args:
        source: Source workspace.
        target: Target workspace.
        identity: Rule name.
        description: A description to set on the copy.
    """
    kind = kit.content_kinds()["data_collection_rule"]
    src = await kit.workspace_details(await kit.workspace(source))
    dst = await kit.workspace_details(await kit.workspace(target))
    found = await kind.read(kit, src, identity)
    if found is None:
        raise KitError(f"no rule {identity}")
    portable = kind.rewrite(kind.normalize(found), src, dst)
    if description is not None:
        portable["properties"]["description"] = description
    existing = await kind.read(kit, dst, identity)
    removes = kind.removals(kind.normalize(existing), portable) if existing else []
    await kit.confirm_change(f"copy {identity}", {"existing": existing is not None})
    saved = await kind.write(kit, dst, portable, existing=existing)
    return {"created": existing is None, "etag": saved.get("etag"), "portable": portable, "removes": removes,
            "before_etag": (existing or {}).get("etag")}


@tool(DESTRUCTIVE)
async def kind_remove(kit: Kit, workspace: str, identity: str) -> dict[str, Any]:
    """Delete one rule through the kind.

    Args:
        workspace: Workspace.
        identity: Rule name.
    """
    kind = kit.content_kinds()["data_collection_rule"]
    ws = await kit.workspace(workspace)
    existing = await kind.read(kit, ws, identity)
    if existing is None:
        raise KitError(f"no rule {identity}")
    await kit.confirm_change(f"delete {identity}")
    await kind.delete(kit, ws, existing)
    return {"deleted": identity}


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    for fn in (kind_read, kind_copy, kind_remove):
        register(fn)


@pytest.fixture
async def probe(make_server: Callable[..., Any]) -> AsyncIterator[Callable[..., Any]]:
    module = types.SimpleNamespace(register_tools=register_tools, __name__="tests.dcrkindprobe")
    async with Client(make_server(plugins={"dcrkindprobe": module})) as client:
        async def run(name: str, **args: Any) -> Any:
            return await client.call_tool(name, args, raise_on_error=False)
        yield run


async def test_reads_a_stable_normal_form_of_the_rules_delivering_to_a_workspace(probe, monitor) -> None:
    read = data(await probe("kind_read", workspace="law-tailspin", identity=RULE))
    sdk = monitor("tailspin")
    delivering = sorted(r.name for r in sdk.data_collection_rules.list_by_subscription()
                        if any("law-tailspin" in (d.workspace_resource_id or "")
                               for d in (r.destinations.log_analytics or [])))
    assert read["identities"] == delivering and RULE in delivering
    normal = read["normal"]
    assert normal == read["again"]
    assert normal["name"] == RULE and "etag" not in normal and "id" not in normal
    assert "immutableId" not in normal["properties"] and "provisioningState" not in normal["properties"]
    assert read["summary"]["destinations"] == ["law-tailspin"]


async def test_copies_to_another_tenant_delivering_there_then_updates_with_the_etag_and_deletes(
        probe, monitor, emulator, restore) -> None:
    northwind = next(w for w in emulator.info["workspaces"] if w["name"] == "law-northwind")
    copied = data(await probe("kind_copy", source="law-tailspin", target="law-northwind", identity=RULE))
    assert copied["created"] is True
    stored = monitor("northwind").data_collection_rules.get("rg-security", RULE)
    assert [(d.name, d.workspace_resource_id.lower()) for d in stored.destinations.log_analytics] == [
        ("lawnorthwind", northwind["id"].lower())]
    assert stored.data_flows[0].destinations == ["lawnorthwind"] and stored.etag == copied["etag"]
    assert stored.location == "northeurope"  # northwind's region, not tailspin's westeurope
    again = data(await probe("kind_read", workspace="law-northwind", identity=RULE))
    assert again["normal"] == copied["portable"]  # the same rule, once pointed at its workspace

    updated = data(await probe("kind_copy", source="law-tailspin", target="law-northwind", identity=RULE,
                               description="changed by the kind test"))
    assert updated["created"] is False and updated["before_etag"] == stored.etag and updated["etag"] != stored.etag
    assert updated["removes"] == []
    assert monitor("northwind").data_collection_rules.get("rg-security", RULE).description == "changed by the kind test"

    data(await probe("kind_remove", workspace="law-northwind", identity=RULE, confirm=True))
    with pytest.raises(ResourceNotFoundError):
        monitor("northwind").data_collection_rules.get("rg-security", RULE)


async def test_a_create_never_takes_over_a_rule_of_that_name_delivering_elsewhere(probe, monitor, emulator,
                                                                                    restore) -> None:
    tailspin = next(w for w in emulator.info["workspaces"] if w["name"] == "law-tailspin")
    sdk = monitor("northwind")
    sdk.data_collection_rules.create(
        "rg-security", RULE, {"location": "westeurope", "kind": "Windows", "properties": {
            "dataSources": {"windowsEventLogs": [{"name": "x", "streams": ["Microsoft-Event"],
                                                  "xPathQueries": ["System!*"]}]},
            "destinations": {"logAnalytics": [{"name": "elsewhere", "workspaceResourceId": tailspin["id"]}]},
            "dataFlows": [{"streams": ["Microsoft-Event"], "destinations": ["elsewhere"]}]}})
    refused = error_text(await probe("kind_copy", source="law-tailspin", target="law-northwind", identity=RULE))
    assert f"a data collection rule named {RULE!r} already exists in resource group rg-security" in refused
    assert "delivers to law-tailspin, not law-northwind; nothing was changed" in refused
    kept = sdk.data_collection_rules.get("rg-security", RULE)
    assert kept.destinations.log_analytics[0].name == "elsewhere"
