"""Shared steps of the tools: choosing target workspaces, and saving a rule safely."""

from __future__ import annotations

import asyncio
from typing import Any

from sentinelkit import FanOut, Kit, KitError, NotFoundError, Workspace

from . import api, validate
from .build import clean, diff, removals
from .errors import explained


async def location_of(kit: Kit, ws: Workspace) -> str:
    location = (await kit.workspace_details(ws)).location
    if not location:
        raise KitError(f"the location of workspace {ws.label} is unknown: pass location explicitly")
    return str(location)


async def ensure_absent(kit: Kit, ws: Workspace, arm_id: str, what: str, instead: str) -> None:
    """Creates must not silently overwrite: a name that exists is a conflict."""
    try:
        existing = await kit.arm(ws).get(arm_id, api.VERSION, cache=False,
                                         where=ws.where(resource=api.short(arm_id), operation=f"read {what}"))
    except NotFoundError:
        return
    raise KitError(f"{what} {existing.get('name')!r} already exists in resource group "
                   f"{api.parts(arm_id).get('resource_group')} (location {existing.get('location')}, tenant "
                   f"{ws.tenant}); nothing was changed. Use {instead} to change it, or choose another name.")


async def save_rule(kit: Kit, ws: Workspace, rule_id: str, body: dict[str, Any], *, before: dict[str, Any] | None,
                    etag: str | None, summary: str) -> dict[str, Any]:
    """Validate, preview (exact body + diff), confirm, PUT with If-Match; the stored rule is returned."""
    name = api.short(rule_id) or ""
    validate.check(body.get("kind"), body["properties"], name)
    await validate.check_targets(kit, ws, body["properties"], str(body.get("location")), name)
    changes: dict[str, Any] = {"rule": rule_id, "body": body}
    removed: list[str] = []
    if before is not None:
        changes["diff"] = diff(clean(before), body)
        changes["etag"] = etag
        removed = removals(clean(before), body)
        if removed:
            changes["removes"] = removed
            summary += f"; it stops collecting: {', '.join(removed)}"
    await kit.confirm_change(summary, changes, removes=bool(removed))
    with explained():
        return await kit.arm(ws).put(rule_id, api.VERSION, body, etag=etag,
                                     where=ws.where(resource=f"data collection rule {name}", operation="save"))


async def gather_counts(kit: Kit, ws: Workspace, ids: list[str]) -> list[int]:
    from . import locate

    return list(await asyncio.gather(*(locate.association_count(kit, ws, i) for i in ids)))


def page_fan_out(kit: Kit, result: FanOut[list[dict[str, Any]]], *, key: str, default_fields: list[str],
                 fields: list[str] | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """One page of a fan-out listing: every workspace's rows ordered by workspace and name, with the
    workspace count and the per-workspace errors beside them."""
    rows = sorted((row for _, rows in result.results for row in rows),
                  key=lambda r: (r["workspace"] or "", r["name"] or ""))
    extra: dict[str, Any] = {"workspaces": result.total}
    if result.failed:
        extra["errors"] = result.error_messages()
    return kit.page(rows, fields=fields, default_fields=default_fields, limit=limit, cursor=cursor, key=key,
                    extra=extra)
