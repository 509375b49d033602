"""``Kit``: what a tool receives as its first argument.

A stateless, typed façade over the current ``ToolCall`` and the server's ``Runtime``: targeting, Azure
clients, fan-out, progress, the safety gate, outputs, bridges and the pack's own settings. Everything it
returns is a type ``sentinelkit`` exports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar

from .call import ToolCall
from .contract import Safety
from .errors import KitError
from .exports import atomic_writer, confine, default_export_dir, write_atomically
from .fanout import FanOut, Targets
from .workspaces import Discovery, Workspace

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .azure.arm import ArmClient
    from .azure.cache import TtlCache
    from .azure.logs import QueryRows
    from .content import ContentKind
    from .runtime import Runtime
    from .settings import Settings

T = TypeVar("T")
M = TypeVar("M", bound="BaseModel")

#: the most workspaces one call may name (a longer list is a mistake, not a fan-out)
MAX_TARGETS = 1000


class Kit:
    __slots__ = ("_call", "_runtime")

    def __init__(self, call: ToolCall, runtime: Runtime) -> None:
        self._call = call
        self._runtime = runtime

    # -- the call -------------------------------------------------------------------------------
    @property
    def tool(self) -> str:
        """The name of the tool being called."""
        return self._call.tool

    @property
    def pack(self) -> str:
        return self._call.pack

    @property
    def safety(self) -> Safety:
        return self._call.spec.safety

    @property
    def dry_run(self) -> bool:
        """Whether the caller asked for a dry run (``kit.confirm_change`` answers with the preview)."""
        return self._call.dry_run

    @property
    def caller(self) -> str | None:
        """Who called (the HTTP token's subject, or ``local:<user>`` over stdio)."""
        return self._call.caller

    @property
    def settings(self) -> Settings:
        """The server's settings (read them; a pack's own settings come from ``pack_settings``)."""
        return self._runtime.settings

    def pack_settings(self, model: type[M]) -> M:
        """This pack's ``[packs.<name>]`` settings, validated by ``model`` (registered with
        ``register_settings``); the environment wins over the file, the file over defaults."""
        return self._runtime.pack_settings(self._call.pack, model)

    # -- targeting ------------------------------------------------------------------------------
    async def workspace(self, ref: str) -> Workspace:
        """Resolve an alias, name, label, customerId or ARM id (errors list the closest known names)."""
        ws = await self._runtime.workspaces.resolve(ref)
        self._call.resolved(ws)
        reason = self._runtime.refusal(self._call, ws)
        if reason:
            from .policy import PolicyRefused

            self._call.refusals[ws.label] = reason
            raise PolicyRefused(reason)
        return ws

    async def targets(self, *, workspace: str | None = None, workspaces: Sequence[str] | str | None = None,
                      tenant: str | None = None, sentinel_only: bool = True) -> Targets:
        """The workspaces a tool works on: one (``workspace``), several or ``"all"`` (``workspaces``, the
        default when neither is given: every Sentinel workspace, or every workspace with
        ``sentinel_only=False``), optionally only those of ``tenant``. Duplicates are dropped."""
        if workspace and workspaces:
            raise KitError('give either workspace (one) or workspaces (a list, or "all"), not both')
        if workspace:
            ws = await self.workspace(workspace)  # a policy's refusal is the answer
            if tenant and not ws.in_tenant(tenant):
                raise KitError(f"workspace {ws.label} belongs to tenant {ws.tenant_label}, not {tenant!r}")
            return Targets((ws,), single=True)
        refs = [workspaces] if isinstance(workspaces, str) else list(workspaces or [])
        if len(refs) > MAX_TARGETS:
            raise KitError(f"{len(refs)} workspaces were named; at most {MAX_TARGETS} per call. Use "
                           'workspaces="all" with tenant=... to reach many, or split the list.')
        chosen, unreachable = await self._runtime.workspaces.select(refs or "all", tenant,
                                                                    sentinel_only=sentinel_only)
        unique = list({ws.id.lower(): ws for ws in chosen}.values())
        self._call.resolved(*unique)
        refused: dict[str, str] = {}
        for ws in unique:
            reason = self._runtime.refusal(self._call, ws)
            if reason:
                refused[ws.id.lower()] = reason
                self._call.refusals[ws.label] = reason
        return Targets(tuple(unique), unreachable=tuple(unreachable), refused=refused)

    async def discovery(self, *, refresh: bool = False) -> Discovery:
        """Every reachable workspace, the tenants' short names and what discovery could not reach."""
        return await self._runtime.workspaces.discover(refresh=refresh)

    def tenant_of(self, resource: str) -> str | None:
        """The short name of the tenant owning an ARM id's subscription, as discovery knows it (``None`` when
        it does not): to refuse, or show, a resource that is not in the named workspace's tenant."""
        from .armid import ArmId

        tenant_id = self._runtime.workspaces.tenant_of_subscription(ArmId.parse(resource).subscription_id)
        return self._runtime.workspaces.tenant_name(tenant_id) if tenant_id else None

    async def workspace_details(self, ws: Workspace, *, fresh: bool = False) -> Workspace:
        """``ws`` with its customerId and location filled in (read from ARM when discovery lacks them).
        ``fresh=True`` reads past the cache, which also proves the workspace exists (``NotFoundError``)."""
        return await self._runtime.workspaces.details(ws, fresh=fresh)

    # -- Azure ----------------------------------------------------------------------------------
    def arm(self, target: Workspace | None = None) -> ArmClient:
        """The ARM client whose credential reaches ``target`` (default: the default credential)."""
        return self._runtime.arm(target.via if target is not None else None)

    async def query(self, ws: Workspace, kql: str, *, timespan: str | None = "P1D") -> QueryRows:
        """Run KQL in a workspace (Log Analytics query API); rows as dicts. ``rows.partial_error`` is the
        service's sentence when the answer is partial (e.g. cut at the result-size limit): report it."""
        full = await self.workspace_details(ws)
        return await self._runtime.logs(ws.via).query(full.customer_id or "", kql, timespan=timespan,
                                                      where=ws.where(operation="query"))

    @property
    def cache(self) -> TtlCache:
        """The server's TTL cache (``[cache] ttl``): ``get(scope, key)`` / ``put(scope, key, value)`` for a
        pack's own results. Use the pack's name as ``scope`` and start ``key`` with the ARM path the result
        depends on (e.g. ``f"{ws.id}?check=quick"``): writes under that path then invalidate it."""
        return self._runtime.cache

    def invalidate(self, path: str) -> None:
        """Forget cached reads of ``path`` (an ARM path), of what hangs under it and of the collections
        above it, so that the next read is fresh (and cached again). Writes made with ``kit.arm(...)``
        invalidate what they make stale by themselves; this is for reads that must be fresh now."""
        self._runtime.cache.invalidate(path)

    # -- progress and fan-out -------------------------------------------------------------------
    async def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """An MCP progress notification (nothing when the client did not ask for progress)."""
        ctx = self._call.ctx
        if ctx is not None:
            try:
                await ctx.report_progress(done, total, message)
            except Exception:
                pass

    async def fan_out(self, targets: Sequence[Workspace], fn: Callable[[Workspace], Awaitable[T]], *,
                      label: str = "workspaces", concurrency: int | None = None) -> FanOut[T]:
        """Run ``fn(ws)`` over the targets with bounded concurrency and progress; one workspace's failure is
        its error in the answer. When the user named a single workspace (``Targets.single``), its failure
        is raised instead: it is the answer. At most ``fan_out_concurrency`` workspaces are worked on at once
        (``concurrency`` narrows it); each tenant's requests stay under its own limit (``concurrency``)."""
        from .fanout import fan_out

        wide = self._runtime.settings.fan_out_concurrency
        result = await fan_out(targets, fn, concurrency=min(concurrency or wide, wide),
                               progress=self.progress, label=label)
        if isinstance(targets, Targets) and targets.single and result.errors:
            raise result.errors[0][1]
        return result

    # -- safety ---------------------------------------------------------------------------------
    async def confirm_change(self, summary: str, changes: Any = None, *, removes: bool = False) -> None:
        """Call once the exact change is known, right before making it: returns when it may go ahead; a dry
        run, a preview or a refusal ends the call there with its answer (see ``sentinelkit.safety``).
        ``removes=True`` (tools declared ``can_remove``): this change removes something; ask like DESTRUCTIVE."""
        from .safety import confirm

        await confirm(self._call, summary, changes, removes=removes, pending=self._runtime.shared)

    def dry_run_result(self, would_change: Any, *, next_step: str | None = None) -> dict[str, Any]:
        """The answer of a dry run a tool computed itself (e.g. PowerShell's ``-WhatIf``): return it.
        The call is audited as a dry run, like one that ``confirm_change`` answered."""
        if not self._call.dry_run:
            raise KitError(f"{self.tool} built a dry-run answer for a call that is not a dry run; this is a bug in "
                           f"pack {self.pack!r}")
        from .safety import dry_run_result

        self._call.end("dry_run")
        return dry_run_result(would_change, next_step)

    def report_outcome(self, outcome: Literal["partial", "failed", "no_change"], detail: str | None = None) -> None:
        """Tell the audit log how a write that returned normally really went.

        ``outcome`` is ``"partial"`` (some items failed), ``"failed"`` (none applied) or ``"no_change"``
        (nothing needed changing after all); ``detail`` says what. Without it, a write that returns after
        ``confirm_change`` is audited as ``applied`` (and one that returns before it as ``no_change``).
        """
        if outcome not in ("partial", "failed", "no_change"):
            raise ValueError("outcome must be 'partial', 'failed' or 'no_change'")
        self._call.end(outcome, detail)

    def annotate(self, **notes: Any) -> None:
        """Add facts to this call's audit record (``notes``), e.g. where a write that does not go through
        ARM ran: a PowerShell host and the workspace or subscription it was told to change. Redacted like
        the rest of the record."""
        self._call.notes.update(notes)

    def secret(self, value: str | None) -> None:
        """Mask ``value`` wherever it would appear: logs, errors, the audit log, answers."""
        from .log import add_secret

        add_secret(value)

    # -- outputs --------------------------------------------------------------------------------
    def page(self, items: Sequence[dict[str, Any]], *, fields: Sequence[str] | str | None = None,
             default_fields: Sequence[str] | None = None, limit: int = 25, cursor: str | None = None,
             key: str = "items", extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """One compact page of ``items`` (see ``sentinelkit.page``)."""
        from .outputs import page

        return page(items, fields=fields, default_fields=default_fields, limit=limit, cursor=cursor, key=key,
                    extra=extra)

    # -- files ----------------------------------------------------------------------------------
    @property
    def export_dir(self) -> Path:
        """The folder every file a tool writes or reads lives in (``export_dir`` / ``SENTINELKIT_EXPORT_DIR``)."""
        return Path(self._runtime.settings.export_dir or default_export_dir())

    def export_path(self, relative: str) -> Path:
        """``relative`` inside the export directory; ``..``, absolute paths and symlinks out are refused
        (``ExportPathError``)."""
        return confine(self.export_dir, relative)

    def export_writer(self, relative: str, *, overwrite: bool = False, binary: bool = False
                      ) -> AbstractContextManager[IO[Any]]:
        """Write a file of the export directory atomically (a temporary file renamed into place when the
        block ends without error); refused when it exists unless ``overwrite``. Streams: write as you go."""
        return atomic_writer(self.export_path(relative), overwrite=overwrite, binary=binary)

    def write_export(self, relative: str, data: str | bytes, *, overwrite: bool = False) -> Path:
        """Write a whole file of the export directory atomically; returns its path."""
        return write_atomically(self.export_path(relative), data, overwrite=overwrite)

    # -- bridges --------------------------------------------------------------------------------
    def bridge(self, name: str) -> Any:
        """A bridge a pack registered (e.g. ``"powershell"``), created on first use."""
        return self._runtime.bridge(name)

    def started_bridge(self, name: str) -> Any | None:
        """The bridge if a call already created it, else ``None`` (for status tools that must not start one)."""
        return self._runtime.bridges.get(name)

    def content_kinds(self) -> dict[str, ContentKind]:
        """Every installed kind of content (``register_content_kinds``), by name."""
        collected = self._runtime.collected
        return dict(collected.kinds) if collected is not None else {}

    @property
    def hooks(self) -> Any:
        """The plugin manager's hook relay: how a pack calls hooks it defines itself (``register_hookspecs``),
        e.g. ``kit.hooks.health_checks(kit=kit, ...)``."""
        return self._runtime.hooks
