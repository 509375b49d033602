"""``watchlist_list/get/create/delete``: Sentinel watchlists, created from CSV text, a CSV file of the
export directory or rows; CSVs over 3.8 MB (one PUT's limit) go in as one upload plus item writes."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, Workspace, clip, tool

from . import api, csvdata, reach
from . import watchlist_store as store
from .settings import HuntingSettings

DEFAULT_FIELDS = ["alias", "display_name", "search_key", "provider", "items", "workspace"]
_ALIAS = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")


def load_table(kit: Kit, search_key: str, csv_text: str | None, csv_file: str | None,
               rows: list[dict[str, Any]] | None, skip_lines: int = 0) -> csvdata.Table:
    """The items to upload, from exactly one source, checked before anything is written."""
    given = [n for n, v in (("csv_text", csv_text), ("csv_file", csv_file), ("rows", rows)) if v]
    if len(given) != 1:
        raise KitError("give the items one way: csv_text, csv_file (a CSV in the export directory) or rows")
    if rows:
        return csvdata.from_rows(rows, search_key)
    if csv_file:
        path = kit.export_path(csv_file)
        if not path.is_file():
            raise KitError(f"{csv_file} is not a file in the export directory {kit.export_dir}")
        return csvdata.parse(path.read_text(encoding="utf-8-sig"), search_key, skip_lines=skip_lines, source=csv_file)
    return csvdata.parse(csv_text or "", search_key, skip_lines=skip_lines, source="csv_text")


@tool(READ_ONLY, title="List watchlists")
async def watchlist_list(kit: Kit, workspaces: list[str] | str | None = None, workspace: str | None = None,
                         tenant: str | None = None, fields: list[str] | None = None, limit: int = 25,
                         cursor: str | None = None) -> dict[str, Any]:
    """List watchlists with their search key, provider and item count, in one or many workspaces.

    Args:
        workspaces: Workspaces to list, or "all" (default: every Sentinel workspace).
        workspace: One workspace instead of `workspaces`.
        tenant: Only workspaces of this tenant.
        fields: Fields to return (default: alias, display_name, search_key, provider, items, workspace); also source, description, labels, default_duration, updated, tenant, etag; ["*"] for all.
        limit: Items per page.
        cursor: next_cursor of the previous page.
    """
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)

    async def one(ws: Workspace) -> list[dict[str, Any]]:
        found = await store.list_watchlists(kit, ws, fresh=cursor is None)
        counts = await asyncio.gather(*(store.list_items(kit, ws, str(w["name"]), fresh=cursor is None)
                                        for w in found))
        return [store.summary_row(w, ws, len(c)) for w, c in zip(found, counts, strict=True)]

    return await reach.listing(kit, chosen, one, keep=lambda r: True, order="alias", key="watchlists",
                               default_fields=DEFAULT_FIELDS, fields=fields, limit=limit, cursor=cursor, clip_at=300)


@tool(READ_ONLY, title="Show a watchlist")
async def watchlist_get(kit: Kit, workspace: str, alias: str, sample: int = 5) -> dict[str, Any]:
    """Show a watchlist: search key, provider, description, columns, item count and a few items.

    Args:
        workspace: Workspace alias, name or ARM id.
        alias: The watchlist's alias (what _GetWatchlist('alias') takes).
        sample: How many items to show (0-50); watchlist_item_list pages through all of them.
    """
    if not 0 <= sample <= 50:
        raise KitError("sample must be between 0 and 50")
    ws = await kit.workspace(workspace)
    watchlist = await store.need(kit, ws, alias)
    items = await store.list_items(kit, ws, alias)
    columns: list[str] = []
    for item in items:
        columns += [c for c in store.values_of(item) if c not in columns]
    return clip({**store.summary_row(watchlist, ws, len(items)), "columns": columns,
                 "sample": [store.values_of(i) for i in items[:sample]]}, 1000)


@tool(ADDITIVE, title="Create a watchlist")
async def watchlist_create(kit: Kit, workspace: str, alias: str, display_name: str, search_key: str,
                           csv_text: str | None = None, csv_file: str | None = None,
                           rows: list[dict[str, Any]] | None = None, provider: str = "Custom",
                           description: str | None = None, source: str | None = None,
                           default_duration: str | None = None, labels: list[str] | None = None,
                           skip_lines: int = 0) -> dict[str, Any]:
    """Create a watchlist from CSV text, a CSV file in the export directory, or rows.

    Every row is checked first (search-key column present, a unique non-empty key per row): a bad CSV
    writes nothing. Up to 3.8 MB of CSV goes in one upload; the rest is written item by item (at most
    [packs.hunting] max_item_uploads items).

    Args:
        workspace: Workspace alias, name or ARM id.
        alias: The watchlist's alias, used by _GetWatchlist('alias') (letters, digits, '_' and '-').
        display_name: The name shown in the portal.
        search_key: The column items are found (and joined) by; its values must be unique.
        csv_text: The items as CSV, a header line first.
        csv_file: A CSV file in the export directory (a path relative to it).
        rows: The items as objects of column -> value.
        provider: Who provides the list (default "Custom").
        description: What the watchlist is for.
        source: The source shown in the portal (default: the file name, else "sentinelkit").
        default_duration: How long items live, an ISO 8601 duration (e.g. P30D); default: forever.
        labels: Labels of the watchlist.
        skip_lines: Lines to skip before the CSV header (csv_text / csv_file).
    """
    if not _ALIAS.match(alias):
        raise KitError(f"watchlist alias {alias!r} is invalid: use letters, digits, '_' and '-' (at most 64)")
    ws = await kit.workspace(workspace)
    table = load_table(kit, search_key, csv_text, csv_file, rows, skip_lines)
    settings = kit.pack_settings(HuntingSettings)
    if await store.read(kit, ws, alias) is not None:
        raise KitError(f"workspace {ws.label} already has a watchlist {alias!r}: change its items with "
                       "watchlist_item_add/update/remove or watchlist_sync, or delete it first. Nothing was written.")
    raw, first = csvdata.chunks(table.columns, table.rows, settings.max_upload_bytes)
    rest = table.rows[first:]
    if len(rest) > settings.max_item_uploads:
        raise KitError(f"{len(table.rows)} rows: {first} fit in one upload ({settings.max_upload_bytes:,} bytes) and {len(rest)} would be written "
                       f"one by one, more than max_item_uploads ({settings.max_item_uploads}; ARM allows about 10 "
                       "writes a second). Split the list, trim unneeded columns, or create a large watchlist from "
                       "Azure Storage in the portal. Nothing was written.")
    properties: dict[str, Any] = {
        "displayName": display_name, "provider": provider, "itemsSearchKey": search_key,
        "source": source or (csv_file.rsplit("/", 1)[-1] if csv_file else "sentinelkit"), "sourceType": "Local",
        "contentType": "text/csv", "rawContent": raw, "numberOfLinesToSkip": 0,
        **({"description": description} if description else {}),
        **({"defaultDuration": default_duration} if default_duration else {}),
        **({"labels": labels} if labels else {}),
    }
    await kit.confirm_change(
        f"create watchlist {alias} ({len(table.rows)} items) in workspace {ws.label}",
        {"alias": alias, "display_name": display_name, "search_key": search_key, "columns": table.columns,
         "items": len(table.rows), "uploaded_in_one_put": first, "written_one_by_one": len(rest),
         "sample": table.rows[:3]})
    await kit.arm(ws).put(api.watchlist(ws, alias), api.SENTINEL, {"properties": properties},
                          where=ws.where(resource=f"watchlist {alias}", operation="create"))
    failed: list[dict[str, Any]] = []
    if rest:
        writes = [store.ItemWrite("put", r[search_key], store.item_name(ws, alias, r[search_key]), r) for r in rest]
        results = await store.write_items(kit, ws, alias, writes, concurrency=settings.item_concurrency,
                                          label=f"watchlist {alias}")
        failed = [r for r in results if r["result"] == "failed"]
    out = {"created": alias, "workspace": ws.label, "items": len(table.rows), "uploaded_in_one_put": first,
           "written_one_by_one": len(rest)}
    if failed:
        kit.report_outcome("partial", f"{len(failed)} of {len(rest)} items not written")
        out["failed_items"] = failed[:25]
        out["next_step"] = ("the watchlist exists with the other items; run watchlist_item_add with the same rows "
                            "to add the missing ones (items already there are left as they are)")
    return out


@tool(DESTRUCTIVE, title="Delete a watchlist")
async def watchlist_delete(kit: Kit, workspace: str, alias: str) -> dict[str, Any]:
    """Delete a watchlist and all its items (asks for confirmation first).

    Args:
        workspace: Workspace alias, name or ARM id.
        alias: The watchlist's alias.
    """
    ws = await kit.workspace(workspace)
    current = await store.need(kit, ws, alias)
    count = len(await store.list_items(kit, ws, alias))
    await kit.confirm_change(f"delete watchlist {alias} and its {count} items from workspace {ws.label}",
                             store.summary_row(current, ws, count))
    await kit.arm(ws).delete(api.watchlist(ws, alias), api.SENTINEL, etag=current.get("etag"),
                             where=ws.where(resource=f"watchlist {alias}", operation="delete"))
    return {"deleted": alias, "items": count, "workspace": ws.label}
