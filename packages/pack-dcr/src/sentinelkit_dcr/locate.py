"""Finding rules and endpoints: by name (in a workspace's subscription) or by ARM id, and which rules
belong to a workspace (those that deliver to it)."""

from __future__ import annotations

from typing import Any

from sentinelkit import ArmId, Kit, KitError, Workspace

from . import api


def in_scope(kit: Kit, ws: Workspace, arm: ArmId) -> ArmId:
    """``arm`` when it is in the named workspace's subscription; another tenant's resource is refused (a
    rule id of northwind must not be deleted "in fabrikam"), another subscription of the same tenant too,
    saying which workspace to name instead."""
    if arm.subscription_id.lower() == ws.subscription_id.lower():
        return arm
    owner = kit.tenant_of(arm.text)
    where = f"subscription {arm.subscription_id}" + (f" of tenant {owner}" if owner else "")
    raise KitError(f"{arm.text} is in {where}, not in the subscription of workspace {ws.label} (tenant "
                   f"{ws.tenant_label}); nothing was done. Name a workspace of that subscription as `workspace`.")


def collection_label(collection: str) -> str:
    return "data collection rule" if collection == api.RULES else "data collection endpoint"


async def list_in_subscription(kit: Kit, ws: Workspace, collection: str, *, cache: bool = True) -> list[dict[str, Any]]:
    """Every rule (or endpoint) of the workspace's subscription."""
    return await kit.arm(ws).list(api.sub_collection(ws.subscription_id, collection), api.VERSION,
                                  where=ws.where(operation=f"list {collection_label(collection)}s"), cache=cache)


def delivers_to(rule: dict[str, Any], ws: Workspace) -> bool:
    dests = ((rule.get("properties") or {}).get("destinations") or {}).get("logAnalytics") or []
    return any(str(d.get("workspaceResourceId", "")).lower() == ws.id.lower() for d in dests)


def belongs_to(rule: dict[str, Any], ws: Workspace) -> bool:
    """A rule belongs to a workspace when it delivers there, or lives in its resource group and sends to no
    Log Analytics workspace (e.g. metrics-only rules)."""
    if delivers_to(rule, ws):
        return True
    dests = ((rule.get("properties") or {}).get("destinations") or {}).get("logAnalytics") or []
    return not dests and (api.parts(rule["id"]).get("resource_group", "").lower() == ws.resource_group.lower())


async def find(kit: Kit, ws: Workspace, collection: str, ref: str) -> str:
    """A name or ARM id → the ARM id. Names are looked up in the workspace's subscription; the workspace's
    resource group wins when two resource groups hold the same name."""
    ref = (ref or "").strip()
    what = collection_label(collection)
    if not ref:
        raise KitError(f"no {what} given: pass its name or ARM id")
    if ref.startswith("/"):
        return in_scope(kit, ws, ArmId.parse(ref, expect=f"{api.PROVIDER}/{collection}", what=what)).text
    items = await list_in_subscription(kit, ws, collection)
    named = [i for i in items if str(i.get("name", "")).lower() == ref.lower()]
    if len(named) > 1:
        local = [i for i in named if api.parts(i["id"]).get("resource_group", "").lower() == ws.resource_group.lower()]
        if len(local) == 1:
            return local[0]["id"]
        raise KitError(f"{what} name {ref!r} is ambiguous in subscription {ws.subscription or ws.subscription_id} "
                       f"(tenant {ws.tenant}): " + ", ".join(i["id"] for i in named) + "; pass the full ARM id")
    if not named:
        import difflib

        names = sorted(str(i.get("name")) for i in items)
        close = difflib.get_close_matches(ref, names, n=3, cutoff=0.5)
        hint = f"closest: {', '.join(close)}" if close else (f"there are: {', '.join(names[:15])}" if names else
                                                             "there is none")
        raise KitError(f"no {what} named {ref!r} in subscription {ws.subscription or ws.subscription_id} of workspace "
                       f"{ws.label} (tenant {ws.tenant}); {hint}. List them with "
                       f"{'dcr_list' if collection == api.RULES else 'dce_list'}.")
    return named[0]["id"]


async def read(kit: Kit, ws: Workspace, arm_id: str, what: str, *, cache: bool = False) -> dict[str, Any]:
    """GET one resource, fresh by default (writes need the current etag)."""
    return await kit.arm(ws).get(arm_id, api.VERSION, cache=cache,
                                 where=ws.where(resource=f"{what} {api.short(arm_id)}", operation="read"))


async def association_count(kit: Kit, ws: Workspace, arm_id: str) -> int:
    items = await kit.arm(ws).list(f"{arm_id}/associations", api.VERSION,
                                   where=ws.where(resource=api.short(arm_id), operation="list associations of"))
    return len(items)
