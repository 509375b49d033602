"""``watchlist_sync``: make one watchlist the same in many workspaces and tenants (an MSSP's IOC or VIP
list): a preview per workspace of the items to add, update and remove, one confirmation, then a
result per workspace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sentinelkit import DESTRUCTIVE, Kit, KitError, Workspace, clip, tool

from . import api, csvdata, reach
from . import watchlist_store as store
from .settings import HuntingSettings
from .watchlists import load_table

SAMPLE = 5


@dataclass
class Plan:
    ws: Workspace
    create: bool
    writes: list[store.ItemWrite] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for w in self.writes:
            out[w.outcome] = out.get(w.outcome, 0) + 1
        return out

    def preview(self) -> dict[str, Any]:
        keys: dict[str, list[str]] = {}
        for w in self.writes:
            keys.setdefault(w.outcome, []).append(w.key)
        return {"create_watchlist": self.create, **self.counts(),
                "examples": {k: v[:SAMPLE] for k, v in keys.items()}}


def _source_props(watchlist: dict[str, Any]) -> dict[str, Any]:
    p = store.props(watchlist)
    return {k: p[k] for k in ("displayName", "provider", "source", "description", "labels", "defaultDuration",
                              "itemsSearchKey") if p.get(k)}


def _plan(ws: Workspace, alias: str, key: str, table: csvdata.Table, current: dict[str, Any] | None,
          items: list[dict[str, Any]], remove_extra: bool) -> Plan:
    if current is None:
        return Plan(ws, True, [store.ItemWrite("put", r[key], store.item_name(ws, alias, r[key]), r) for r in table.rows])
    their_key = store.props(current).get("itemsSearchKey")
    if their_key != key:
        raise KitError(f"watchlist {alias} in {ws.label} is keyed by {their_key!r}, the source by {key!r}: Sentinel "
                       "cannot change a watchlist's search key. Delete it there first, or sync another alias.")
    existing = store.by_key(items, key)
    wanted = {r[key].strip().lower(): r for r in table.rows}
    writes = []
    for low, row in wanted.items():
        item = existing.get(low)
        if item is None:
            writes.append(store.ItemWrite("put", row[key], store.item_name(ws, alias, row[key]), row))
        elif store.values_of(item) != row:
            writes.append(store.ItemWrite("put", row[key], str(item["name"]), row, item.get("etag"), "updated"))
    if remove_extra:
        writes += [store.ItemWrite("delete", store.key_of(item, key), str(item["name"]), None, item.get("etag"),
                                   "removed") for low, item in existing.items() if low not in wanted]
    return Plan(ws, False, writes)


@tool(DESTRUCTIVE, title="Make a watchlist the same everywhere")
async def watchlist_sync(kit: Kit, alias: str, from_workspace: str | None = None, csv_text: str | None = None,
                         csv_file: str | None = None, rows: list[dict[str, Any]] | None = None,
                         search_key: str | None = None, display_name: str | None = None,
                         provider: str = "Custom", description: str | None = None,
                         workspaces: list[str] | str | None = None, tenant: str | None = None,
                         remove_extra: bool = True) -> dict[str, Any]:
    """Make one watchlist identical in many workspaces and tenants (e.g. an MSSP's IOC or VIP list).

    The content comes from the watchlist in from_workspace, or from CSV text, a CSV file of the export
    directory or rows. Shows per workspace the items to add, update and remove (and where the watchlist
    is created), asks once, then reports the result per workspace.

    Args:
        alias: The watchlist's alias, the same everywhere.
        from_workspace: Copy the watchlist of this workspace (it is left unchanged).
        csv_text: The content as CSV (a header line first), instead of from_workspace.
        csv_file: A CSV file in the export directory, instead of from_workspace.
        rows: The content as objects of column -> value, instead of from_workspace.
        search_key: The search-key column (needed without from_workspace).
        display_name: The display name for workspaces where it is created (default: the source's, else the alias).
        provider: Provider for workspaces where it is created, without from_workspace (default "Custom").
        description: Description for workspaces where it is created, without from_workspace.
        workspaces: Workspaces to make the same, or "all" (default: every Sentinel workspace).
        tenant: Only workspaces of this tenant.
        remove_extra: Remove items the source does not have (default true); false only adds and updates.
    """
    source_ws = await kit.workspace(from_workspace) if from_workspace else None
    if source_ws is not None:
        if csv_text or csv_file or rows:
            raise KitError("give from_workspace or the content (csv_text, csv_file, rows), not both")
        source = await store.need(kit, source_ws, alias)
        created_props = _source_props(source)
        key = str(created_props["itemsSearchKey"])
        items = await store.list_items(kit, source_ws, alias)
        table = csvdata.from_rows([store.values_of(i) for i in items], key, source=f"{alias} in {source_ws.label}") \
            if items else csvdata.Table([key], [])
    else:
        if not search_key:
            raise KitError("give search_key (the column items are found by) with csv_text, csv_file or rows")
        table = load_table(kit, search_key, csv_text, csv_file, rows)
        key = search_key
        created_props = {"displayName": display_name or alias, "provider": provider, "itemsSearchKey": key,
                         "source": csv_file.rsplit("/", 1)[-1] if csv_file else "sentinelkit",
                         **({"description": description} if description else {})}
    if display_name:
        created_props["displayName"] = display_name
    targets = await kit.targets(workspaces=workspaces, tenant=tenant)
    chosen = [ws for ws in targets if source_ws is None or ws.id.lower() != source_ws.id.lower()]
    if not chosen:
        raise KitError("no target workspace (the source workspace is not a target of its own sync)")

    async def plan_one(ws: Workspace) -> Plan:
        current = await store.read(kit, ws, alias)
        items = await store.list_items(kit, ws, alias) if current is not None else []
        return _plan(ws, alias, key, table, current, items, remove_extra)

    planned = await kit.fan_out(chosen, plan_one, label="previews")
    plans = [p for _, p in planned.results]
    errors = await reach.errors(kit, targets, planned)
    todo = [p for p in plans if p.create or p.writes]
    head: dict[str, Any] = {"watchlist": alias, "items_in_source": len(table.rows),
                            "already_the_same": sorted(p.ws.label for p in plans if not (p.create or p.writes))}
    if errors:
        head["errors"] = errors
    if not todo:
        return {**head, "message": "the watchlist already is the same everywhere; nothing was written"}
    preview = {p.ws.label: p.preview() for p in todo}
    totals = {k: sum(p.counts().get(k, 0) for p in todo) for k in ("added", "updated", "removed")}
    await kit.confirm_change(
        f"make watchlist {alias} the same in {len(todo)} workspace(s): create it in "
        f"{sum(p.create for p in todo)}, add {totals['added']}, update {totals['updated']}, remove "
        f"{totals['removed']} item(s)", clip({"per_workspace": preview, "skipped_errors": errors}, 500))
    settings = kit.pack_settings(HuntingSettings)

    async def apply(plan: Plan) -> dict[str, Any]:
        writes = plan.writes
        if plan.create:
            raw, first = csvdata.chunks(table.columns, table.rows, settings.max_upload_bytes)
            if len(table.rows) - first > settings.max_item_uploads:
                raise KitError(f"{len(table.rows)} items do not fit one upload and max_item_uploads; not created")
            body = {"properties": {**created_props, "sourceType": "Local", "contentType": "text/csv",
                                   "rawContent": raw, "numberOfLinesToSkip": 0}}
            await kit.arm(plan.ws).put(api.watchlist(plan.ws, alias), api.SENTINEL, body,
                                       where=plan.ws.where(resource=f"watchlist {alias}", operation="sync create"))
            writes = writes[first:]
        results = await store.write_items(kit, plan.ws, alias, writes, concurrency=settings.item_concurrency,
                                          label=f"sync {alias}")
        failed = [r for r in results if r["result"] == "failed"]
        out: dict[str, Any] = {"created": plan.create, **plan.counts()}
        if failed:
            out["failed"] = failed[:10]
        return out

    applied = await kit.fan_out([p.ws for p in todo], lambda ws: apply(next(p for p in todo if p.ws is ws)),
                                label="workspaces")
    results = {ws.label: r for ws, r in applied.results}
    apply_errors = applied.error_messages()
    bad = [k for k, r in results.items() if r.get("failed")] + list(apply_errors)
    if bad:
        kit.report_outcome("partial" if len(bad) < len(todo) else "failed",
                           f"watchlist {alias} not fully synced in {', '.join(bad)}")
    out = {**head, "results": results}
    if apply_errors:
        out["failed_workspaces"] = apply_errors
    return out

