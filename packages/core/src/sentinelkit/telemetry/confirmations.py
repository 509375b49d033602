"""Confirmations asked and not answered yet, for the KPIs and the ``sentinelkit.confirmations.open`` gauge.

A destructive call asks by answering with a preview (repeat it with ``confirm=true``) or with an
elicitation (on 2026-07-28 connections the client calls again with the answer). The next call of the
same tool, by the same caller, with the same arguments (``confirm`` and ``dry_run`` aside) answers it,
whatever it does; one left unanswered for ``ttl`` seconds counts as abandoned.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..call import Outcome, ToolCall

ASKING = frozenset({"preview", "input_required"})


class OpenConfirmations:
    def __init__(self, ttl: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._open: dict[str, float] = {}
        self.fixed: int | None = None
        """A count read from another process's stats file (nothing to expire here)."""

    def update(self, call: ToolCall, outcome: Outcome) -> None:
        if outcome not in ASKING and not self._open:
            return  # nothing asked is open: no digest of the arguments to make on every call
        key = self._key(call)
        if outcome in ASKING:
            self._open[key] = self._clock()
        else:
            self._open.pop(key, None)

    def count(self) -> int:
        if self.fixed is not None:
            return self.fixed
        limit = self._clock() - self.ttl
        for key in [k for k, asked in self._open.items() if asked < limit]:
            del self._open[key]
        return len(self._open)

    __call__ = count

    @staticmethod
    def _key(call: ToolCall) -> str:
        """A digest: the arguments are not kept."""
        arguments = {k: v for k, v in call.arguments.items() if k not in ("confirm", "dry_run")}
        text = json.dumps([call.caller, call.tool, arguments], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()
