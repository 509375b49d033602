"""The ``table`` content kind, as a backup/restore pack uses it: through ``kit.content_kinds()`` inside tools
of a pack of its own (so the write gate, confirmation and audit apply), over MCP — list, read, a stable
normal form, create and update, delete, identity across workspaces and rewriting — cross-checked with
azure-mgmt-loganalytics."""

from __future__ import annotations

import json
import types
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from fastmcp import Client

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, ToolRegistrar, hookimpl, tool


def _kind(kit: Kit) -> Any:
    return kit.content_kinds()["table"]


@tool(READ_ONLY)
async def kind_list(kit: Kit, workspace: str) -> dict[str, Any]:
    """List the table kind's objects of a workspace, normalized.

    Args:
        workspace: Workspace.
    """
    kind = _kind(kit)
    ws = await kit.workspace(workspace)
    return {"objects": [kind.normalize(o) for o in await kind.list(kit, ws)]}


@tool(READ_ONLY)
async def kind_read(kit: Kit, workspace: str, identity: str) -> dict[str, Any]:
    """Read one object of the table kind twice, with its identity, summary and normal form.

    Args:
        workspace: Workspace.
        identity: Table name.
    """
    kind = _kind(kit)
    ws = await kit.workspace(workspace)
    first, second = await kind.read(kit, ws, identity), await kind.read(kit, ws, identity)
    if first is None:
        return {"found": False}
    normal = kind.normalize(first)
    return {"found": True, "identity": kind.identity(first), "normal": normal, "again": kind.normalize(second),
            "normal_of_normal": kind.normalize(normal), "summary": kind.summary(first)}


@tool(ADDITIVE)
async def kind_apply(kit: Kit, workspace: str, obj: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    """Write a normalized table object into a workspace (create or update), pointed at it from ``source``.

    Args:
        workspace: Target workspace.
        obj: Normalized object.
        source: Workspace the object came from.
    """
    kind = _kind(kit)
    ws = await kit.workspace(workspace)
    src = await kit.workspace_details(await kit.workspace(source)) if source else None
    target = await kit.workspace_details(ws)
    rewritten = kind.rewrite(obj, src, target)
    existing = await kind.read(kit, ws, kind.identity(rewritten))
    await kit.confirm_change(f"restore table {kind.identity(rewritten)}", rewritten)
    saved = await kind.write(kit, ws, rewritten, existing=existing)
    return {"created": existing is None, "normal": kind.normalize(saved), "rewritten": rewritten}


@tool(DESTRUCTIVE)
async def kind_remove(kit: Kit, workspace: str, identity: str) -> dict[str, Any]:
    """Delete one object of the table kind.

    Args:
        workspace: Workspace.
        identity: Table name.
    """
    kind = _kind(kit)
    ws = await kit.workspace(workspace)
    existing = await kind.read(kit, ws, identity)
    await kit.confirm_change(f"delete table {identity}", {"table": identity})
    assert existing is not None
    await kind.delete(kit, ws, existing)
    return {"deleted": identity}


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    for fn in (kind_list, kind_read, kind_apply, kind_remove):
        register(fn)


PROBE = types.SimpleNamespace(register_tools=register_tools, __name__="tests.kind_probe")


@pytest.fixture
async def probe(make_server: Callable[..., Any]) -> AsyncIterator[Callable[..., Any]]:
    async with Client(make_server(plugins={"kindprobe": PROBE})) as client:
        async def run(name: str, /, **args: Any) -> Any:
            result = await client.call_tool(name, args, raise_on_error=False)
            if result.is_error:
                return result.content[0].text
            return result.structured_content

        yield run


async def test_list_covers_every_azure_and_custom_table_and_no_job_output(probe, la) -> None:
    out = await probe("kind_list", workspace="law-fabrikam-prod")
    tables, rg, name = la("law-fabrikam-prod")
    sdk = {t.name: t for t in tables.list_by_workspace(rg, name)}
    assert sorted(o["name"] for o in out["objects"]) == sorted(sdk)
    by_name = {o["name"]: o["properties"] for o in out["objects"]}
    assert by_name["Heartbeat"] == {"plan": "Analytics", "retentionInDays": -1, "totalRetentionInDays": -1,
                                    "schema": {"tableType": "Microsoft"}}  # follows the workspace default
    assert by_name["AppAudit_CL"]["plan"] == "Basic" and "retentionInDays" not in by_name["AppAudit_CL"]
    firewall = by_name["FirewallTraffic_CL"]["schema"]
    assert [c["name"] for c in firewall["columns"]] == [c.name for c in sdk["FirewallTraffic_CL"].schema.columns]
    assert firewall["description"] == sdk["FirewallTraffic_CL"].schema.description


async def test_the_normal_form_is_stable_and_the_identity_is_the_name(probe) -> None:
    out = await probe("kind_read", workspace="law-woodgrove", identity="SwiftAudit_CL")
    assert out["found"] and out["identity"] == "SwiftAudit_CL"
    assert out["normal"] == out["again"] == out["normal_of_normal"]
    assert json.dumps(out["normal"]) == json.dumps(out["again"])  # same key order too
    assert not {"id", "etag", "systemData", "provisioningState"} & set(json.dumps(out["normal"]).split('"'))
    assert out["summary"] == {"name": "SwiftAudit_CL", "plan": "Analytics", "retention_days": 365,
                              "total_retention_days": 2556, "columns": len(out["normal"]["properties"]["schema"]
                                                                          ["columns"])}
    assert (await probe("kind_read", workspace="law-woodgrove", identity="Nope_CL")) == {"found": False}


async def test_a_custom_table_is_created_in_another_workspace_then_updated(probe, la, restore) -> None:
    source = (await probe("kind_read", workspace="law-fabrikam-prod", identity="FirewallTraffic_CL"))["normal"]
    created = await probe("kind_apply", workspace="law-tailspin", obj=source, source="law-fabrikam-prod")
    assert created["created"] is True and created["normal"] == source  # identity and form carry across workspaces
    assert "law-fabrikam-prod" not in json.dumps(created["rewritten"])
    tables, rg, name = la("law-tailspin")
    sdk = tables.get(rg, name, "FirewallTraffic_CL")
    assert sdk.retention_in_days == 180 and [c.name for c in sdk.schema.columns][-1] == "BytesSent"

    changed = json.loads(json.dumps(source))
    changed["properties"]["totalRetentionInDays"] = 365
    changed["properties"]["schema"]["columns"].append({"name": "Zone", "type": "string"})
    updated = await probe("kind_apply", workspace="law-tailspin", obj=changed)
    assert updated["created"] is False and updated["normal"] == changed
    sdk = tables.get(rg, name, "FirewallTraffic_CL")
    assert (sdk.total_retention_in_days, sdk.schema.columns[-1].name) == (365, "Zone")

    retyped = json.loads(json.dumps(changed))
    retyped["properties"]["schema"]["columns"][-1]["type"] = "int"
    text = await probe("kind_apply", workspace="law-tailspin", obj=retyped)
    assert "column Zone of FirewallTraffic_CL in law-tailspin is string, not int" in text

    assert (await probe("kind_remove", workspace="law-tailspin", identity="FirewallTraffic_CL",
                        confirm=True)) == {"deleted": "FirewallTraffic_CL"}
    with pytest.raises(ResourceNotFoundError):
        tables.get(rg, name, "FirewallTraffic_CL")


async def test_an_azure_tables_plan_and_retention_are_restored_not_created_or_deleted(probe, la, restore) -> None:
    woodgrove = (await probe("kind_read", workspace="law-woodgrove", identity="SecurityEvent"))["normal"]
    northwind = (await probe("kind_read", workspace="law-northwind", identity="SecurityEvent"))["normal"]
    assert woodgrove != northwind
    done = await probe("kind_apply", workspace="law-northwind", obj=woodgrove, source="law-woodgrove")
    assert done["created"] is False and done["normal"] == woodgrove
    tables, rg, name = la("law-northwind")
    sdk = tables.get(rg, name, "SecurityEvent")
    assert (sdk.retention_in_days, sdk.total_retention_in_days) == (365, 2556)
    ops_missing = (await probe("kind_read", workspace="law-woodgrove", identity="SecurityIncident"))["normal"]
    text = await probe("kind_apply", workspace="law-fabrikam-ops", obj=ops_missing)
    assert "SecurityIncident does not exist in law-fabrikam-ops" in text and "Sentinel" in text
    text = await probe("kind_remove", workspace="law-northwind", identity="SecurityEvent", confirm=True)
    assert "can't be deleted" in text
