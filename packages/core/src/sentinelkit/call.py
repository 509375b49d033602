"""One tool call as one object: what was asked and by whom, what it resolved and what it really wrote,
how a change was confirmed, and how the call ended.

The tool wrapper creates a ``ToolCall`` per invocation and makes it the *current call* (a context
variable) while the body runs. The Azure clients read it to enforce the write gate and to collect
correlation ids; the HTTP layer sets the caller; the audit log writes one record from it. Nothing
else holds per-call state: ``Kit`` is a stateless façade over the call and the server's runtime.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import KitError

if TYPE_CHECKING:
    from .contract import ToolSpec
    from .workspaces import Workspace

Outcome = Literal["applied", "partial", "failed", "no_change", "dry_run", "preview", "declined", "refused",
                  "error", "input_required", "ok"]
"""How a call ended; ``ok``: a read-only tool answered (telemetry only: reads are not audited)."""
Confirmation = Literal["elicitation", "confirm_flag"]


@dataclass(frozen=True)
class Write:
    """One write request the call sent (or tried to send) to Azure."""

    method: str
    path: str
    workspace: str | None = None
    tenant: str | None = None


@dataclass
class Tally:
    """What the call's Azure requests and cache reads came to, per target tenant (each attempt counts): its
    span and the server's KPIs report it."""

    requests: dict[str, dict[int, int]] = field(default_factory=dict)
    """tenant → HTTP status → attempts (status 0: no answer)."""
    throttled: dict[str, int] = field(default_factory=dict)
    waited: dict[str, float] = field(default_factory=dict)
    """tenant → seconds waited before a retry because Azure's Retry-After asked for it."""
    cache_hits: int = 0
    cache_misses: int = 0

    @property
    def total_requests(self) -> int:
        return sum(sum(by_status.values()) for by_status in self.requests.values())

    def azure(self, tenant: str, status: int, waited: float | None) -> None:
        by_status = self.requests.setdefault(tenant, {})
        by_status[status] = by_status.get(status, 0) + 1
        if status == 429:
            self.throttled[tenant] = self.throttled.get(tenant, 0) + 1
        if waited:
            self.waited[tenant] = self.waited.get(tenant, 0.0) + waited

    def cache(self, hit: bool) -> None:
        if hit:
            self.cache_hits += 1
        else:
            self.cache_misses += 1


@dataclass
class ToolCall:
    """The state of one tool invocation (see the module docstring)."""

    spec: ToolSpec
    arguments: dict[str, Any]
    dry_run: bool = False
    confirm: bool = False
    """The ``confirm`` argument as given (only JSON ``true`` counts)."""
    caller: str | None = None
    """Who called: the HTTP token's subject (``upn``/``oid``/app id), or ``local:<user>`` over stdio."""
    ctx: Any = None
    """FastMCP's ``Context`` of the request (progress, elicitation); ``None`` outside MCP."""
    targets: list[Workspace] = field(default_factory=list)
    """Workspaces the call resolved (what a preview or a refusal is about)."""
    writes: list[Write] = field(default_factory=list)
    """Write requests actually sent: the audit's tenant and workspace come from these when there are any."""
    confirmed_by: Confirmation | None = None
    write_allowed: bool = False
    """Opened by ``kit.confirm_change`` once the change may go ahead (the write gate)."""
    outcome: Outcome | None = None
    """Set when the call ended other than by applying (preview, dry run, partial...); ``None`` = applied."""
    detail: str | None = None
    correlation_ids: list[str] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)
    """Workspaces (or tenants) a policy refused, with the reason: in the audit record."""
    notes: dict[str, Any] = field(default_factory=dict)
    """What a tool adds to its audit record (``kit.annotate``): e.g. the PowerShell host it ran on."""
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(tenant, workspace or scope) of each fan-out target that failed: the KPIs count them per tenant."""
    tally: Tally = field(default_factory=Tally)
    started: float = field(default_factory=time.monotonic)

    @property
    def tool(self) -> str:
        return self.spec.name

    @property
    def pack(self) -> str:
        return self.spec.pack

    def resolved(self, *workspaces: Workspace) -> None:
        known = set(self.targets)  # a fan-out over 1,000 workspaces: not a quadratic list scan
        for ws in workspaces:
            if ws not in known:
                known.add(ws)
                self.targets.append(ws)

    def check_write(self, method: str, path: str, *, workspace: str | None, tenant: str | None) -> None:
        """The write gate: a read-only tool never writes; a write tool only after ``confirm_change``.

        Refusals are bugs of the pack (the core promised the user that nothing changes unconfirmed)."""
        where = path.split("?", 1)[0]
        if not self.spec.safety.writes:
            raise KitError(f"{self.tool} is a read-only tool but tried to {method} {where}; refused. This is a bug "
                           f"in pack {self.pack!r}: declare the tool ADDITIVE or DESTRUCTIVE.")
        if not self.write_allowed:
            raise KitError(f"{self.tool} tried to {method} {where} before confirming the change; refused. This is "
                           f"a bug in pack {self.pack!r}: call kit.confirm_change(...) first.")
        self.writes.append(Write(method, where, workspace, tenant))

    def add_correlation_id(self, correlation_id: str) -> None:
        if correlation_id not in self.correlation_ids:
            self.correlation_ids.append(correlation_id)

    def end(self, outcome: Outcome, detail: str | None = None) -> None:
        self.outcome = outcome
        self.detail = detail

    def final_outcome(self) -> Outcome:
        """How the call ended: what the tool or the core recorded; else ``applied`` when the change was let
        through, and ``no_change`` when the tool returned without confirming any change (nothing to do)."""
        if self.outcome is not None:
            return self.outcome
        return "applied" if self.write_allowed else "no_change"

    def audit_scope(self) -> tuple[str | None, str | None]:
        """(tenant, workspace) for the audit: of the writes sent, else of the workspaces resolved."""
        if self.writes:
            tenants = {w.tenant for w in self.writes if w.tenant}
            workspaces = list(dict.fromkeys(w.workspace for w in self.writes if w.workspace))
        else:
            tenants = {t.tenant or t.tenant_id or "?" for t in self.targets}
            workspaces = [t.label for t in self.targets]
        return ", ".join(sorted(tenants)) or None, ", ".join(workspaces) or None


_CURRENT: contextvars.ContextVar[ToolCall | None] = contextvars.ContextVar("sentinelkit_call", default=None)


def current_call() -> ToolCall | None:
    """The tool call being handled in this context (``None`` outside tool calls: scripts write freely)."""
    return _CURRENT.get()


@contextmanager
def running(call: ToolCall) -> Iterator[ToolCall]:
    """Make ``call`` the current call for the duration of the block."""
    token = _CURRENT.set(call)
    try:
        yield call
    finally:
        _CURRENT.reset(token)
