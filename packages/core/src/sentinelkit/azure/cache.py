"""A small TTL cache for ARM reads, invalidated by writes to related paths."""

from __future__ import annotations

import time
from typing import Any


def _related(cached: str, written: str) -> bool:
    """A write to ``written`` makes stale: itself, its children, and any collection above it."""
    cached, written = cached.lower().rstrip("/"), written.lower().rstrip("/")
    parent = written.rsplit("/", 1)[0]
    return cached.startswith(parent) or written.startswith(cached)


class TtlCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._data: dict[tuple[str, str], tuple[float, Any]] = {}

    def get(self, scope: str, key: str) -> Any | None:
        hit = self._data.get((scope, key))
        if hit is None:
            return None
        expires, value = hit
        if expires < time.monotonic():
            del self._data[(scope, key)]
            return None
        return value

    def put(self, scope: str, key: str, value: Any) -> None:
        if self.ttl > 0:
            self._data[(scope, key)] = (time.monotonic() + self.ttl, value)

    def invalidate(self, path: str) -> None:
        written = path.split("?", 1)[0]
        for scope, key in [k for k in self._data if _related(k[1].split("?", 1)[0], written)]:
            del self._data[(scope, key)]

    def clear(self) -> None:
        self._data.clear()
