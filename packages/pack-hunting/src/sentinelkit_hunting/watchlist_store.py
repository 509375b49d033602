"""Reading and writing watchlists and their items (``Microsoft.SecurityInsights/watchlists``): the ARM
calls the watchlist tools and the content kind share."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sentinelkit import AzureError, Kit, KitError, NotFoundError, Workspace

from . import api

NAMESPACE = uuid.UUID("0b6f3c3e-2f49-4f5e-9d7c-5a1e8c0d4b27")


@dataclass(frozen=True)
class ItemWrite:
    """One item change: ``op`` is put or delete; ``name`` the item's id; ``key`` its search-key value."""

    op: str
    key: str
    name: str
    values: dict[str, str] | None = None
    etag: str | None = None
    outcome: str = "added"


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource.get("properties") or {})


def values_of(item: dict[str, Any]) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in (props(item).get("itemsKeyValue") or {}).items()}


def key_of(item: dict[str, Any], search_key: str) -> str:
    return values_of(item).get(search_key, "").strip()


def item_name(ws: Workspace, alias: str, key: str) -> str:
    """The id an item with this search-key value gets from this pack: the same on every retry."""
    return str(uuid.uuid5(NAMESPACE, f"{ws.id.lower()}/{alias.lower()}/{key.strip().lower()}"))


async def read(kit: Kit, ws: Workspace, alias: str) -> dict[str, Any] | None:
    try:
        return await kit.arm(ws).get(api.watchlist(ws, alias), api.SENTINEL, cache=False,
                                     where=ws.where(resource=f"watchlist {alias}", operation="read"))
    except NotFoundError:
        return None


async def need(kit: Kit, ws: Workspace, alias: str) -> dict[str, Any]:
    found = await read(kit, ws, alias)
    if found is None:
        listed = await list_watchlists(kit, ws)
        aliases = sorted(str(w.get("name")) for w in listed)
        raise KitError(f"no watchlist {alias!r} in workspace {ws.label}; it has: {', '.join(aliases) or 'none'}")
    return found


async def list_watchlists(kit: Kit, ws: Workspace, *, fresh: bool = True) -> list[dict[str, Any]]:
    if fresh:
        kit.invalidate(api.watchlists(ws))
    return await kit.arm(ws).list(api.watchlists(ws), api.SENTINEL,
                                  where=ws.where(resource="watchlists", operation="list"))


async def list_items(kit: Kit, ws: Workspace, alias: str, *, fresh: bool = True) -> list[dict[str, Any]]:
    if fresh:
        kit.invalidate(api.items(ws, alias))
    return await kit.arm(ws).list(api.items(ws, alias), api.SENTINEL,
                                  where=ws.where(resource=f"watchlist {alias} items", operation="list"))


def by_key(items: Sequence[dict[str, Any]], search_key: str) -> dict[str, dict[str, Any]]:
    """Items by their search-key value (lower case: Sentinel users treat keys case-insensitively)."""
    return {key_of(i, search_key).lower(): i for i in items}


async def write_items(kit: Kit, ws: Workspace, alias: str, writes: Sequence[ItemWrite], *, concurrency: int,
                      label: str = "items") -> list[dict[str, Any]]:
    """Apply item writes a few at a time; one result per write (``error`` when it failed)."""
    limit = asyncio.Semaphore(concurrency)
    arm = kit.arm(ws)
    done = 0

    async def one(w: ItemWrite) -> dict[str, Any]:
        nonlocal done
        path = f"{api.items(ws, alias)}/{w.name}"
        where = ws.where(resource=f"watchlist {alias} item {w.key}", operation=w.outcome)
        async with limit:
            try:
                if w.op == "delete":
                    await arm.delete(path, api.SENTINEL, etag=w.etag, where=where)
                else:
                    await arm.put(path, api.SENTINEL, {"properties": {"itemsKeyValue": w.values}}, etag=w.etag,
                                  where=where)
                result = {"key": w.key, "result": w.outcome}
            except (AzureError, KitError) as exc:
                result = {"key": w.key, "result": "failed", "error": str(exc)[:300]}
        done += 1
        if done % 25 == 0 or done == len(writes):
            await kit.progress(done, len(writes), f"{label}: {done}/{len(writes)} in {ws.label}")
        return result

    return list(await asyncio.gather(*(one(w) for w in writes)))


def summary_row(watchlist: dict[str, Any], ws: Workspace, count: int | None) -> dict[str, Any]:
    p = props(watchlist)
    return {"alias": p.get("watchlistAlias") or watchlist.get("name"), "display_name": p.get("displayName"),
            "search_key": p.get("itemsSearchKey"), "provider": p.get("provider"), "source": p.get("source"),
            "description": p.get("description"), "items": count, "labels": p.get("labels") or [],
            "default_duration": p.get("defaultDuration"), "updated": p.get("updated"), "workspace": ws.label,
            "tenant": ws.tenant_label, "etag": watchlist.get("etag")}
