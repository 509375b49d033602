"""``logs_query``: one KQL query across workspaces and tenants, answered as one table."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sentinelkit import READ_ONLY, Kit, KitError, Workspace, decode_cursor, tool

_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)


def strip_comments(kql: str) -> str:
    """The query without comments and without leading invisible characters (a byte-order mark or a zero-width
    space before ``.drop`` must not hide a management command)."""
    body = _COMMENT.sub("", kql)
    return "".join(ch for ch in body if unicodedata.category(ch) != "Cf").strip()


def refuse_management(kql: str) -> None:
    """Management (control) commands start with a dot: they are not queries and are never sent."""
    body = strip_comments(kql)
    if not body:
        raise KitError('the query is empty: pass KQL such as "SecurityIncident | summarize count() by Status"')
    if body.startswith("."):
        command = body.split(None, 1)[0]
        raise KitError(
            f"management commands ({command} ...) are refused: logs_query is read-only and runs only "
            "queries (a table or `let`/`union`/`print` expression, not a command starting with '.')."
        )


_TIMESPAN = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
    r"|^\d{4}-\d{2}-\d{2}T[^/]+/(\d{4}-\d{2}-\d{2}T[^/]+|P.+)$"
)


def check_timespan(timespan: str | None) -> None:
    """Refuse a malformed timespan before sending it to every workspace."""
    if timespan is not None and not _TIMESPAN.match(timespan.strip().upper()):
        raise KitError(
            f'timespan {timespan!r} is not an ISO 8601 duration or interval: use e.g. "PT1H", "P1D", '
            '"P7D" or "2026-11-01T00:00:00Z/2026-11-02T00:00:00Z" (or null for no limit)'
        )


def bounded(kql: str, cap: int) -> str:
    """Append ``| take cap`` so that no workspace returns more rows than a page can show.

    The query text is kept as typed, and the ``take`` goes on its last line (unless that line ends in a
    comment), so that the line and position of a syntax error are the user's.
    """
    body = kql.rstrip().rstrip(";").rstrip()
    last = body.rsplit("\n", 1)[-1]
    return body + (f"\n| take {cap}" if "//" in last else f" | take {cap}")


@tool(READ_ONLY, title="Query logs across workspaces")
async def logs_query(
    kit: Kit,
    query: str,
    workspaces: list[str] | str = "all",
    tenant: str | None = None,
    timespan: str | None = "P1D",
    limit: int = 100,
    cursor: str | None = None,
    fields: list[str] | None = None,
) -> dict[str, Any]:
    """Run one KQL query in many Log Analytics workspaces, across tenants, concurrently.

    Returns one table with `TenantId` (Entra tenant) and `Workspace` columns (the query's own TenantId
    becomes `TenantId1`). Workspaces that failed are under `errors`, partial answers under `partial`.

    Args:
        query: KQL (read-only; '.' commands are refused).
        workspaces: "all" (every Sentinel workspace) or a list of workspace aliases, names or ARM ids.
        tenant: Only workspaces of this tenant (short name, display name or tenant id).
        timespan: ISO 8601 duration or interval, e.g. "PT1H" (default P1D); null for no limit.
        limit: Rows per answer, all workspaces together (1-1000).
        cursor: For the next rows (end the query with `order by`).
        fields: Only these columns (TenantId and Workspace are always kept).
    """
    if not 1 <= limit <= 1000:
        raise KitError(f"limit must be between 1 and 1000 (got {limit}); page with cursor for more")
    refuse_management(query)
    check_timespan(timespan)
    targets = await kit.targets(workspaces=workspaces, tenant=tenant)
    if not targets:
        raise KitError(
            "no workspace to query: none has Microsoft Sentinel in this scope; call workspace_list, "
            "then pass `workspaces` explicitly"
        )
    cap = decode_cursor(cursor) + limit + 1
    kql = bounded(query, cap)

    partial: dict[str, str] = {}

    async def one(ws: Workspace) -> list[dict[str, Any]]:
        rows = await kit.query(ws, kql, timespan=timespan)
        if rows.partial_error:  # the service answered, but not with every row
            partial[ws.label] = rows.partial_error
        out = []
        for row in rows:
            item: dict[str, Any] = {"TenantId": ws.tenant_id, "Workspace": ws.label}
            for k, val in row.items():
                item["TenantId1" if k == "TenantId" else ("Workspace1" if k == "Workspace" else k)] = val
            out.append(item)
        return out

    done = await kit.fan_out(targets, one, label="workspaces")
    rows = [row for _, answer in done.results for row in answer]
    capped = [done.key(ws) for ws, answer in done.results if len(answer) >= cap]
    columns = list(dict.fromkeys(k for row in rows for k in row))
    chosen = None
    if fields:
        chosen = ["TenantId", "Workspace", *[f for f in fields if f not in ("TenantId", "Workspace")]]
        columns = [c for c in columns if c in chosen] if rows else chosen
    extra: dict[str, Any] = {"columns": columns, "workspaces": done.summary()}
    if done.failed:
        extra["errors"] = done.error_messages()
    if partial:
        extra["partial"] = partial
    if capped:
        extra["note"] = (
            f"{', '.join(capped)} returned more rows than requested; rows were cut per workspace "
            "(add `| summarize` or filters to the query, or page with cursor)"
        )
    return kit.page(rows, fields=chosen, limit=limit, cursor=cursor, key="rows", extra=extra)
