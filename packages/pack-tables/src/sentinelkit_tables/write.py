"""Changing tables: create a custom table, add columns, switch plans, raise or lower retention, delete.

Every rule the service is known to enforce is checked before anything is sent; what only the service
knows (e.g. which Azure tables may use the Basic plan) comes back as its own reason. Writes are
long-running: ``save`` follows them and answers with the state Azure reports.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, Kit, KitError, tool

from .changes import plan_change, plan_notes, retention_change
from .columns import check_table_name, infer_columns, parse_columns, with_time
from .save import final, save
from .settings import INTERACTIVE_RANGE, TOTAL_RANGE
from .tables import (
    LOW_COST_INTERACTIVE_DAYS,
    PLANS,
    Retention,
    columns_of,
    find_table,
    kind_of,
    read_table,
    refuse_if_busy,
    workspace_retention,
)
from .volumes import volumes


@tool(ADDITIVE, title="Create a custom table")
async def table_create(kit: Kit, workspace: str, name: str, columns: list[Any] | None = None,
                       sample_records: list[dict[str, Any]] | None = None, plan: str = "Analytics",
                       retention_days: int | None = None, total_retention_days: int | None = None,
                       description: str | None = None) -> dict[str, Any]:
    """Create a DCR-based custom table (name ending in _CL) from explicit columns or from sample JSON records
    (column types inferred), with a plan and retention. TimeGenerated (dateTime) is always the first column. The
    preview (dry_run) shows the exact schema; an existing table is an error (use table_update_schema).

    Args:
        workspace: Workspace alias, name or ARM id.
        name: Table name ending in _CL, e.g. "MyApp_CL".
        columns: Columns as "Name:type" or {"name", "type", "description", "hint"}; types: string, int, long, real, boolean, dateTime, guid, dynamic.
        sample_records: One or more JSON records as the source sends them (instead of columns): integers become long, numbers real, true/false boolean, ISO 8601 text dateTime, objects/arrays dynamic, other text string.
        plan: Analytics (default), Basic (cheaper ingestion, 30 days interactive, queries billed) or Auxiliary (cheapest; only at creation).
        retention_days: Interactive retention in days (4-730, Analytics only); default: the workspace's.
        total_retention_days: Total retention in days including long-term (4-4383); default: the interactive retention.
        description: What the table holds.
    """
    ws = await kit.workspace(workspace)
    check_table_name(name)
    if (columns is None) == (sample_records is None):
        raise KitError("give either columns or sample_records (one of them) to define the table's schema")
    cols = parse_columns(columns) if columns is not None else infer_columns(sample_records or [])
    cols, added_time = with_time(cols)
    wanted = next((p for p in PLANS if p.lower() == plan.strip().lower()), None)
    if wanted is None:
        raise KitError(f"plan {plan!r} does not exist: use Analytics, Basic or Auxiliary")
    if retention_days is not None and wanted != "Analytics" and retention_days != LOW_COST_INTERACTIVE_DAYS:
        raise KitError(f"a {wanted} table's interactive retention is fixed at {LOW_COST_INTERACTIVE_DAYS} days: leave "
                       "retention_days out and set total_retention_days; nothing was sent")
    _check_range(retention_days, "retention_days", INTERACTIVE_RANGE)
    _check_range(total_retention_days, "total_retention_days", TOTAL_RANGE)
    if (retention_days is not None and total_retention_days is not None
            and -1 not in (retention_days, total_retention_days) and total_retention_days < retention_days):
        raise KitError(f"total_retention_days ({total_retention_days}) is below retention_days ({retention_days}): "
                       "the total includes the interactive period; nothing was sent")
    existing = await find_table(kit, ws, name)
    if existing is not None:
        raise KitError(f"table {name} already exists in {ws.label} ({kind_of(existing)}, {len(columns_of(existing))} "
                       "columns); nothing was changed. Use table_update_schema to add columns, or choose another name.")
    props: dict[str, Any] = {"plan": wanted, "schema": {"name": name, "columns": cols}}
    if description:
        props["schema"]["description"] = description
    if retention_days is not None and wanted == "Analytics":
        props["retentionInDays"] = retention_days
    if total_retention_days is not None:
        props["totalRetentionInDays"] = total_retention_days
    changes: dict[str, Any] = {"table": name, "workspace": ws.label, "plan": wanted, "columns": cols,
                               "body": {"properties": props}}
    if added_time:
        changes["note"] = ("TimeGenerated was added: the data collection rule's transformation must set it "
                           "(e.g. `extend TimeGenerated = now()` or from the record's own time)")
    saved = await save(kit, ws, name, "PUT", {"properties": props},
                       summary=f"create custom table {name} ({wanted}, {len(cols)} columns) in {ws.label}",
                       changes=changes)
    out = {"created": True, **final(saved, ws), "columns": columns_of(saved or {})}
    if added_time:
        out["note"] = changes["note"]
    return out


def _check_range(value: int | None, field: str, bounds: tuple[int, int]) -> None:
    if value is not None and value != -1 and not bounds[0] <= value <= bounds[1]:
        raise KitError(f"{field} {value} is out of range: it must be between {bounds[0]} and {bounds[1]} days, or -1 "
                       "for the default; nothing was sent")


@tool(ADDITIVE, title="Add columns to a table")
async def table_update_schema(kit: Kit, workspace: str, table: str, columns: list[Any],
                              description: str | None = None) -> dict[str, Any]:
    """Add columns to a custom table (or _CF columns to an Azure table). Existing columns are kept: a column
    given again with the same type is left alone, one with another type is refused (the service cannot change
    a column's type), and no column is ever removed. The preview shows the schema before and after.

    Args:
        workspace: Workspace alias, name or ARM id.
        table: Table name, e.g. "MyApp_CL".
        columns: Columns to add, as "Name:type" or {"name", "type", "description", "hint"}.
        description: A new description of the table (custom tables).
    """
    ws = await kit.workspace(workspace)
    current = await read_table(kit, ws, table)
    kind = kind_of(current)
    if kind in ("restored", "search_results"):
        raise KitError(f"table {table} holds {kind.replace('_', ' ')}: its schema comes from its source and can't be "
                       "edited; nothing was sent")
    refuse_if_busy(current, ws)
    schema = (current.get("properties") or {}).get("schema") or {}
    own = [dict(c) for c in schema.get("columns") or []]
    standard = {str(c.get("name")).lower(): c for c in schema.get("standardColumns") or []}
    existing = {str(c.get("name")).lower(): c for c in own} | standard
    given = parse_columns(columns, azure_table=table if kind == "microsoft" else None)
    added = []
    for col in given:
        was = existing.get(col["name"].lower())
        if was is None:
            added.append(col)
        elif str(was.get("type")).lower() != col["type"].lower():
            raise KitError(f"column {was.get('name')} of {table} is {was.get('type')}; the service can't change a "
                           f"column's type (to {col['type']}): its data keeps the type it was stored with. Add a new "
                           f"column (e.g. {col['name']}_{col['type']}) instead; nothing was sent")
    if not added and description is None:
        return {"changed": False, "workspace": ws.label, "table": table,
                "message": "every column given already exists with that type; nothing was sent"}
    new_schema: dict[str, Any] = {"name": table, "columns": own + added}
    if description is not None:
        new_schema["description"] = description
    body = {"properties": {"schema": new_schema}}
    changes = {"table": table, "workspace": ws.label, "add_columns": added,
               "columns_before": [c.get("name") for c in own], "columns_after": [c.get("name") for c in own + added],
               "body": body}
    saved = await save(kit, ws, table, "PATCH", body, changes=changes,
                       summary=f"add {len(added)} column(s) to {table} in {ws.label}")
    return {"updated": True, "added": [c["name"] for c in added], **final(saved, ws),
            "columns": columns_of(saved or {})}


@tool(DESTRUCTIVE, title="Switch a table's plan")
async def table_set_plan(kit: Kit, workspace: str, table: str, plan: str) -> dict[str, Any]:
    """Switch a table between the Analytics and Basic plans. Confirmation is asked because the switch can't be
    undone for a week (Azure allows one switch per table per week) and changes billing and interactive
    retention; the total retention is kept. The preview shows plan and retention before and after, and the
    table's 30-day volume. Auxiliary is chosen at creation only.

    Args:
        workspace: Workspace alias, name or ARM id.
        table: Table name.
        plan: Analytics or Basic.
    """
    ws = await kit.workspace(workspace)
    current = await read_table(kit, ws, table)
    change = plan_change(current, plan, await workspace_retention(kit, ws), dt.datetime.now(dt.UTC))
    if not change.changed:
        return {"changed": False, **final(current, ws), "message": f"{table} is already on the {change.after.plan} "
                "plan; nothing was sent"}
    refuse_if_busy(current, ws)
    usage = await volumes(kit, ws)
    changes = {"table": table, "workspace": ws.label, **change.preview(), "volume_30d_gb": usage.of(table),
               "billable_30d_gb": usage.billable(table), "notes": plan_notes(change.before.plan, change.after.plan)}
    saved = await save(kit, ws, table, "PATCH", {"properties": change.properties}, changes=changes,
                       summary=f"switch table {table} in {ws.label} from {change.before.plan} to {change.after.plan}")
    return {"updated": True, **final(saved, ws), "before": change.before.to_json()}


async def _retention(kit: Kit, workspace: str, table: str, retention_days: int | None,
                     total_retention_days: int | None, *, may_lower: bool) -> dict[str, Any]:
    if retention_days is None and total_retention_days is None:
        raise KitError("give retention_days, total_retention_days or both (-1 resets one to its default)")
    ws = await kit.workspace(workspace)
    current = await read_table(kit, ws, table)
    change = retention_change(current, retention_days, total_retention_days, await workspace_retention(kit, ws))
    lowered = change.lowered()
    if lowered and not may_lower:
        raise KitError(f"this change lowers the retention of {table} in {ws.label}: {'; '.join(lowered)}. Lowering "
                       "retention deletes or hides data, so it needs confirmation: use table_lower_retention with "
                       "the same arguments. Nothing was sent.")
    if not change.changed:
        return {"changed": False, **final(current, ws), "message": "the table already keeps data that long; "
                "nothing was sent"}
    refuse_if_busy(current, ws)
    changes: dict[str, Any] = {"table": table, "workspace": ws.label, **change.preview()}
    if lowered:
        changes["data_no_longer_kept"] = lowered
    verb = "lower" if lowered else "raise"
    summary = f"{verb} the retention of {table} in {ws.label} to {_describe(change.after)}"
    if lowered:
        summary += f"; {lowered[0]}"
    saved = await save(kit, ws, table, "PATCH", {"properties": change.properties}, summary=summary, changes=changes)
    out = {"updated": True, **final(saved, ws), "before": change.before.to_json()}
    if lowered:
        out["data_no_longer_kept"] = lowered
    return out


def _describe(r: Retention) -> str:
    return f"{r.interactive} days interactive, {r.total} days total"


@tool(ADDITIVE, title="Raise a table's retention")
async def table_set_retention(kit: Kit, workspace: str, table: str, retention_days: int | None = None,
                              total_retention_days: int | None = None) -> dict[str, Any]:
    """Raise (or reset to a default that is not lower) a table's interactive and total retention. A change that
    would lower either is refused here, with how many days of data it would stop keeping: use
    table_lower_retention for that (it asks for confirmation). The preview shows the retention before and after.

    Args:
        workspace: Workspace alias, name or ARM id.
        table: Table name.
        retention_days: Interactive (analytics) retention in days, 4-730; -1 = the workspace's default. Fixed at 30 on Basic and Auxiliary tables.
        total_retention_days: Total retention in days (interactive + long-term), 4-4383; -1 = the interactive retention.
    """
    return await _retention(kit, workspace, table, retention_days, total_retention_days, may_lower=False)


@tool(DESTRUCTIVE, title="Lower a table's retention")
async def table_lower_retention(kit: Kit, workspace: str, table: str, retention_days: int | None = None,
                                total_retention_days: int | None = None) -> dict[str, Any]:
    """Lower a table's interactive and/or total retention (or make any retention change that includes a
    lowering). Data older than the new total retention stops being kept (deleted), and data older than the new
    interactive retention is no longer queryable interactively: the confirmation says how many days of data each
    affects. Raising needs no confirmation: use table_set_retention.

    Args:
        workspace: Workspace alias, name or ARM id.
        table: Table name.
        retention_days: Interactive (analytics) retention in days, 4-730; -1 = the workspace's default.
        total_retention_days: Total retention in days (interactive + long-term), 4-4383; -1 = the interactive retention.
    """
    return await _retention(kit, workspace, table, retention_days, total_retention_days, may_lower=True)


@tool(DESTRUCTIVE, title="Delete a table")
async def table_delete(kit: Kit, workspace: str, table: str) -> dict[str, Any]:
    """Delete a custom (_CL), search results (_SRCH) or restored logs (_RST) table and all its data. Azure tables
    (Microsoft's) can't be deleted and are refused before anything is sent. The confirmation says what is lost
    (retention, 30-day volume, columns).

    Args:
        workspace: Workspace alias, name or ARM id.
        table: Table name.
    """
    ws = await kit.workspace(workspace)
    current = await read_table(kit, ws, table)
    kind = kind_of(current)
    if kind == "microsoft":
        raise KitError(f"{table} is an Azure table (Microsoft's): it can't be deleted, only custom (_CL), search "
                       "results (_SRCH) and restored logs (_RST) tables can. To stop paying for it, stop sending its "
                       "data (data collection rules, connectors) or lower its retention; nothing was sent")
    refuse_if_busy(current, ws)
    usage = await volumes(kit, ws)
    retention = Retention.of(current)
    what = {"custom": "all its data", "search_results": "the search job's results (the source table keeps its data)",
            "restored": "the restored data (the source table keeps its data)"}.get(kind, "all its data")
    changes = {"table": table, "workspace": ws.label, "type": kind, **retention.to_json(),
               "volume_30d_gb": usage.of(table), "columns": [c["name"] for c in columns_of(current)
                                                             if c["source"] == "custom"],
               "lost": what}
    await save(kit, ws, table, "DELETE", None, changes=changes,
               summary=f"delete table {table} ({kind}) from {ws.label} with {what} "
                       f"(kept up to {retention.total} days)")
    return {"deleted": table, "workspace": ws.label, "type": kind, "lost": what}
