"""What a fan-out could not reach: the workspaces that failed, and the tenants workspace discovery could
not reach at all (their workspaces are not even among the targets of an "all" call)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sentinelkit import FanOut, Kit, Targets, Workspace, clip


async def errors(kit: Kit, targets: Targets, done: FanOut[Any] | None = None) -> dict[str, str]:
    found = dict(done.error_messages()) if done is not None else {}
    if not targets.single:
        found.update((await kit.discovery()).errors)
    return found


async def listing(kit: Kit, targets: Targets, rows_of: Callable[[Workspace], Awaitable[list[dict[str, Any]]]], *,
                  keep: Callable[[dict[str, Any]], bool], order: str, key: str, default_fields: Sequence[str],
                  fields: Sequence[str] | None, limit: int, cursor: str | None, clip_at: int = 500) -> dict[str, Any]:
    """One page of the rows of every target workspace (sorted by workspace, then ``order``), with what
    could not be reached."""
    done = await kit.fan_out(targets, rows_of)
    rows = [r for _, found in done.results for r in found if keep(r)]
    rows.sort(key=lambda r: (str(r["workspace"]), str(r[order]).lower()))
    problems = await errors(kit, targets, done)
    return kit.page([clip(r, clip_at) for r in rows], fields=fields, default_fields=default_fields, limit=limit,
                    cursor=cursor, key=key, extra={"errors": problems} if problems else None)
