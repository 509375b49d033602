"""Reading tables and describing them the way an engineer thinks of them: kind, plan, retention (and
whether it follows the workspace default), schema, state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sentinelkit import Kit, KitError, NotFoundError, Workspace

from . import api

#: schema.tableType → what the answers call it
TYPES = {"Microsoft": "microsoft", "CustomLog": "custom", "RestoredLogs": "restored", "SearchResults": "search_results"}
TYPE_NAMES = tuple(dict.fromkeys(TYPES.values()))
PLANS = ("Analytics", "Basic", "Auxiliary")
#: provisioning states of a table whose previous change has not finished
BUSY = frozenset({"Updating", "InProgress", "Deleting"})
#: interactive retention the service fixes for Basic and Auxiliary tables
LOW_COST_INTERACTIVE_DAYS = 30


@dataclass(frozen=True)
class Retention:
    """A table's plan and retention; ``None`` days where the plan fixes them."""

    plan: str
    interactive: int
    total: int
    interactive_default: bool
    total_default: bool

    @classmethod
    def of(cls, table: dict[str, Any]) -> Retention:
        p = table.get("properties") or {}
        interactive = int(p.get("retentionInDays") or 0)
        return cls(plan=str(p.get("plan") or "Analytics"), interactive=interactive,
                   total=int(p.get("totalRetentionInDays") or interactive),
                   interactive_default=bool(p.get("retentionInDaysAsDefault")),
                   total_default=bool(p.get("totalRetentionInDaysAsDefault")))

    @property
    def long_term(self) -> int:
        return self.total - self.interactive

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan, "retention_days": self.interactive, "retention_default": self.interactive_default,
                "total_retention_days": self.total, "total_default": self.total_default,
                "long_term_days": self.long_term}


def kind_of(table: dict[str, Any]) -> str:
    schema = (table.get("properties") or {}).get("schema") or {}
    return TYPES.get(str(schema.get("tableType")), str(schema.get("tableType") or "unknown").lower())


def sub_type(table: dict[str, Any]) -> str:
    return str(((table.get("properties") or {}).get("schema") or {}).get("tableSubType") or "Any")


def state_of(table: dict[str, Any]) -> str:
    return str((table.get("properties") or {}).get("provisioningState") or "Succeeded")


def columns_of(table: dict[str, Any]) -> list[dict[str, Any]]:
    """Every column: the service's (``standardColumns``, source "standard") then the table's own
    (``columns``: a custom table's schema, or ``_CF`` columns added to an Azure table)."""
    schema = (table.get("properties") or {}).get("schema") or {}
    out = []
    for source, key in (("standard", "standardColumns"), ("custom", "columns")):
        for c in schema.get(key) or []:
            col = {"name": c.get("name"), "type": c.get("type"), "source": source}
            for extra in ("description", "dataTypeHint", "displayName"):
                if c.get(extra):
                    col[extra.replace("dataTypeHint", "hint").replace("displayName", "display_name")] = c[extra]
            out.append(col)
    return out


def row(table: dict[str, Any], ws: Workspace, volume_gb: float | None, billable_gb: float | None) -> dict[str, Any]:
    """A table as one compact listing row (volumes: GB ingested in the last 30 days, and how much of it is billed:
    what a plan change can save)."""
    p = table.get("properties") or {}
    schema = p.get("schema") or {}
    out: dict[str, Any] = {"workspace": ws.label, "name": table.get("name"), "type": kind_of(table),
                           **Retention.of(table).to_json(), "volume_30d_gb": volume_gb,
                           "billable_30d_gb": billable_gb,
                           "sub_type": sub_type(table), "provisioning_state": state_of(table),
                           "last_plan_change": p.get("lastPlanModifiedDate"),
                           "description": schema.get("description") or None,
                           "columns": len(schema.get("columns") or []) + len(schema.get("standardColumns") or [])}
    return out


async def list_tables(kit: Kit, ws: Workspace, *, cache: bool = True) -> list[dict[str, Any]]:
    return await kit.arm(ws).list(api.tables_path(ws), api.VERSION, cache=cache,
                                  where=ws.where(operation="list tables"))


async def read_table(kit: Kit, ws: Workspace, name: str, *, cache: bool = False) -> dict[str, Any]:
    """The table, fresh by default; a missing one is an error that names the workspace and what to do."""
    try:
        return await kit.arm(ws).get(api.table_path(ws, name), api.VERSION, cache=cache,
                                     where=ws.where(resource=f"table {name}", operation="read"))
    except NotFoundError:
        raise KitError(f"workspace {ws.label} (tenant {ws.tenant}) has no table {name!r}; table_list shows its "
                       "tables (names are case-sensitive)") from None


async def find_table(kit: Kit, ws: Workspace, name: str) -> dict[str, Any] | None:
    try:
        return await kit.arm(ws).get(api.table_path(ws, name), api.VERSION, cache=False,
                                     where=ws.where(resource=f"table {name}", operation="read"))
    except NotFoundError:
        return None


async def workspace_retention(kit: Kit, ws: Workspace) -> int:
    """The workspace's default interactive retention (what ``-1`` resets a table's to)."""
    data = await kit.arm(ws).get(ws.id, api.WORKSPACE_VERSION, where=ws.where(operation="read workspace"))
    return int((data.get("properties") or {}).get("retentionInDays") or 30)


def refuse_if_busy(table: dict[str, Any], ws: Workspace) -> None:
    """A table whose previous change is still running is reported, not overwritten."""
    state = state_of(table)
    if state in BUSY:
        raise KitError(f"table {table.get('name')} in {ws.label} is still being changed (provisioningState "
                       f"{state}); nothing was sent, so that change is not overwritten. Check it with table_get "
                       "and try again once it shows Succeeded.")
