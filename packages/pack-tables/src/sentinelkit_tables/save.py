"""Sending a table change: confirmed, then followed to its end (table writes are long-running on ARM),
with progress while Azure applies it, and answered with the state Azure reports afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Literal

from sentinelkit import ConflictError, Kit, KitError, Workspace

from . import api
from .tables import Retention, state_of

#: seconds between "still applying" progress notifications while the operation runs
PROGRESS_EVERY = 2.0


async def save(kit: Kit, ws: Workspace, name: str, method: Literal["PUT", "PATCH", "DELETE"],
               body: dict[str, Any] | None, *, summary: str, changes: dict[str, Any]) -> dict[str, Any] | None:
    """Confirm, send, wait for the long-running operation with progress; the table as Azure stores it after
    (``None`` after a delete). A 409 (another change still running) is reported, not retried over."""
    await kit.confirm_change(summary, changes)
    arm = kit.arm(ws)
    path = api.table_path(ws, name)
    where = ws.where(resource=f"table {name}", operation={"PUT": "create", "PATCH": "update",
                                                          "DELETE": "delete"}[method])
    sent: Awaitable[Any] = (arm.delete(path, api.VERSION, where=where) if method == "DELETE" else
                            (arm.put if method == "PUT" else arm.patch)(path, api.VERSION, body or {}, where=where))
    await kit.progress(0, 2, f"{summary}: sending")
    ticker = asyncio.create_task(_tick(kit, name))
    try:
        saved = await sent
    except ConflictError as exc:
        raise KitError(f"table {name} in {ws.label} is still being changed by another operation, so this change was "
                       f"not applied (nothing was overwritten). Check it with table_get and retry once it shows "
                       f"Succeeded. ({exc})") from None
    finally:
        ticker.cancel()
    state = "Deleted" if method == "DELETE" else state_of(saved or {})
    await kit.progress(2, 2, f"{summary}: {state}")
    return saved if isinstance(saved, dict) else None


async def _tick(kit: Kit, name: str) -> None:
    waited = 0.0
    while True:
        await asyncio.sleep(PROGRESS_EVERY)
        waited += PROGRESS_EVERY
        await kit.progress(1, 2, f"table {name}: Azure is applying the change ({waited:.0f} s)")


def final(saved: dict[str, Any] | None, ws: Workspace) -> dict[str, Any]:
    """The answer's view of the table after the change."""
    table = saved or {}
    state = state_of(table)
    out = {"workspace": ws.label, "table": table.get("name"), "provisioning_state": state,
           **Retention.of(table).to_json()}
    if state != "Succeeded":
        out["note"] = (f"Azure reports the table as {state}: the change was accepted and is still being applied. "
                       "table_get shows when it has finished; do not send another change before then.")
    return out
