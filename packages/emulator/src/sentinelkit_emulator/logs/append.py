"""Rows appended to a workspace's table through the admin API (``POST /_emulator/logs``).

Tests and benchmarks that need volume (an export of a million rows, a table larger than one query answer)
put rows straight into a table the workspace has, as if they had been ingested. The Logs Ingestion API
is not emulated: it needs a data collection endpoint's own host name and a transformation per stream,
which says nothing about the query side these callers exercise. The table must exist (a custom table is
created through ARM first); columns the table does not have are refused, and ``TimeGenerated``
defaults to the time of the call, as ingestion stamps it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .api import resolve_workspace
from .engine import format_datetime
from .schemas import workspace_schemas

if TYPE_CHECKING:
    from ..runtime import Runtime

#: columns the service fills in itself
_SERVICE_COLUMNS = frozenset({"TenantId", "Type"})


class AppendError(ValueError):
    """A request the admin API refuses (400), with what to do."""


def append_rows(rt: Runtime, workspace: Any, table: Any, rows: Any) -> dict[str, Any]:
    """Validate ``rows`` against ``table`` of ``workspace`` (customerId, ARM id or name) and append them."""
    if not isinstance(workspace, str) or not workspace.strip():
        raise AppendError("'workspace' is required: a workspace's customerId, ARM id or name")
    found = resolve_workspace(rt, workspace)
    if found is None:
        raise AppendError(f"no workspace {workspace!r} in this scenario (use a customerId, ARM id or name)")
    workspace_id, customer_id = found
    schemas = workspace_schemas(rt.store, workspace_id, customer_id)
    if not isinstance(table, str) or table not in schemas:
        raise AppendError(f"workspace {workspace_id.rsplit('/', 1)[-1]} has no table {table!r}; create a custom "
                          "table through ARM first (PUT .../tables/<name>_CL)")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise AppendError("'rows' must be a list of JSON objects (column name -> value)")
    columns = schemas[table]
    now = format_datetime(dt.datetime.now(dt.UTC))
    for i, row in enumerate(rows):
        unknown = [c for c in row if c not in columns or c in _SERVICE_COLUMNS]
        if unknown:
            known = ", ".join(c for c in columns if c not in _SERVICE_COLUMNS)
            raise AppendError(f"row {i} has column(s) {', '.join(map(repr, unknown))} that table {table} does not "
                              f"have (or that the service fills in); its columns: {known}")
        row.setdefault("TimeGenerated", now)
    rt.store.append_logs(customer_id, table, rows)
    rt.changed()
    return {"workspace": workspace_id, "table": table, "appended": len(rows),
            "rows": len(rt.store.workspace_logs(customer_id).get(table, []))}
