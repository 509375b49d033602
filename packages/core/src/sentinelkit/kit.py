"""``Kit``: what a tool receives as its first argument — workspaces, Azure clients, fan-out, safety
and output helpers, bound to the current call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .contract import Safety

if TYPE_CHECKING:
    from .azure.cache import TtlCache
    from .azure.logs import QueryRows
    from .runtime import Runtime
    from .workspaces import Workspace


class Kit:
    def __init__(self, runtime: Runtime, *, tool: str, safety: Safety, ctx: Any = None, dry_run: bool = False,
                 confirm: bool = False) -> None:
        self.runtime = runtime
        self.tool = tool
        self.safety = safety
        self.ctx = ctx
        self.dry_run = dry_run
        self.confirmed = confirm
        self.targets: list[Workspace] = []
        self.change_confirmed = False
        #: how a destructive change was confirmed: "elicitation", "confirm_flag" (or None)
        self.confirmed_by: str | None = None
        #: set through ``report_outcome`` by tools whose writes can partly fail (e.g. bulk changes)
        self.reported_outcome: tuple[str, str | None] | None = None
        self.write_gate: Any = None

    @property
    def settings(self) -> Any:
        return self.runtime.settings

    # -- targeting ----------------------------------------------------------------------------
    async def workspace(self, ref: str) -> Workspace:
        """Resolve an alias, name, customerId or ARM id (errors list the closest known names)."""
        ws = await self.runtime.workspaces.resolve(ref)
        if ws not in self.targets:
            self.targets.append(ws)
        return ws

    async def workspaces(self, workspaces: list[str] | str | None = "all", tenant: str | None = None, *,
                         sentinel_only: bool = True) -> list[Workspace]:
        chosen = await self.runtime.workspaces.select(workspaces, tenant, sentinel_only=sentinel_only)
        self.targets.extend(w for w in chosen if w not in self.targets)
        return chosen

    # -- Azure --------------------------------------------------------------------------------
    def arm(self, target: Workspace | str | None = None) -> Any:
        """The ARM client that reaches ``target`` (a workspace, or a credential key)."""
        key = getattr(target, "via", None) or (target if isinstance(target, str) else "default")
        return self.runtime.arm(key)

    @property
    def cache(self) -> TtlCache:
        """The server's TTL cache (``[cache] ttl``): ``get(scope, key)`` / ``put(scope, key, value)`` for a
        pack's own results. Use the pack's name as ``scope`` and start ``key`` with the ARM path the result
        depends on (e.g. ``f"{ws.id}?check=quick"``): writes under that path then invalidate it."""
        return self.runtime.cache  # type: ignore[no-any-return]

    def invalidate(self, path: str) -> None:
        """Forget cached reads of ``path`` (an ARM path), of what hangs under it and of the collections
        above it, so that the next read is fresh (and cached again). Writes made with ``kit.arm(...)``
        invalidate what they make stale by themselves; this is for reads that must be fresh now."""
        self.runtime.cache.invalidate(path)

    async def query(self, ws: Workspace, kql: str, *, timespan: str | None = "P1D") -> QueryRows:
        """Run KQL in a workspace (Log Analytics query API); rows as dicts. ``rows.partial_error`` is the
        service's sentence when the answer is partial (e.g. cut at the result-size limit): report it."""
        if not ws.customer_id:
            from .azure import api_versions as v

            data = await self.arm(ws).get(ws.id, v.WORKSPACES, where=ws.where(operation="read workspace"))
            ws.customer_id = (data.get("properties") or {}).get("customerId")
        return await self.runtime.logs(ws.via).query(ws.customer_id or "", kql, timespan=timespan,
                                                     where=ws.where(operation="query"))

    # -- progress and fan-out -----------------------------------------------------------------
    async def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        if self.ctx is not None:
            try:
                await self.ctx.report_progress(done, total, message)
            except Exception:
                pass

    async def fan_out(self, workspaces: list[Workspace], fn: Callable[[Workspace], Awaitable[Any]], *,
                      concurrency: int | None = None, label: str = "workspaces") -> dict[str, Any]:
        from .fanout import fan_out

        return await fan_out(self, workspaces, fn, concurrency=concurrency, label=label)

    # -- safety -------------------------------------------------------------------------------
    async def confirm_change(self, summary: str, changes: Any = None) -> None:
        """Call once the exact change is known, right before making it (see ``sentinelkit.safety``)."""
        from .safety import confirm

        await confirm(self, summary, changes)
        self.change_confirmed = True
        if self.write_gate is not None:
            self.write_gate.open = True

    def report_outcome(self, outcome: str, detail: str | None = None) -> None:
        """Tell the audit log how a write that returned normally really went.

        ``outcome`` is ``"partial"`` (some items failed) or ``"failed"`` (none applied); ``detail`` says
        what failed. Without it, a write that returns is audited as ``applied``.
        """
        if outcome not in ("partial", "failed"):
            raise ValueError("outcome must be 'partial' or 'failed'")
        self.reported_outcome = (outcome, detail)

    # -- outputs ------------------------------------------------------------------------------
    def page(self, items: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        from .outputs import page

        return page(items, **kwargs)
