"""This pack's steps of ``sentinelkit demo`` (the devkit's ``sentinelkit_demo_steps`` hook; optional, so
the pack loads without the devkit): the incidents that need attention, and the triage of one incident —
read first, then a change a person would make after looking, confirmed by the user."""

from __future__ import annotations

from typing import Any

from sentinelkit import hookimpl


async def attention_step(tour: Any) -> None:
    wanted = {"workspaces": "all", "status": "New", "severity": "High", "owner": "unassigned"}
    answer = await tour.call("incident_list", {**wanted, "limit": 8})
    rows = answer.get("incidents") or []
    total = answer.get("total")  # pages give the total once they reach the end: count them all (numbers only)
    if total is None:
        every = await tour.call("incident_list", {**wanted, "fields": ["number"], "limit": 1000})
        total = every.get("total", every.get("count"))
    tour.line(f"{answer.get('count')} of {total} New, High-severity, unassigned incidents across "
              f"{answer.get('workspaces')} workspaces, newest first:")
    for row in rows:
        tour.line(f"#{row.get('number', '?'):<4} {row.get('tenant', ''):<10} {row.get('workspace', ''):<18} "
                  f"{row.get('title', '')}")


async def precedent(tour: Any, workspace: str, title: str) -> tuple[int, int]:
    """How analysts closed this title's earlier incidents in this workspace: (benign or false, all closed)."""
    closed = await tour.call("incident_list", {"workspace": workspace, "status": "Closed", "title": title,
                                               "fields": ["classification"], "limit": 50})
    rows = closed.get("incidents") or []
    benign = sum(1 for r in rows if r.get("classification") in ("BenignPositive", "FalsePositive"))
    return benign, len(rows)


async def triage_step(tour: Any) -> None:
    """Read New Informational incidents one by one (the incident, its alerts and entities, and how analysts
    closed the same title before) and close the first whose precedent says benign; leave the others."""
    listing = await tour.call("incident_list", {"workspaces": "all", "status": "New", "severity": "Informational",
                                                "limit": 5, "order": "created asc"})
    for first in listing.get("incidents") or []:
        where = {"workspace": first["workspace"], "incident_id": str(first["number"])}
        detail = await tour.call("incident_get", where)
        incident = detail.get("incident") or {}
        tour.line(f"reading #{incident.get('number')} \"{incident.get('title')}\" ({incident.get('severity')}, "
                  f"{first['workspace']}, tenant {incident.get('tenant')}):")
        for alert in (detail.get("alerts") or [])[:3]:
            tour.line(f"  alert: {alert.get('title')} ({alert.get('severity')}, {alert.get('product')})")
        for entity in (detail.get("entities") or [])[:4]:
            tour.line(f"  entity: {entity.get('kind')} {entity.get('name')}")
        benign, closed = await precedent(tour, first["workspace"], str(incident.get("title")))
        tour.line(f"  precedent: analysts closed {closed} earlier incident(s) of this title, {benign} as benign or false")
        if not closed or benign * 2 <= closed:
            tour.line("  decision: leave it for an analyst (no benign precedent); nothing changed")
            continue
        reason = (f"Informational, and {benign} of the {closed} earlier incidents of this title were closed as "
                  "benign or false positives: suspicious but expected (sentinelkit demo, after reading it)")
        tour.line(f"  decision: close as BenignPositive — {reason}")
        close = {**where, "classification": "BenignPositive", "classification_reason": "SuspiciousButExpected",
                 "comment": reason}
        preview = await tour.call("incident_close", {**close, "dry_run": True})
        tour.line(f"dry run first: would {preview.get('would_change', {}).get('summary')} (nothing changed)")
        tour.line("then for real, without confirm=true: the server asks the user through MCP elicitation")
        done = await tour.call("incident_close", close)
        tour.line(f"done: #{(done.get('incident') or {}).get('number')} is {(done.get('incident') or {}).get('status')}")
        return
    tour.note("none of them had a benign precedent: nothing was closed")


@hookimpl(optionalhook=True)
def sentinelkit_demo_steps() -> list[dict[str, Any]]:
    return [{"order": 40, "title": "Incidents that need attention (New, High, unassigned, every workspace)",
             "run": attention_step},
            {"order": 50, "title": "Triage one incident: read it, then a change that asks for confirmation",
             "run": triage_step}]
