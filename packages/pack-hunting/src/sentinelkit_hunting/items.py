"""``watchlist_item_list/add/update/remove``: watchlist items addressed by their search-key value,
idempotent (adding an item that is there changes nothing) and in bulk, with a result per item."""

from __future__ import annotations

from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, Workspace, clip, tool

from . import csvdata
from . import watchlist_store as store
from .settings import HuntingSettings
from .watchlists import load_table

MAX_BULK = 5_000


@tool(READ_ONLY, title="List watchlist items")
async def watchlist_item_list(kit: Kit, workspace: str, alias: str, search: str | None = None,
                              export_file: str | None = None, overwrite: bool = False, limit: int = 50,
                              cursor: str | None = None) -> dict[str, Any]:
    """List a watchlist's items (their columns), or write them all to a CSV file in the export directory.

    The CSV is safe to open in a spreadsheet: a cell that would run as a formula (=, +, -, @) is
    written with a leading apostrophe.

    Args:
        workspace: Workspace alias, name or ARM id.
        alias: The watchlist's alias.
        search: Only items with this text in their search-key value.
        export_file: Write every (matching) item to this CSV file of the export directory instead of listing them.
        overwrite: Replace export_file if it exists.
        limit: Items per page.
        cursor: next_cursor of the previous page.
    """
    ws = await kit.workspace(workspace)
    watchlist = await store.need(kit, ws, alias)
    key = str(store.props(watchlist).get("itemsSearchKey") or "")
    items = await store.list_items(kit, ws, alias, fresh=cursor is None)
    rows = [store.values_of(i) for i in items]
    if search:
        rows = [r for r in rows if search.lower() in r.get(key, "").lower()]
    rows.sort(key=lambda r: r.get(key, "").lower())
    columns = [key] + [c for r in rows for c in r if c != key]
    columns = list(dict.fromkeys(columns))
    if export_file:
        path = kit.write_export(export_file, csvdata.to_csv(columns, rows, neutralize=True), overwrite=overwrite)
        return {"exported": len(rows), "file": str(path), "columns": columns, "workspace": ws.label,
                "note": "cells that a spreadsheet would run as formulas start with an apostrophe"}
    return kit.page([clip(r, 300) for r in rows], limit=limit, cursor=cursor, key="items",
                    extra={"search_key": key, "total_in_watchlist": len(items)})


def _writes(ws: Workspace, alias: str, key: str, table: csvdata.Table, existing: dict[str, dict[str, Any]],
            mode: str) -> tuple[list[store.ItemWrite], list[dict[str, Any]]]:
    """What adding/updating ``table`` changes, and the per-item results of rows that need no write."""
    writes: list[store.ItemWrite] = []
    results: list[dict[str, Any]] = []
    for row in table.rows:
        value = row[key].strip()
        current = existing.get(value.lower())
        if current is None:
            if mode == "update":
                results.append({"key": value, "result": "not_found"})
            else:
                writes.append(store.ItemWrite("put", value, store.item_name(ws, alias, value), row))
            continue
        # the item keeps its key as stored (keys match whatever their case)
        merged = {**store.values_of(current), **row, key: store.key_of(current, key)} if mode == "update" else row
        if merged == store.values_of(current) or (mode == "add" and _same(current, row)):
            results.append({"key": value, "result": "unchanged"})
        elif mode == "add":
            results.append({"key": value, "result": "exists_with_other_values",
                            "hint": "use watchlist_item_update to change it"})
        else:
            writes.append(store.ItemWrite("put", value, str(current["name"]), merged, current.get("etag"), "updated"))
    return writes, results


def _same(item: dict[str, Any], row: dict[str, str]) -> bool:
    values = store.values_of(item)
    return all(values.get(k, "") == v for k, v in row.items())


async def _bulk(kit: Kit, workspace: str, alias: str, csv_text: str | None, rows: list[dict[str, Any]] | None,
                mode: str) -> dict[str, Any]:
    ws = await kit.workspace(workspace)
    watchlist = await store.need(kit, ws, alias)
    key = str(store.props(watchlist).get("itemsSearchKey") or "")
    table = load_table(kit, key, csv_text, None, rows)
    if len(table.rows) > MAX_BULK:
        raise KitError(f"{len(table.rows)} items in one call; at most {MAX_BULK}. Split them. Nothing was written.")
    existing = store.by_key(await store.list_items(kit, ws, alias), key)
    writes, results = _writes(ws, alias, key, table, existing, mode)
    head = {"watchlist": alias, "workspace": ws.label, "search_key": key}
    if not writes:
        return {**_finish(kit, head, results, 0), "message": "nothing to write: every item already is so"
                if mode == "add" else "nothing to write"}
    verb = "add" if mode == "add" else "update"
    await kit.confirm_change(f"{verb} {len(writes)} item(s) of watchlist {alias} in workspace {ws.label}",
                             clip({"items": [{"key": w.key, "values": w.values} for w in writes[:20]],
                                   "count": len(writes), "unchanged_or_skipped": len(results)}, 500))
    settings = kit.pack_settings(HuntingSettings)
    results += await store.write_items(kit, ws, alias, writes, concurrency=settings.item_concurrency,
                                       label=f"watchlist {alias}")
    return _finish(kit, head, results, len(writes))


def _finish(kit: Kit, head: dict[str, Any], results: list[dict[str, Any]], attempted: int) -> dict[str, Any]:
    failed = [r for r in results if r["result"] == "failed"]
    counts: dict[str, int] = {}
    for r in results:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    if failed:
        kit.report_outcome("partial" if len(failed) < attempted else "failed",
                           f"{len(failed)} of {attempted} item writes failed")
    rank = {"failed": 0, "exists_with_other_values": 1, "not_found": 1}
    shown = sorted(results, key=lambda r: (rank.get(r["result"], 2), r["key"].lower()))[:200]
    out = {**head, "written": attempted - len(failed), "counts": counts, "results": shown}
    if len(results) > len(shown):
        out["results_truncated"] = f"{len(results) - len(shown)} more results; counts has them all"
    return out


@tool(ADDITIVE, title="Add watchlist items")
async def watchlist_item_add(kit: Kit, workspace: str, alias: str, rows: list[dict[str, Any]] | None = None,
                             csv_text: str | None = None) -> dict[str, Any]:
    """Add items to a watchlist (hundreds in one call); an item whose search-key value is there is left as it is.

    Idempotent: calling again with the same rows writes nothing. Each row gets a result: added,
    unchanged, exists_with_other_values (use watchlist_item_update) or failed.

    Args:
        workspace: Workspace alias, name or ARM id.
        alias: The watchlist's alias.
        rows: Items as objects of column -> value; each must have the watchlist's search-key column.
        csv_text: Items as CSV (a header line first) instead of rows.
    """
    return await _bulk(kit, workspace, alias, csv_text, rows, "add")


@tool(ADDITIVE, title="Update watchlist items")
async def watchlist_item_update(kit: Kit, workspace: str, alias: str, rows: list[dict[str, Any]] | None = None,
                                csv_text: str | None = None) -> dict[str, Any]:
    """Change items found by their search-key value: the columns given replace the item's values.

    Each row gets a result: updated, unchanged, not_found or failed. Items are written with their etag.

    Args:
        workspace: Workspace alias, name or ARM id.
        alias: The watchlist's alias.
        rows: Objects of column -> new value, each with the search-key column saying which item.
        csv_text: The same as CSV (a header line first) instead of rows.
    """
    return await _bulk(kit, workspace, alias, csv_text, rows, "update")


@tool(DESTRUCTIVE, title="Remove watchlist items")
async def watchlist_item_remove(kit: Kit, workspace: str, alias: str, keys: list[str]) -> dict[str, Any]:
    """Remove items by their search-key value (asks for confirmation); a value that is not there is reported as absent.

    Args:
        workspace: Workspace alias, name or ARM id.
        alias: The watchlist's alias.
        keys: Search-key values of the items to remove.
    """
    if not keys:
        raise KitError("give the search-key values of the items to remove")
    if len(keys) > MAX_BULK:
        raise KitError(f"{len(keys)} keys in one call; at most {MAX_BULK}")
    ws = await kit.workspace(workspace)
    watchlist = await store.need(kit, ws, alias)
    key = str(store.props(watchlist).get("itemsSearchKey") or "")
    existing = store.by_key(await store.list_items(kit, ws, alias), key)
    writes: list[store.ItemWrite] = []
    results: list[dict[str, Any]] = []
    for value in dict.fromkeys(k.strip() for k in keys if k.strip()):
        current = existing.get(value.lower())
        if current is None:
            results.append({"key": value, "result": "absent"})
        else:
            writes.append(store.ItemWrite("delete", value, str(current["name"]), None, current.get("etag"), "removed"))
    head = {"watchlist": alias, "workspace": ws.label, "search_key": key}
    if not writes:
        return {**head, "written": 0, "results": results, "message": "none of these items is there; nothing removed"}
    await kit.confirm_change(f"remove {len(writes)} item(s) from watchlist {alias} in workspace {ws.label}",
                             {"keys": [w.key for w in writes[:50]], "count": len(writes)})
    settings = kit.pack_settings(HuntingSettings)
    results += await store.write_items(kit, ws, alias, writes, concurrency=settings.item_concurrency,
                                       label=f"watchlist {alias}")
    return _finish(kit, head, results, len(writes))
