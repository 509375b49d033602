"""The running emulator's shared objects, reachable from any request handler.

It sits above the plain state it holds (``faults``, ``traffic``, ``store``, ``tokens``) and below
everything that serves requests, which reaches it through :func:`runtime`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from .faults import FaultBook
from .traffic import TrafficStats

if TYPE_CHECKING:
    from .store import Persister, Store
    from .tokens import TokenIssuer


@dataclass
class Runtime:
    """Everything a handler needs. ``store`` is replaced on reset, so always read it from here."""

    store: Store
    issuer: TokenIssuer
    faults: FaultBook
    base_url: str  # https://127.0.0.1:PORT (no trailing slash)
    data_dir: Path
    #: rebuilds the scenario's initial store (used by POST /_emulator/reset)
    build_store: Callable[[], Store]
    persister: Persister | None = None
    #: requests and peak concurrency per target tenant (``GET /_emulator/traffic``)
    traffic: TrafficStats = field(default_factory=TrafficStats)
    #: per-runtime caches owned by subsystems (e.g. the KQL engine), keyed by subsystem name
    caches: dict[str, Any] = field(default_factory=dict)

    def changed(self) -> None:
        """Call after any state change so that the state file catches up."""
        if self.persister is not None:
            self.persister.mark_dirty()


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt
