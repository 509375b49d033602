"""The hook the devkit defines: packs contribute steps to ``sentinelkit demo`` (the tour asks the packs;
it names none of their tools). Implement it with ``@hookimpl(optionalhook=True)``, so that the pack loads
without the devkit::

    @hookimpl(optionalhook=True)
    def sentinelkit_demo_steps():
        return [{"order": 40, "title": "Incidents that need attention", "run": incidents_step}]

    async def incidents_step(tour):          # tour: sentinelkit_devkit.demo.Tour
        answer = await tour.call("incident_list", {"workspaces": "all", "status": "New"})
        tour.line(f"{answer['count']} of {answer['total']} ...")
"""

from __future__ import annotations

from typing import Any

from sentinelkit import hookspec


@hookspec
def sentinelkit_demo_steps() -> list[dict[str, Any]] | None:
    """Steps for the demo tour: ``{"order": int, "title": str, "run": async fn(tour) -> None}``; steps run
    in ``order`` (the devkit's own: 10 packs and tools, 20 workspaces, 90 the audit record)."""
