"""FastMCP's per-session state (visibility rules, ``ctx.set_state``) kept in a dict of this process.

FastMCP reads it on every ``tools/list`` and, the first time, imports its key-value library and that
library's runtime type checker to build an in-memory store: about a sixth of a server's start-up, spent
before the first answer. This store does the same job for a server whose state lives in its own process
(stdio, or one HTTP process) without either import: values stay the objects FastMCP put, expiring after
the time it asked.
"""

from __future__ import annotations

import time
from typing import Any


class SessionState:
    """The subset of key-value adapter FastMCP calls: ``get``, ``put`` (with a ``ttl``) and ``delete``."""

    def __init__(self) -> None:
        self._values: dict[tuple[str | None, str], tuple[float | None, Any]] = {}

    async def get(self, *, key: str, collection: str | None = None) -> Any | None:
        found = self._values.get((collection, key))
        if found is None:
            return None
        expires, value = found
        if expires is not None and expires <= time.monotonic():
            del self._values[(collection, key)]
            return None
        return value

    async def put(self, *, key: str, value: Any, collection: str | None = None, ttl: float | None = None) -> None:
        now = time.monotonic()
        if len(self._values) > 1024:  # forget what expired, now and then
            self._values = {k: v for k, v in self._values.items() if v[0] is None or v[0] > now}
        self._values[(collection, key)] = (now + ttl if ttl is not None else None, value)

    async def delete(self, *, key: str, collection: str | None = None) -> bool:
        return self._values.pop((collection, key), None) is not None


def install(server: Any) -> None:
    """Give a FastMCP server this store, unless it was given a store of its own (or FastMCP no longer keeps
    its adapter where this expects it: then it builds its own, as before)."""
    attribute = "_FastMCP__state_store"
    if getattr(server, "_state_storage", True) is None and getattr(server, attribute, True) is None:
        setattr(server, attribute, SessionState())
