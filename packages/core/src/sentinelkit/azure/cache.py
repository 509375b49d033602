"""A small TTL cache for ARM reads, invalidated by writes to related paths.

Keys are ARM paths (``/subscriptions/.../providers/...``, optionally followed by ``?query`` or
``#suffix``); a full URL is reduced to its path, so invalidation compares paths whatever the endpoint.
Comparisons ignore case, as ARM does.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

from ..telemetry.calls import cache_lookup

_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)")
_NAMESPACE = re.compile(r"/providers/([^/]+)")


def arm_path(key: str) -> str:
    """The ARM path of a cache key or URL: host, query and ``#suffix`` removed, lower case, no trailing /."""
    if "://" in key:
        key = urlsplit(key).path
    return key.split("#", 1)[0].split("?", 1)[0].lower().rstrip("/")


def cache_key(url_or_path: str) -> str:
    """The key under which a read of ``url_or_path`` is cached: its ARM path (lower case) plus its query."""
    if "://" in url_or_path:
        parts = urlsplit(url_or_path)
        path, query = parts.path, parts.query
    else:
        path, _, query = url_or_path.partition("?")
    path = path.lower().rstrip("/")
    return f"{path}?{query}" if query else path


def related(cached: str, written: str) -> bool:
    """Whether a change at ``written`` makes the read ``cached`` stale: the path itself, what hangs
    under it or under its collection (its siblings), and every collection or resource above it."""
    cached, written = arm_path(cached), arm_path(written)
    if not cached or not written:
        return False
    parent = written.rsplit("/", 1)[0]
    return (cached == written or cached.startswith(written + "/") or written.startswith(cached + "/")
            or (bool(parent) and cached.startswith(parent + "/")))


def touched_by_write(cached: str, written: str) -> bool:
    """``related``, or a read in the same subscription that involves the written resource's provider
    namespace: a write under ``Microsoft.Insights`` also makes stale the subscription-wide list
    ``/subscriptions/{s}/providers/Microsoft.Insights/dataCollectionRules`` and the collections that
    reflect it elsewhere (``{rule}/associations`` when an association under a machine changes)."""
    if related(cached, written):
        return True
    cached, written = arm_path(cached), arm_path(written)
    sub_w, sub_c = _SUBSCRIPTION.match(written), _SUBSCRIPTION.match(cached)
    if not sub_w or not sub_c or sub_w.group(1) != sub_c.group(1):
        return False
    namespaces = _NAMESPACE.findall(written)
    return bool(namespaces) and f"/providers/{namespaces[-1]}/" in cached + "/"


class TtlCache:
    """Values kept for ``ttl`` seconds under ``(scope, key)``. The ARM client caches its reads here
    (scope: the credential); packs may keep their own results too (their own scope, a key that starts
    with the ARM path the result depends on, so that writes under it invalidate it)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._data: dict[tuple[str, str], tuple[float, Any]] = {}

    def get(self, scope: str, key: str) -> Any | None:
        hit = self._data.get((scope, key))
        if hit is not None and hit[0] < time.monotonic():
            del self._data[(scope, key)]
            hit = None
        cache_lookup(hit is not None)
        return None if hit is None else hit[1]

    def put(self, scope: str, key: str, value: Any) -> None:
        if self.ttl > 0:
            self._data[(scope, key)] = (time.monotonic() + self.ttl, value)

    def _drop(self, stale: Any) -> int:
        keys = [k for k in self._data if stale(k[1])]
        for k in keys:
            del self._data[k]
        return len(keys)

    def invalidate(self, path: str) -> int:
        """Drop cached reads of ``path`` (an ARM path or URL), of what hangs under it and of the
        collections above it, in every scope; returns how many were dropped."""
        return self._drop(lambda key: related(key, path))

    def invalidate_write(self, path: str) -> int:
        """What a write to ``path`` makes stale (see ``touched_by_write``); the ARM client calls it."""
        return self._drop(lambda key: touched_by_write(key, path))

    def clear(self) -> None:
        self._data.clear()
