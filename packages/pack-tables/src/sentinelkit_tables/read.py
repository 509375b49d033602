"""Reading tables: the listing across workspaces (with 30-day volumes) and one table in full."""

from __future__ import annotations

import fnmatch
from typing import Any

from sentinelkit import READ_ONLY, Kit, KitError, Workspace, tool

from .tables import PLANS, TYPE_NAMES, columns_of, list_tables, read_table, row
from .volumes import volumes

DEFAULT_FIELDS = ["workspace", "name", "type", "plan", "retention_days", "retention_default", "total_retention_days",
                  "total_default", "volume_30d_gb", "billable_30d_gb"]


def _choice(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is None:
        return None
    found = next((a for a in allowed if a.lower() == value.strip().lower().replace(" ", "_")), None)
    if found is None:
        raise KitError(f"{what} {value!r} is unknown; use one of {', '.join(allowed)}")
    return found


@tool(READ_ONLY, title="List Log Analytics tables")
async def table_list(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                     tenant: str | None = None, plan: str | None = None, type: str | None = None,
                     name: str | None = None, retention_below: int | None = None, total_retention_below: int | None = None,
                     with_data: bool = False, fields: list[str] | None = None, limit: int = 50,
                     cursor: str | None = None) -> dict[str, Any]:
    """List the tables of one workspace or many (across tenants): plan, interactive and total retention (and
    whether each follows the workspace default), type, and the GB ingested in the last 30 days and how much of it
    is billed (Usage), so that you see what a plan or retention change is worth. Largest tables first in each workspace.

    Args:
        workspace: One workspace (alias, name or ARM id); omit to cover `workspaces`/`tenant`.
        workspaces: Workspaces to cover (names, aliases or ids), or "all" (the default): every reachable Log Analytics workspace.
        tenant: Only workspaces of this tenant (short name, display name or id).
        plan: Only tables on this plan: Analytics, Basic or Auxiliary.
        type: Only tables of this type: microsoft, custom, restored or search_results.
        name: Only tables whose name matches this pattern (case-insensitive; * and ? wildcards, e.g. "*_CL", "Sec*").
        retention_below: Only tables whose interactive retention is below this many days.
        total_retention_below: Only tables whose total retention (interactive + long-term) is below this many days.
        with_data: Only tables that ingested data in the last 30 days.
        fields: Fields per table (default: workspace, name, type, plan, retention_days, retention_default, total_retention_days, total_default, volume_30d_gb, billable_30d_gb); more: long_term_days, sub_type, provisioning_state, last_plan_change, description, columns; ["*"] for all.
        limit: Tables per page.
        cursor: next_cursor of the previous page.
    """
    wanted_plan = _choice(plan, PLANS, "plan")
    wanted_type = _choice(type, TYPE_NAMES, "type")
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant, sentinel_only=False)

    async def one(ws: Workspace) -> tuple[list[dict[str, Any]], str | None]:
        tables = await list_tables(kit, ws)
        usage = await volumes(kit, ws)
        rows = []
        for t in tables:
            r = row(t, ws, usage.of(str(t.get("name"))), usage.billable(str(t.get("name"))))
            if ((wanted_plan and r["plan"] != wanted_plan) or (wanted_type and r["type"] != wanted_type)
                    or (name and not fnmatch.fnmatch(str(r["name"]).lower(), name.lower()))
                    or (retention_below is not None and r["retention_days"] >= retention_below)
                    or (total_retention_below is not None and r["total_retention_days"] >= total_retention_below)
                    or (with_data and not usage.has_data(str(r["name"])))):
                continue
            rows.append(r)
        rows.sort(key=lambda r: (-(r["volume_30d_gb"] or 0), str(r["name"])))
        return rows, usage.error

    done = await kit.fan_out(chosen, one)
    items = [r for _, (rows, _) in done.results for r in rows]
    extra: dict[str, Any] = {"workspaces": done.total}
    notes = [f"{done.key(ws)}: {error}" for ws, (_, error) in done.results if error]
    if notes:
        extra["volume_notes"] = notes
    if done.errors:
        extra["errors"] = done.error_messages()
    return kit.page(items, fields=fields, default_fields=DEFAULT_FIELDS, limit=limit, cursor=cursor, key="tables",
                    extra=extra)


@tool(READ_ONLY, title="Show a Log Analytics table")
async def table_get(kit: Kit, workspace: str, table: str) -> dict[str, Any]:
    """Show one table: its columns (type, description; the service's standard columns and the table's own),
    plan, interactive and total retention, type, provisioning state (Updating while a change is applied) and its
    30-day ingestion volume.

    Args:
        workspace: Workspace alias, name or ARM id.
        table: Table name (case-sensitive, e.g. SecurityEvent or MyApp_CL).
    """
    ws = await kit.workspace(workspace)
    data = await read_table(kit, ws, table)
    usage = await volumes(kit, ws)
    out = row(data, ws, usage.of(table), usage.billable(table))
    p = data.get("properties") or {}
    out["columns"] = columns_of(data)
    for key, label in (("searchResults", "search_job"), ("restoredLogs", "restore"),
                       ("resultStatistics", "result_statistics")):
        if p.get(key):
            out[label] = p[key]
    if usage.error:
        out["volume_note"] = usage.error
    return out
