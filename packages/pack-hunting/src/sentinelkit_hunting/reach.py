"""What a fan-out could not reach: the workspaces that failed, and the tenants workspace discovery could
not reach at all (their workspaces are not even among the targets of an "all" call)."""

from __future__ import annotations

from typing import Any

from sentinelkit import FanOut, Kit, Targets


async def errors(kit: Kit, targets: Targets, done: FanOut[Any] | None = None) -> dict[str, str]:
    found = dict(done.error_messages()) if done is not None else {}
    if not targets.single:
        found.update((await kit.discovery()).errors)
    return found
