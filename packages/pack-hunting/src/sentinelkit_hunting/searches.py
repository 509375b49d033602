"""Saved searches (``Microsoft.OperationalInsights/workspaces/savedSearches``), the one resource behind
hunting queries (category "Hunting Queries", tags ``description``/``tactics``/``techniques``), saved
functions (a ``functionAlias``) and saved queries (any other category)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sentinelkit import Kit, KitError, NotFoundError, Workspace, clip

from . import api

#: saved-search names this pack chooses: derived from the identity, so a retried create cannot duplicate
NAMESPACE = uuid.UUID("6c9b3f5e-8a0d-4c8e-9a41-0f5d7f1e2b11")
_LIST_TAGS = ("tactics", "techniques")


async def list_searches(kit: Kit, ws: Workspace, *, fresh: bool = False) -> list[dict[str, Any]]:
    if fresh:
        kit.invalidate(api.saved_searches(ws))
    return await kit.arm(ws).list(api.saved_searches(ws), api.LOG_ANALYTICS,
                                  where=ws.where(resource="saved searches", operation="list"))


def props(search: dict[str, Any]) -> dict[str, Any]:
    return dict(search.get("properties") or {})


def tags(search: dict[str, Any]) -> dict[str, str]:
    """Sentinel's tags as a dict (the service keeps them as ``[{name, value}]``)."""
    return {str(t.get("name")): str(t.get("value") or "") for t in props(search).get("tags") or []
            if isinstance(t, dict) and t.get("name")}


def tag_list(value: str) -> list[str]:
    return [v.strip() for v in re.split(r"[,;]", value or "") if v.strip()]


def make_tags(description: str | None, tactics: list[str], techniques: list[str],
              extra: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The tags Sentinel reads a hunting query's description, tactics and techniques from."""
    out = dict(extra or {})
    for name in ("description", *_LIST_TAGS):
        out.pop(name, None)
    if description:
        out["description"] = description
    if tactics:
        out["tactics"] = ",".join(tactics)
    if techniques:
        out["techniques"] = ",".join(techniques)
    return [{"name": k, "value": v} for k, v in out.items()]


def is_hunting(search: dict[str, Any]) -> bool:
    return str(props(search).get("category", "")).lower() == api.HUNTING_CATEGORY.lower()


def is_function(search: dict[str, Any]) -> bool:
    return bool(props(search).get("functionAlias"))


def identity(search: dict[str, Any]) -> str:
    """The same saved search in two workspaces: a function by its alias (unique in a workspace, and what
    queries call), anything else by category and display name (what a person sees in the portal)."""
    p = props(search)
    if p.get("functionAlias"):
        return f"function:{p['functionAlias']}"
    return f"{p.get('category', '')}/{p.get('displayName', '')}"


def name_for(identity_text: str) -> str:
    return str(uuid.uuid5(NAMESPACE, identity_text.lower()))


def hunting_row(search: dict[str, Any], ws: Workspace) -> dict[str, Any]:
    p, t = props(search), tags(search)
    return {"name": search.get("name"), "display_name": p.get("displayName"), "category": p.get("category"),
            "tactics": tag_list(t.get("tactics", "")), "techniques": tag_list(t.get("techniques", "")),
            "description": t.get("description"), "query": p.get("query"), "workspace": ws.label,
            "tenant": ws.tenant_label, "etag": search.get("etag"),
            "tags": {k: v for k, v in t.items() if k not in ("description", *_LIST_TAGS)}}


def find(searches: list[dict[str, Any]], ref: str, ws: Workspace, *, what: str,
         category: str | None = None) -> dict[str, Any]:
    """One saved search by its name (GUID) or display name (case-insensitive) within ``category``."""
    ref_l = ref.strip().lower()
    pool = [s for s in searches if category is None or str(props(s).get("category", "")).lower() == category.lower()]
    by_name = [s for s in pool if str(s.get("name", "")).lower() == ref_l]
    if by_name:
        return by_name[0]
    by_display = [s for s in pool if str(props(s).get("displayName", "")).lower() == ref_l]
    if len(by_display) == 1:
        return by_display[0]
    if len(by_display) > 1:
        names = ", ".join(str(s.get("name")) for s in by_display)
        raise KitError(f"{len(by_display)} {what}s in workspace {ws.label} are called {ref!r} ({names}); name one by "
                       "its name")
    close = [str(props(s).get("displayName")) for s in pool if ref_l in str(props(s).get("displayName", "")).lower()]
    hint = f" Similar: {', '.join(close[:5])}." if close else ""
    raise KitError(f"no {what} {ref!r} in workspace {ws.label}.{hint} List them first.")


async def read(kit: Kit, ws: Workspace, name: str) -> dict[str, Any] | None:
    try:
        return await kit.arm(ws).get(api.saved_search(ws, name), api.LOG_ANALYTICS, cache=False,
                                     where=ws.where(resource=f"saved search {name}", operation="read"))
    except NotFoundError:
        return None


async def put(kit: Kit, ws: Workspace, name: str, properties: dict[str, Any], *, etag: str | None,
              action: str) -> dict[str, Any]:
    """Write a saved search; with ``etag`` only if it is unchanged (Log Analytics reads it from the body)."""
    body: dict[str, Any] = {"properties": properties}
    if etag:
        body["etag"] = etag
    result: dict[str, Any] = await kit.arm(ws).put(api.saved_search(ws, name), api.LOG_ANALYTICS, body, etag=etag,
                                                   where=ws.where(resource=f"saved search {name}", operation=action))
    return result


async def delete(kit: Kit, ws: Workspace, search: dict[str, Any], *, action: str) -> None:
    await kit.arm(ws).delete(api.saved_search(ws, str(search["name"])), api.LOG_ANALYTICS, etag=search.get("etag"),
                             where=ws.where(resource=f"saved search {search['name']}", operation=action))


WRITABLE = ("category", "displayName", "query", "functionAlias", "functionParameters", "version", "tags")


def writable(search: dict[str, Any]) -> dict[str, Any]:
    p = props(search)
    return {k: p[k] for k in WRITABLE if p.get(k) not in (None, "")}


def expect_etag(current: dict[str, Any], etag: str | None, what: str, ws: Workspace, *, undone: str) -> None:
    """Refuse when the caller read another version (``etag``) than the one there now."""
    if etag and etag != current.get("etag"):
        raise KitError(f"{what} in {ws.label} changed since you read it (etag {etag} → {current.get('etag')}); read "
                       f"it again. Nothing was {undone}.")


async def update(kit: Kit, ws: Workspace, current: dict[str, Any], new: dict[str, Any], *, what: str,
                 row: Callable[[dict[str, Any], Workspace], dict[str, Any]], hidden: str,
                 check: Callable[[], Awaitable[Any]] | None = None) -> dict[str, Any]:
    """Write ``new`` properties over ``current`` (with its etag) after confirmation; nothing when equal.
    ``check`` (KQL) runs only when something changes; its note joins the answer."""
    old = writable(current)
    changes = {k: {"from": old.get(k), "to": new.get(k)} for k in set(old) | set(new) if old.get(k) != new.get(k)}
    if not changes:
        return {"changed": False, "name": current["name"], "message": f"the {what} already is so; nothing was written"}
    verdict = await check() if check else None
    await kit.confirm_change(f"update {what} in workspace {ws.label}", clip(changes, 2000))
    stored = await put(kit, ws, str(current["name"]), new, etag=current.get("etag"), action=f"update {what}")
    out = {"changed": True, "changes": sorted(changes), **{k: v for k, v in row(stored, ws).items() if k != hidden}}
    note = getattr(verdict, "note", None)
    if note:
        out["note"] = note
    return out
