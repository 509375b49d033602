"""``incident_bulk_update``: one change applied to every incident a filter matches, across workspaces.

It previews the matching set (count, per workspace, a sample), confirms through the core, then writes
each incident with the etag it was listed with, so that one changed meanwhile is reported, not
overwritten. Every incident gets its own outcome; one failing incident or workspace stops nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sentinelkit import DESTRUCTIVE, Kit, KitError, Workspace, tool

from . import access
from .changes import UNSET, Change, owner_body
from .filters import IncidentFilter, orderby
from .model import row
from .reads import matching

SAMPLE = 10
HARD_MAX = 1000
PER_WORKSPACE_WRITES = 4


def _short(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("workspace", "number", "title", "severity", "status", "owner", "created")}


@tool(DESTRUCTIVE, title="Update many incidents")
async def incident_bulk_update(
    kit: Kit,
    workspaces: list[str] | str | None = None,
    workspace: str | None = None,
    tenant: str | None = None,
    status: list[str] | str | None = None,
    severity: list[str] | str | None = None,
    owner: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    updated_after: str | None = None,
    updated_before: str | None = None,
    title: str | None = None,
    labels: list[str] | str | None = None,
    product: str | None = None,
    set_status: str | None = None,
    set_severity: str | None = None,
    set_owner: str | None = None,
    close_classification: str | None = None,
    close_reason: str | None = None,
    close_comment: str | None = None,
    labels_add: list[str] | None = None,
    labels_remove: list[str] | None = None,
    expected_count: int | None = None,
    max_incidents: int = 200,
) -> dict[str, Any]:
    """Apply one change (status, severity, owner, close, labels) to every incident a filter matches, e.g.
    close every Informational incident older than 30 days. Shows the matching set and asks first; then the
    outcome per incident. Filters as in incident_list.

    Args:
        workspaces: Workspaces to search, or "all".
        workspace: One workspace instead of `workspaces`.
        tenant: Only workspaces of this tenant.
        status: Filter: New, Active, Closed.
        severity: Filter: High, Medium, Low, Informational.
        owner: Filter.
        created_after: Filter.
        created_before: Filter (P30D: older than 30 days).
        updated_after: Filter.
        updated_before: Filter.
        title: Filter.
        labels: Filter.
        product: Filter.
        set_status: New or Active (to close: close_classification).
        set_severity: New severity.
        set_owner: UPN, email or object id; "" or "unassigned" to unassign.
        close_classification: Close with TruePositive, BenignPositive, FalsePositive or Undetermined.
        close_reason: Filled in when only one fits.
        close_comment: Closing comment.
        labels_add: Labels to add.
        labels_remove: Labels to remove.
        expected_count: The preview's count; nothing is done if it changed.
        max_incidents: Refuse above this many (at most 1000).
    """
    change = Change(status=set_status, severity=set_severity,
                    owner=owner_body(set_owner) if set_owner is not None else UNSET,
                    labels_add=list(labels_add or []), labels_remove=list(labels_remove or []),
                    classification=close_classification, classification_reason=close_reason,
                    classification_comment=close_comment).validate()
    flt = IncidentFilter.build(status=status, severity=severity, owner=owner, created_after=created_after,
                               created_before=created_before, updated_after=updated_after,
                               updated_before=updated_before, title=title, labels=labels, product=product)
    if not flt.describe():
        raise KitError("give at least one filter (status, severity, owner, created/updated time, title, labels, "
                       "product): a bulk change to every incident is almost never meant")
    if not 1 <= max_incidents <= HARD_MAX:
        raise KitError(f"max_incidents must be between 1 and {HARD_MAX}")
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)
    pairs, errors, _ = await matching(kit, chosen, flt, orderby("created asc"), fresh=True,
                                      max_items=max_incidents + 1)
    if len(pairs) > max_incidents:
        raise KitError(f"more than {max_incidents} incidents match {flt.describe()}; nothing was changed. Narrow "
                       "the filter (workspaces, tenant, time range) or raise max_incidents (at most 1000)")
    todo = [(ws, inc, change.apply(access.base_props(inc))) for ws, inc in pairs]
    unchanged = [(ws, inc) for ws, inc, new in todo if not _differs(inc, new)]
    todo = [(ws, inc, new) for ws, inc, new in todo if _differs(inc, new)]
    head: dict[str, Any] = {"filter": flt.describe(), "change": change.describe(), "matched": len(pairs),
                            "to_change": len(todo)}
    if errors:
        head["errors"] = errors
    if expected_count is not None and expected_count != len(pairs):
        raise KitError(f"the preview showed {expected_count} matching incidents but {len(pairs)} match now; "
                       "nothing was changed. Call again without expected_count (or with the new count) to see "
                       "the new set")
    if not todo:
        return {**head, "message": "no matching incident needs this change; nothing was written",
                "unchanged": _numbers(unchanged)}
    per_ws: dict[str, int] = {}
    for ws, _, _ in todo:
        per_ws[ws.label] = per_ws.get(ws.label, 0) + 1
    sample = [_short(row(inc, ws)) for ws, inc, _ in todo[:SAMPLE]]
    what = ", ".join(f"{k}={v}" for k, v in change.describe().items())
    numbers = "; ".join(f"{s['workspace']} #{s['number']}" for s in sample[:5])
    await kit.confirm_change(
        f"apply {what} to {len(todo)} incident(s) in {len(per_ws)} workspace(s) (e.g. {numbers}"
        f"{', ...' if len(todo) > 5 else ''})",
        {"count": len(todo), "per_workspace": per_ws, "sample": sample, "change": change.describe(),
         "filter": flt.describe(), "next_hint": f"pass expected_count={len(pairs)} with confirm=true to apply "
                                                "only if the matching set is still the same"},
    )
    outcomes = await _apply(kit, todo)
    applied = [(ws, inc) for (ws, inc, _), o in zip(todo, outcomes, strict=True) if o is None]
    failed = [{"workspace": ws.label, "tenant": ws.tenant, "number": (inc.get("properties") or {}).get("incidentNumber"),
               "error": str(o)[:400]} for (ws, inc, _), o in zip(todo, outcomes, strict=True) if o is not None]
    out = {**head, "applied": len(applied), "failed": len(failed), "applied_incidents": _numbers(applied)}
    if unchanged:
        out["unchanged"] = _numbers(unchanged)
    if failed:
        kit.report_outcome("partial" if applied else "failed",
                           f"{len(failed)} of {len(applied) + len(failed)} incidents not changed")
        out["failures"] = failed[:25]
        if len(failed) > 25:
            out["failures_truncated"] = f"{len(failed) - 25} more failures; run again to retry the rest"
    return out


def _differs(incident: dict[str, Any], new: dict[str, Any]) -> bool:
    from .changes import before_after

    return bool(before_after(incident.get("properties") or {}, new))


def _numbers(pairs: list[tuple[Workspace, dict[str, Any]]]) -> dict[str, list[int]]:
    """Incident numbers per workspace: the compact way to say which incidents."""
    out: dict[str, list[int]] = {}
    for ws, inc in pairs:
        out.setdefault(ws.label, []).append(int((inc.get("properties") or {}).get("incidentNumber") or 0))
    return out


async def _apply(kit: Kit, todo: list[tuple[Workspace, dict[str, Any], dict[str, Any]]]) -> list[Exception | None]:
    """Write every incident (a few at a time per workspace); ``None`` = applied, else the error."""
    limits: dict[str, asyncio.Semaphore] = {}
    done = 0
    total = len(todo)

    async def one(ws: Workspace, inc: dict[str, Any], new: dict[str, Any]) -> Exception | None:
        nonlocal done
        sem = limits.setdefault(ws.id, asyncio.Semaphore(PER_WORKSPACE_WRITES))
        async with sem:
            try:
                await access.write(kit, ws, inc, new, action="update")
                error: Exception | None = None
            except KitError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 - one incident's surprise must not hide the others' outcomes
                error = KitError(f"unexpected {type(exc).__name__}: {exc}")
        done += 1
        await kit.progress(done, total, f"{done}/{total} incidents")
        return error

    return list(await asyncio.gather(*(one(ws, inc, new) for ws, inc, new in todo)))
