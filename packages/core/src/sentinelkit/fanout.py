"""Running one function over many workspaces: bounded concurrency, progress, per-workspace errors.

One failing workspace (or tenant) never fails the call: its error is reported next to the others'
results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import KitError


def result_keys(workspaces: list[Any]) -> list[str]:
    """One unique key per workspace: its label (unique across discovered workspaces: see
    ``Workspace.label``), else its ARM id when two targets still share a label."""
    labels = [ws.label for ws in workspaces]
    lowered = [k.lower() for k in labels]
    return [k if lowered.count(k.lower()) == 1 else ws.id for k, ws in zip(labels, workspaces, strict=True)]


async def fan_out(kit: Any, workspaces: list[Any], fn: Callable[[Any], Awaitable[Any]], *,
                  concurrency: int | None = None, label: str = "workspaces") -> dict[str, Any]:
    """``{"results": {key: value}, "errors": {key: message}, "summary": {...}}``.

    ``key`` is the workspace's ``label`` (see ``result_keys``): two workspaces never share one, so
    same-named workspaces of different tenants do not overwrite each other.
    """
    total = len(workspaces)
    keys = result_keys(workspaces)
    limit = asyncio.Semaphore(concurrency or kit.runtime.settings.concurrency)
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    done = 0
    lock = asyncio.Lock()
    await kit.progress(0, total, f"0/{total} {label}")

    async def one(ws: Any, key: str) -> None:
        nonlocal done
        async with limit:
            try:
                results[key] = await fn(ws)
            except KitError as exc:
                errors[key] = str(exc)
            except Exception as exc:  # a bug in one branch must not hide the others
                errors[key] = f"unexpected {type(exc).__name__}: {exc}"
        async with lock:
            done += 1
            await kit.progress(done, total, f"{done}/{total} {label} ({key} {'failed' if key in errors else 'done'})")

    await asyncio.gather(*(one(ws, key) for ws, key in zip(workspaces, keys, strict=True)))
    return {
        "results": {k: results[k] for k in keys if k in results},
        "errors": {k: errors[k] for k in keys if k in errors},
        "summary": {"workspaces": total, "succeeded": len(results), "failed": len(errors)},
    }
