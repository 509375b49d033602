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
    from .statefile import StateFile
    from .store import Store
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
    #: the open state file (``--state-file``), if any
    state_file: StateFile | None = None
    #: requests and peak concurrency per target tenant (``GET /_emulator/traffic``)
    traffic: TrafficStats = field(default_factory=TrafficStats)
    #: per-runtime caches owned by subsystems (e.g. the KQL engine), keyed by subsystem name
    caches: dict[str, Any] = field(default_factory=dict)

    def changed(self) -> None:
        """Call after any state change, before answering: commits it to the state file (if any)."""
        if self.state_file is not None:
            self.state_file.commit(self.store)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt
