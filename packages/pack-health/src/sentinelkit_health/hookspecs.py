"""The hook pack-health defines for other packs: extra findings for one workspace of a health check.

A pack that knows a domain (data collection, tables, rules...) contributes what is wrong there without
pack-health knowing that domain. Implement it with ``@hookimpl(optionalhook=True)`` so that the pack
loads whether or not pack-health is installed::

    @hookimpl(optionalhook=True)
    def sentinel_health_findings(kit, workspace, depth, refresh, stopped_tables):
        if depth != "detailed":
            return None
        return my_findings(kit, workspace, refresh=refresh, stopped=stopped_tables)   # a coroutine
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from sentinelkit import Kit, Workspace, hookspec


@hookspec
def sentinel_health_findings(kit: Kit, workspace: Workspace, depth: str, refresh: bool,
                             stopped_tables: frozenset[str]) -> Awaitable[list[dict[str, Any]]] | None:
    """Findings for ``workspace``: ``None`` to contribute nothing, else an awaitable of finding dicts
    ``{"check", "severity" ("critical" | "warning" | "info"), "title", "recommendation", "evidence",
    "resource"}``.

    ``depth`` is ``"quick"`` or ``"detailed"``; ``refresh`` asks for fresh reads (not the cache);
    ``stopped_tables`` are the tables the quick check found no longer receiving data. Raise
    ``sentinelkit.KitError`` when the check cannot run: the health check reports it as a finding.
    """
