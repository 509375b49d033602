"""Associations: which resources (machines, scale sets, Arc servers) a rule or endpoint applies to."""

from __future__ import annotations

from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, ArmId, Kit, KitError, NotFoundError, Workspace, tool

from . import api, locate
from .errors import explained
from .shape import ASSOCIATION_FIELDS, association_row

ENDPOINT_ASSOCIATION = "configurationAccessEndpoint"  # the only name Azure allows for an endpoint association


def target_id(kit: Kit, ws: Workspace, resource: str) -> str:
    """An ARM id (parsed and checked: no ``..``, the workspace's tenant), or a virtual machine name in the
    workspace's resource group."""
    resource = resource.strip().rstrip("/")
    if resource.startswith("/"):
        arm = ArmId.parse(resource, what="resource")
        owner = kit.tenant_of(arm.text)
        if arm.subscription_id.lower() != ws.subscription_id.lower() and owner != ws.tenant:
            raise KitError(f"{arm.text} is in subscription {arm.subscription_id}"
                           f"{f' of tenant {owner}' if owner else ', which no reachable workspace belongs to'}, not in "
                           f"tenant {ws.tenant_label} of workspace {ws.label}; nothing was done. Associate resources "
                           "of the workspace's own tenant, naming a workspace of theirs.")
        return arm.text
    if "/" in resource or resource in (".", ".."):
        raise KitError(f"resource {resource!r} is neither an ARM id nor a virtual machine name")
    return f"{api.rg_id(ws.subscription_id, ws.resource_group)}/providers/Microsoft.Compute/virtualMachines/{resource}"


def _collection(target: str) -> str:
    return f"{target}/providers/{api.PROVIDER}/{api.ASSOCIATIONS}"


@tool(READ_ONLY, title="List data collection rule associations")
async def dcr_association_list(kit: Kit, workspace: str, rule: str | None = None, endpoint: str | None = None,
                               resource: str | None = None, fields: list[str] | None = None, limit: int = 25,
                               cursor: str | None = None) -> dict[str, Any]:
    """List associations by rule or endpoint (which machines use it), or by resource (what it uses). Give
    exactly one of rule, endpoint, resource.

    Args:
        workspace: Its subscription holds them.
        rule: Rule name or ARM id.
        endpoint: Endpoint name or ARM id.
        resource: Target resource ARM id, or a VM name in the workspace's resource group.
        fields: Default: name, target, target_type, rule, endpoint.
        limit: Associations per page.
        cursor: next_cursor of the previous page.
    """
    if sum(x is not None for x in (rule, endpoint, resource)) != 1:
        raise KitError("give exactly one of rule, endpoint or resource")
    ws = await kit.workspace(workspace)
    if resource is not None:
        path, label = _collection(target_id(kit, ws, resource)), api.short(resource)
    else:
        collection = api.RULES if rule is not None else api.ENDPOINTS
        arm_id = await locate.find(kit, ws, collection, rule or endpoint or "")
        path, label = f"{arm_id}/associations", api.short(arm_id)
    items = await kit.arm(ws).list(path, api.VERSION, where=ws.where(resource=label, operation="list associations of"))
    rows = sorted((association_row(a) for a in items), key=lambda r: (r["target"] or "", r["name"] or ""))
    return kit.page(rows, fields=fields, default_fields=ASSOCIATION_FIELDS, limit=limit, cursor=cursor,
                    key="associations", extra={"workspace": ws.label, "of": label})


@tool(ADDITIVE, title="Associate a rule or endpoint with a resource")
async def dcr_association_create(kit: Kit, workspace: str, resource: str, rule: str | None = None,
                                 endpoint: str | None = None, name: str | None = None,
                                 description: str | None = None) -> dict[str, Any]:
    """Apply a rule or an endpoint (exactly one) to a machine or other resource: its agent starts collecting.

    Args:
        workspace: Its subscription holds the rule or endpoint.
        resource: Target resource ARM id, or a VM name in the workspace's resource group.
        rule: Rule name or ARM id.
        endpoint: Endpoint name or ARM id.
        name: Default: "<rule>-association".
        description: Why it exists.
    """
    if (rule is None) == (endpoint is None):
        raise KitError("give exactly one of rule and endpoint")
    ws = await kit.workspace(workspace)
    target = target_id(kit, ws, resource)
    if rule is not None:
        ref_id = await locate.find(kit, ws, api.RULES, rule)
        name = name or f"{api.short(ref_id)}-association"
        props: dict[str, Any] = {"dataCollectionRuleId": ref_id}
    else:
        ref_id = await locate.find(kit, ws, api.ENDPOINTS, endpoint or "")
        if name and name != ENDPOINT_ASSOCIATION:
            raise KitError(f"an endpoint association must be named {ENDPOINT_ASSOCIATION!r}, not {name!r}")
        name = ENDPOINT_ASSOCIATION
        props = {"dataCollectionEndpointId": ref_id}
    await locate.read(kit, ws, ref_id, "data collection " + ("rule" if rule else "endpoint"), cache=True)
    if description:
        props["description"] = description
    assoc_id = f"{_collection(target)}/{name}"
    try:
        existing = await kit.arm(ws).get(assoc_id, api.VERSION, cache=False, where=ws.where(resource=name))
    except NotFoundError:
        existing = None
    if existing is not None:
        row = association_row(existing)
        if (row["rule_id"] or row["endpoint_id"] or "").lower() == ref_id.lower():
            return {"created": False, "message": f"{api.short(target)} is already associated with "
                    f"{api.short(ref_id)} ({name}); nothing to do", **row}
        raise KitError(f"{api.short(target)} already has an association named {name!r} with "
                       f"{row['rule'] or row['endpoint']}; nothing was changed. Choose another name, or delete it "
                       "first (dcr_association_delete)")
    await kit.confirm_change(f"associate {api.short(ref_id)} with {api.short(target)} ({ws.label})",
                             {"association": assoc_id, "body": {"properties": props}})
    with explained():
        saved = await kit.arm(ws).put(assoc_id, api.VERSION, {"properties": props},
                                      where=ws.where(resource=f"association {name} of {api.short(target)}",
                                                     operation="create"))
    return {"created": True, **association_row(saved)}


@tool(DESTRUCTIVE, title="Delete a data collection rule association")
async def dcr_association_delete(kit: Kit, workspace: str, resource: str, name: str | None = None,
                                 rule: str | None = None) -> dict[str, Any]:
    """Remove an association (by name, or by rule): the resource stops collecting what it configured.

    Args:
        workspace: Its subscription holds the rule.
        resource: Target resource ARM id, or a VM name in the workspace's resource group.
        name: Association name.
        rule: Instead of name: the rule (name or ARM id).
    """
    if (name is None) == (rule is None):
        raise KitError("give exactly one of name and rule")
    ws = await kit.workspace(workspace)
    target = target_id(kit, ws, resource)
    items = await kit.arm(ws).list(_collection(target), api.VERSION, cache=False,
                                   where=ws.where(resource=api.short(target), operation="list associations of"))
    rows = [association_row(a) for a in items]
    if name is not None:
        found = [r for r in rows if r["name"].lower() == name.lower()]
    else:
        rule_id = await locate.find(kit, ws, api.RULES, rule or "")
        found = [r for r in rows if (r["rule_id"] or "").lower() == rule_id.lower()]
    if not found:
        have = ", ".join(f"{r['name']} ({r['rule'] or r['endpoint']})" for r in rows) or "none"
        raise KitError(f"{api.short(target)} has no association {'named ' + repr(name) if name else 'with rule ' + repr(rule)}"
                       f" (tenant {ws.tenant}); it has: {have}")
    row = found[0]
    await kit.confirm_change(f"remove association {row['name']} ({row['rule'] or row['endpoint']}) from "
                             f"{row['target']} ({ws.label}); it stops collecting what that configured",
                             {"association": row["id"]})
    with explained():
        await kit.arm(ws).delete(row["id"], api.VERSION,
                                 where=ws.where(resource=f"association {row['name']} of {row['target']}",
                                                operation="delete"))
    return {"deleted": row["name"], "target": row["target"], "rule": row["rule"], "endpoint": row["endpoint"]}
