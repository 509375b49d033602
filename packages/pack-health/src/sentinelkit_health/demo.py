"""This pack's step of ``sentinelkit demo`` (the devkit's ``sentinelkit_demo_steps`` hook; optional, so
the pack loads without the devkit)."""

from __future__ import annotations

from typing import Any

from sentinelkit import hookimpl


async def health_step(tour: Any) -> None:
    answer = await tour.call("sentinel_health_check", {"tenant_scope": "all", "check_depth": "quick"}, progress=True)
    summary = answer.get("summary") or {}
    tour.line(f"overall: {answer.get('status')} — {summary.get('workspaces')} workspaces: {summary.get('healthy')} "
              f"healthy, {summary.get('degraded')} degraded, {summary.get('critical')} critical")
    for ws in answer.get("workspaces") or []:
        tour.line(f"{ws.get('tenant', ''):<13} {ws.get('workspace', ''):<20} {ws.get('status', '')}")
        for finding in ws.get("findings") or []:
            tour.line(f"    [{finding.get('severity')}] {finding.get('title')}")


@hookimpl(optionalhook=True)
def sentinelkit_demo_steps() -> list[dict[str, Any]]:
    return [{"order": 30, "title": "Health check across every tenant", "run": health_step}]
