"""Shared steps of the tools: choosing target workspaces, and saving a rule safely."""

from __future__ import annotations

import asyncio
from typing import Any

from sentinelkit.errors import KitError

from . import api, validate
from .build import clean, diff
from .errors import explained


async def targets(kit: Any, workspace: str | None, workspaces: list[str] | str | None, tenant: str | None) -> list[Any]:
    """One workspace, a list, or every reachable one (with or without Sentinel: data collection matters to both)."""
    if workspace and workspaces:
        raise KitError('give either workspace (one) or workspaces (a list, or "all"), not both')
    if workspace:
        ws = await kit.workspace(workspace)
        if tenant and not kit.runtime.workspaces.tenant_matches(ws, tenant):
            raise KitError(f"workspace {ws.label} belongs to tenant {ws.tenant or ws.tenant_id}, not {tenant!r}")
        return [ws]
    return await kit.workspaces(workspaces or "all", tenant, sentinel_only=False)


async def fan_out(kit: Any, chosen: list[Any], fn: Any, single: bool, label: str = "workspaces") -> dict[str, Any]:
    """The core's fan-out; for a single named workspace its failure is the answer (an error), not a detail."""
    result = await kit.fan_out(chosen, fn, label=label)
    if single and result["errors"]:
        raise KitError(next(iter(result["errors"].values())))
    return result


async def location_of(kit: Any, ws: Any) -> str:
    if not ws.location:
        from sentinelkit.azure import api_versions

        data = await kit.arm(ws).get(ws.id, api_versions.WORKSPACES, where=ws.where(operation="read workspace"))
        ws.location = data.get("location")
    if not ws.location:
        raise KitError(f"the location of workspace {ws.label} is unknown: pass location explicitly")
    return str(ws.location)


async def ensure_absent(kit: Any, ws: Any, arm_id: str, what: str, instead: str) -> None:
    """Creates must not silently overwrite: a name that exists is a conflict."""
    from sentinelkit.errors import AzureCallError

    try:
        existing = await kit.arm(ws).get(arm_id, api.VERSION, cache=False,
                                         where=ws.where(resource=api.short(arm_id), operation=f"read {what}"))
    except AzureCallError as exc:
        if exc.status == 404:
            return
        raise
    raise KitError(f"{what} {existing.get('name')!r} already exists in resource group "
                   f"{api.parts(arm_id).get('resource_group')} (location {existing.get('location')}, tenant "
                   f"{ws.tenant}); nothing was changed. Use {instead} to change it, or choose another name.")


async def save_rule(kit: Any, ws: Any, rule_id: str, body: dict[str, Any], *, before: dict[str, Any] | None,
                    etag: str | None, summary: str) -> dict[str, Any]:
    """Validate, preview (exact body + diff), confirm, PUT with If-Match; the stored rule is returned."""
    name = api.short(rule_id) or ""
    validate.check(body.get("kind"), body["properties"], name)
    await validate.check_targets(kit, ws, body["properties"], str(body.get("location")), name)
    changes: dict[str, Any] = {"rule": rule_id, "body": body}
    if before is not None:
        changes["diff"] = diff(clean(before), body)
        changes["etag"] = etag
    await kit.confirm_change(summary, changes)
    with explained():
        return await kit.arm(ws).put(rule_id, api.VERSION, body, etag=etag,
                                     where=ws.where(resource=f"data collection rule {name}", operation="save"))


async def gather_counts(kit: Any, ws: Any, ids: list[str]) -> list[int]:
    from . import locate

    return list(await asyncio.gather(*(locate.association_count(kit, ws, i) for i in ids)))


def page_fan_out(kit: Any, result: dict[str, Any], *, key: str, default_fields: list[str], fields: list[str] | None,
                 limit: int, cursor: str | None) -> dict[str, Any]:
    """One page of a fan-out listing: every workspace's rows ordered by workspace and name, with the
    workspace count and the per-workspace errors beside them."""
    rows = sorted((row for rows in result["results"].values() for row in rows),
                  key=lambda r: (r["workspace"] or "", r["name"] or ""))
    extra: dict[str, Any] = {"workspaces": result["summary"]["workspaces"]}
    if result["errors"]:
        extra["errors"] = result["errors"]
    return kit.page(rows, fields=fields, default_fields=default_fields, limit=limit, cursor=cursor, key=key,
                    extra=extra)
