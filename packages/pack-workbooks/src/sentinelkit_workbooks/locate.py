"""Finding a workspace's Sentinel workbooks: by display name (what a person knows), GUID or ARM id."""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sentinelkit import Kit, KitError, NotFoundError, PreconditionFailedError, Workspace

from . import api

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
#: names new workbooks by workspace and display name, so that a retried import names the same one
_NAMESPACE = uuid.UUID("8d3c1a52-5b0e-4b5e-9a55-3f1f3c7c2b6e")


async def list_workbooks(kit: Kit, ws: Workspace, *, content: bool, cache: bool = True) -> list[dict[str, Any]]:
    """The workspace's Sentinel workbooks (category ``sentinel``, sourceId = the workspace), as Sentinel lists
    them; ``content`` includes each one's serializedData."""
    params = {"category": api.CATEGORY, "sourceId": ws.id, "canFetchContent": "true" if content else "false"}
    items = await kit.arm(ws).list(api.collection(ws), api.VERSION, params=params, cache=cache,
                                   where=ws.where(operation="list workbooks"))
    return [w for w in items if str((w.get("properties") or {}).get("sourceId", "")).lower() == ws.id.lower()]


async def get(kit: Kit, ws: Workspace, name: str, *, cache: bool = False) -> dict[str, Any] | None:
    """The workbook ``name`` (a GUID) of the workspace's resource group with its content, or None."""
    try:
        return await kit.arm(ws).get(api.item(ws, name), api.VERSION, cache=cache, params={"canFetchContent": "true"},
                                     where=ws.where(resource=f"workbook {name}", operation="read"))
    except NotFoundError:
        return None


def display_name(resource: dict[str, Any]) -> str:
    return str((resource.get("properties") or {}).get("displayName") or resource.get("name") or "")


def by_display_name(items: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    wanted = name.strip().lower()
    return [w for w in items if display_name(w).strip().lower() == wanted]


async def find(kit: Kit, ws: Workspace, ref: str, *, cache: bool = False) -> dict[str, Any]:
    """The workbook ``ref`` names (display name, GUID or ARM id), read with its content and etag."""
    ref = ref.strip()
    guid = ref.rstrip("/").rsplit("/", 1)[-1]
    if _GUID.match(guid):
        found = await get(kit, ws, guid, cache=cache)
        if found is not None and _belongs(found, ws):
            return found
        if ref.startswith("/"):
            raise KitError(f"workbook {ref} was not found (workspace {ws.label}, tenant {ws.tenant_label}); list the "
                           "workspace's workbooks with workbook_list")
    listed = await list_workbooks(kit, ws, content=False, cache=cache)
    matches = by_display_name(listed, ref) or [w for w in listed if w.get("name", "").lower() == guid.lower()]
    if len(matches) > 1:
        ids = ", ".join(f"{w['name']} (modified {(w.get('properties') or {}).get('timeModified')})" for w in matches)
        raise KitError(f"{len(matches)} workbooks of workspace {ws.label} are named {ref!r}: {ids}; name one by its id")
    if not matches:
        names = [display_name(w) for w in listed]
        close = difflib.get_close_matches(ref, names, n=3, cutoff=0.5)
        hint = f"; closest: {', '.join(close)}" if close else (f"; it has: {', '.join(sorted(names)[:10])}" if names else
                                                              "; it has none")
        raise KitError(f"no Sentinel workbook {ref!r} in workspace {ws.label} (tenant {ws.tenant_label}){hint}. "
                       "List them with workbook_list")
    found = await get(kit, ws, matches[0]["name"], cache=cache)
    if found is None:
        raise KitError(f"workbook {ref!r} of workspace {ws.label} disappeared while it was being read; list again")
    return found


def _belongs(resource: dict[str, Any], ws: Workspace) -> bool:
    return str((resource.get("properties") or {}).get("sourceId", "")).lower() == ws.id.lower()


async def free_name(kit: Kit, ws: Workspace, display: str, preferred: str | None = None) -> str:
    """A GUID for a new workbook: ``preferred`` (the id a file came with) when it is free, else one derived
    from the workspace and the display name (a retried import picks the same), else the next free one."""
    candidates = [preferred] if preferred and _GUID.match(preferred) else []
    candidates += [str(uuid.uuid5(_NAMESPACE, f"{ws.id.lower()}\n{display}\n{n}")) for n in range(20)]
    for name in candidates:
        if await get(kit, ws, name) is None:
            return name
    raise KitError(f"no free workbook id was found in resource group {ws.resource_group}; retry")


def etag_to_send(resource: dict[str, Any], etag: str | None, ws: Workspace, verb: str) -> str | None:
    """The etag a write sends: the one the caller read (refused now when the workbook changed since), else
    the current one."""
    current = resource.get("etag")
    if etag and current and etag.strip('"') != str(current).strip('"'):
        raise KitError(f"workbook {display_name(resource)!r} ({resource.get('name')}) of {ws.label} changed since it "
                       f"was read (etag {etag} given, now {current}); nothing was {verb}. Read it again (workbook_get) "
                       "and retry with the new etag")
    return etag or current


@contextmanager
def stale_etag(resource: dict[str, Any], ws: Workspace, verb: str) -> Iterator[None]:
    """A 412 from the service: someone changed the workbook between our read and our write."""
    try:
        yield
    except PreconditionFailedError as exc:
        raise exc.with_message(f"workbook {display_name(resource)!r} ({resource.get('name')}) of {ws.label} changed "
                               f"since it was read (its etag no longer matches); nothing was {verb}. Read it again "
                               "(workbook_get) and retry") from None
