"""Content kinds of this pack, for backup, restore, diff and drift over every installed kind:

- ``watchlist``: identity = the alias (what queries call); the object carries its items (sorted by
  search key), so a restored or copied watchlist has the same rows;
- ``saved_search``: hunting queries, saved functions and saved queries. Identity = ``function:<alias>``
  for a function (aliases are unique in a workspace and are what queries call), else
  ``<category>/<display name>`` (what a person sees; the resource name is a random GUID when the portal
  creates one, so it cannot say "the same query" across workspaces and is not part of the normal form).
"""

from __future__ import annotations

from typing import Any, ClassVar

from sentinelkit import ContentKind, Kit, NotFoundError, Workspace, stable

from . import api, csvdata, searches
from . import watchlist_store as store
from .settings import HuntingSettings

_WATCHLIST_SERVER = frozenset({"watchlistId", "tenantId", "uploadStatus", "isDeleted", "watchlistType", "rawContent",
                               "numberOfLinesToSkip", "contentType", "sasUri", "name", "type"})


class WatchlistContent(ContentKind):
    name = "watchlist"
    title = "watchlists"
    drop: ClassVar[frozenset[str]] = ContentKind.drop | _WATCHLIST_SERVER

    async def _with_items(self, kit: Kit, ws: Workspace, watchlist: dict[str, Any]) -> dict[str, Any]:
        key = str(store.props(watchlist).get("itemsSearchKey") or "")
        items = await store.list_items(kit, ws, str(watchlist["name"]))
        rows = sorted((store.values_of(i) for i in items), key=lambda r: r.get(key, "").lower())
        return {**watchlist, "items": rows}

    async def list(self, kit: Kit, ws: Workspace) -> list[dict[str, Any]]:
        return [await self._with_items(kit, ws, w) for w in await store.list_watchlists(kit, ws)]

    async def read(self, kit: Kit, ws: Workspace, identity: str) -> dict[str, Any] | None:
        found = await store.read(kit, ws, identity)
        return await self._with_items(kit, ws, found) if found is not None else None

    def identity(self, obj: dict[str, Any]) -> str:
        return str(store.props(obj).get("watchlistAlias") or obj.get("name"))

    def summary(self, obj: dict[str, Any]) -> dict[str, Any]:
        p = store.props(obj)
        return {"name": self.identity(obj), "display_name": p.get("displayName"), "items": len(obj.get("items") or [])}

    async def write(self, kit: Kit, ws: Workspace, obj: dict[str, Any], *,
                    existing: dict[str, Any] | None) -> dict[str, Any]:
        alias = self.identity(obj)
        p = {k: v for k, v in store.props(obj).items() if k not in _WATCHLIST_SERVER and k not in self.drop}
        key = str(p.get("itemsSearchKey") or "")
        rows = [{str(k): str(v) for k, v in r.items()} for r in obj.get("items") or []]
        path = api.watchlist(ws, alias)
        where = ws.where(resource=f"watchlist {alias}", operation="restore")
        if existing is None:
            columns = list(dict.fromkeys(c for r in rows for c in r)) or [key]
            raw, first = csvdata.chunks(columns, rows, kit.pack_settings(HuntingSettings).max_upload_bytes)
            body = {"properties": {**p, "contentType": "text/csv", "rawContent": raw, "numberOfLinesToSkip": 0}}
            await kit.arm(ws).put(path, api.SENTINEL, body, where=where)
            rest = [store.ItemWrite("put", r[key], store.item_name(ws, alias, r[key]), r) for r in rows[first:]]
            await store.write_items(kit, ws, alias, rest, concurrency=8)
        else:
            await kit.arm(ws).put(path, api.SENTINEL, {"properties": p}, etag=existing.get("etag"), where=where)
            current = store.by_key(await store.list_items(kit, ws, alias), key)
            wanted = {r[key].lower(): r for r in rows}
            writes = [store.ItemWrite("put", r[key], str(current[k]["name"]) if k in current else
                                      store.item_name(ws, alias, r[key]), r,
                                      current[k].get("etag") if k in current else None)
                      for k, r in wanted.items() if k not in current or store.values_of(current[k]) != r]
            writes += [store.ItemWrite("delete", k, str(i["name"]), None, i.get("etag"), "removed")
                       for k, i in current.items() if k not in wanted]
            await store.write_items(kit, ws, alias, writes, concurrency=8)
        written = await self.read(kit, ws, alias)
        assert written is not None
        return written

    async def delete(self, kit: Kit, ws: Workspace, existing: dict[str, Any]) -> None:
        alias = self.identity(existing)
        await kit.arm(ws).delete(api.watchlist(ws, alias), api.SENTINEL, etag=existing.get("etag"),
                                 where=ws.where(resource=f"watchlist {alias}", operation="delete"))


class SavedSearchContent(ContentKind):
    name = "saved_search"
    title = "hunting queries, functions and saved queries"
    drop: ClassVar[frozenset[str]] = ContentKind.drop | {"name", "type"}

    async def list(self, kit: Kit, ws: Workspace) -> list[dict[str, Any]]:
        return await searches.list_searches(kit, ws, fresh=True)

    async def read(self, kit: Kit, ws: Workspace, identity: str) -> dict[str, Any] | None:
        for s in await searches.list_searches(kit, ws, fresh=True):
            if searches.identity(s).lower() == identity.lower():
                return await searches.read(kit, ws, str(s["name"]))
        return None

    def identity(self, obj: dict[str, Any]) -> str:
        return searches.identity(obj)

    def normalize(self, obj: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = stable(obj, drop=self.drop)
        tags = (out.get("properties") or {}).get("tags")
        if isinstance(tags, list):
            out["properties"]["tags"] = sorted(tags, key=lambda t: str(t.get("name")) if isinstance(t, dict) else "")
        return out

    def summary(self, obj: dict[str, Any]) -> dict[str, Any]:
        p = searches.props(obj)
        return {"name": self.identity(obj), "category": p.get("category"), "function": p.get("functionAlias")}

    async def write(self, kit: Kit, ws: Workspace, obj: dict[str, Any], *,
                    existing: dict[str, Any] | None) -> dict[str, Any]:
        properties = searches.writable(obj)
        name = str(existing["name"]) if existing else searches.name_for(self.identity(obj))
        return await searches.put(kit, ws, name, properties, etag=existing.get("etag") if existing else None,
                                  action="restore saved search")

    async def delete(self, kit: Kit, ws: Workspace, existing: dict[str, Any]) -> None:
        try:
            await searches.delete(kit, ws, existing, action="delete saved search")
        except NotFoundError:
            return
