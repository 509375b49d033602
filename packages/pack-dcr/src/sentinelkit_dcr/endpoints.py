"""Data collection endpoints: list, show, create, delete."""

from __future__ import annotations

from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, Workspace, tool

from . import api, locate
from .common import ensure_absent, gather_counts, location_of, page_fan_out
from .errors import explained
from .shape import ENDPOINT_FIELDS, endpoint_row

ACCESS = ("Enabled", "Disabled", "SecuredByPerimeter")


def _used_by(rules: list[dict[str, Any]], dce_id: str) -> list[str]:
    return sorted(r["name"] for r in rules
                  if str((r.get("properties") or {}).get("dataCollectionEndpointId", "")).lower() == dce_id.lower())


@tool(READ_ONLY, title="List data collection endpoints")
async def dce_list(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                   tenant: str | None = None, fields: list[str] | None = None, limit: int = 25,
                   cursor: str | None = None) -> dict[str, Any]:
    """List data collection endpoints in workspaces' resource groups or used by their rules: region, network
    access, association count.

    Args:
        workspace: One workspace (alias, name or ARM id); omit to cover `workspaces`/`tenant`.
        workspaces: Workspaces to cover, or "all": every workspace, with or without Sentinel.
        tenant: Only workspaces of this tenant.
        fields: Default: name, workspace, kind, location, public_network_access, associations, resource_group.
        limit: Endpoints per page.
        cursor: next_cursor of the previous page.
    """
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant, sentinel_only=False)

    async def one(ws: Workspace) -> list[dict[str, Any]]:
        rules = [r for r in await locate.list_in_subscription(kit, ws, api.RULES) if locate.belongs_to(r, ws)]
        used = {str((r.get("properties") or {}).get("dataCollectionEndpointId", "")).lower() for r in rules}
        dces = [d for d in await locate.list_in_subscription(kit, ws, api.ENDPOINTS)
                if d["id"].lower() in used or (api.parts(d["id"]).get("resource_group", "").lower()
                                               == ws.resource_group.lower())]
        counts = await gather_counts(kit, ws, [d["id"] for d in dces])
        return [endpoint_row(d, workspace=ws.label, associations=n) for d, n in zip(dces, counts, strict=True)]

    result = await kit.fan_out(chosen, one)
    return page_fan_out(kit, result, key="endpoints", default_fields=ENDPOINT_FIELDS, fields=fields, limit=limit,
                        cursor=cursor)


@tool(READ_ONLY, title="Show a data collection endpoint")
async def dce_get(kit: Kit, workspace: str, endpoint: str) -> dict[str, Any]:
    """Show one data collection endpoint: URLs, network access, the rules using it, association count.

    Args:
        workspace: Its subscription holds the endpoint.
        endpoint: Endpoint name or ARM id.
    """
    ws = await kit.workspace(workspace)
    dce_id = await locate.find(kit, ws, api.ENDPOINTS, endpoint)
    data = await locate.read(kit, ws, dce_id, "data collection endpoint", cache=True)
    rules = await locate.list_in_subscription(kit, ws, api.RULES)
    row = endpoint_row(data, workspace=ws.label, associations=await locate.association_count(kit, ws, dce_id))
    row["used_by_rules"] = _used_by(rules, dce_id)
    if not row["associations"] and not row["used_by_rules"]:
        row["warning"] = "nothing uses this endpoint: no rule names it and no resource is associated with it"
    return row


@tool(ADDITIVE, title="Create a data collection endpoint")
async def dce_create(kit: Kit, workspace: str, name: str, location: str | None = None,
                     resource_group: str | None = None, description: str | None = None,
                     public_network_access: str = "Enabled", kind: str | None = None,
                     tags: dict[str, str] | None = None) -> dict[str, Any]:
    """Create a data collection endpoint (for custom text logs, the Logs Ingestion API, private links); rules
    use it only in its region. An existing name is an error.

    Args:
        workspace: The workspace it serves.
        name: Endpoint name.
        location: Default: the workspace's.
        resource_group: Default: the workspace's.
        description: What it is for.
        public_network_access: Enabled, Disabled or SecuredByPerimeter.
        kind: Linux or Windows.
        tags: Tags.
    """
    ws = await kit.workspace(workspace)
    access = next((a for a in ACCESS if a.lower() == public_network_access.lower()), None)
    if access is None:
        raise KitError(f"public_network_access {public_network_access!r} is not one of {', '.join(ACCESS)}")
    rg = resource_group or ws.resource_group
    dce_id = api.item_id(ws.subscription_id, rg, api.ENDPOINTS, name)
    body: dict[str, Any] = {"location": location or await location_of(kit, ws),
                            "properties": {"networkAcls": {"publicNetworkAccess": access}}}
    if description:
        body["properties"]["description"] = description
    if kind:
        body["kind"] = kind
    if tags:
        body["tags"] = tags
    await ensure_absent(kit, ws, dce_id, "data collection endpoint", "the portal or dce_delete + dce_create")
    await kit.confirm_change(f"create data collection endpoint {name} in {rg} ({body['location']})",
                             {"endpoint": dce_id, "body": body})
    with explained():
        saved = await kit.arm(ws).put(dce_id, api.VERSION, body,
                                      where=ws.where(resource=f"data collection endpoint {name}", operation="create"))
    return {"created": True, **endpoint_row(saved, workspace=ws.label, associations=0)}


@tool(DESTRUCTIVE, title="Delete a data collection endpoint")
async def dce_delete(kit: Kit, workspace: str, endpoint: str) -> dict[str, Any]:
    """Delete a data collection endpoint; refused while a rule names it. The preview lists associations.

    Args:
        workspace: Its subscription holds the endpoint.
        endpoint: Endpoint name or ARM id.
    """
    ws = await kit.workspace(workspace)
    dce_id = await locate.find(kit, ws, api.ENDPOINTS, endpoint)
    current = await locate.read(kit, ws, dce_id, "data collection endpoint")
    rules = _used_by(await locate.list_in_subscription(kit, ws, api.RULES, cache=False), dce_id)
    if rules:
        raise KitError(f"data collection endpoint {current['name']!r} is used by rule(s) {', '.join(rules)} "
                       f"(tenant {ws.tenant}); nothing was deleted. Point them elsewhere first "
                       "(dcr_update endpoint=... or endpoint=\"none\").")
    associations = await kit.arm(ws).list(f"{dce_id}/associations", api.VERSION, cache=False,
                                          where=ws.where(resource=current["name"], operation="list associations of"))
    targets_ = sorted(api.short(a["id"].split("/providers/Microsoft.Insights/")[0]) or "" for a in associations)
    await kit.confirm_change(f"delete data collection endpoint {current['name']} ({ws.label}, tenant {ws.tenant})"
                             + (f"; associated with {', '.join(targets_)}" if targets_ else ""),
                             {"endpoint": dce_id, "associated_resources": targets_, "etag": current.get("etag")})
    with explained():
        await kit.arm(ws).delete(dce_id, api.VERSION, etag=current.get("etag"),
                                 where=ws.where(resource=f"data collection endpoint {current['name']}",
                                                operation="delete"))
    return {"deleted": current["name"], "workspace": ws.label, "associated_resources": targets_}
