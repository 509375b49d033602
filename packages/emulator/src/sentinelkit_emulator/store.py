"""The emulator's state: ARM resources, Log Analytics rows, long-running operations.

All mutation happens on the server's single event loop without awaiting in between, so each
request's change is atomic; persistence snapshots the state and writes it atomically (temp file
+ rename) off the loop, coalescing bursts of writes.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from .model import World

Resource = dict[str, Any]
LogRow = dict[str, Any]


def key_of(resource_id: str) -> str:
    """ARM ids are case-insensitive: every look-up goes through this normal form."""
    return resource_id.rstrip("/").lower()


def parent_of(resource_id: str) -> str:
    """The collection a resource lives in: its id without the last ``/name``."""
    return key_of(resource_id).rsplit("/", 1)[0]


def new_etag(quoted: bool = True) -> str:
    """A fresh etag. Sentinel wraps its etags in double quotes inside the JSON string."""
    raw = str(uuid.uuid4())
    return f'"{raw}"' if quoted else raw


class Store:
    """In-memory state with an index of collections for paging-friendly listing."""

    def __init__(self, world: World, now: datetime) -> None:
        self.world = world
        #: The scenario's anchor time; seeded timestamps are relative to it.
        self.now = now
        self._resources: dict[str, Resource] = {}
        self._collections: dict[str, dict[str, None]] = {}
        #: customerId (lower) -> table name -> rows (dicts keyed by column name)
        self.logs: dict[str, dict[str, list[LogRow]]] = {}
        #: async operation id -> {"status": ..., "resource_id": ..., "polls_left": int, ...}
        self.operations: dict[str, dict[str, Any]] = {}
        #: per-collection counters, e.g. incident numbers per workspace
        self.counters: dict[str, int] = {}
        #: bumped on every change; caches (e.g. the KQL engine) compare against it
        self.version = 0
        self.logs_version = 0

    # -- resources ----------------------------------------------------------------------------
    def get(self, resource_id: str) -> Resource | None:
        return self._resources.get(key_of(resource_id))

    def put(self, resource: Resource) -> Resource:
        """Insert or replace a resource (its ``id`` decides where). Returns the stored object."""
        k = key_of(resource["id"])
        self._resources[k] = resource
        self._collections.setdefault(parent_of(k), {})[k] = None
        self.version += 1
        return resource

    def delete(self, resource_id: str) -> Resource | None:
        """Remove a resource and everything beneath it (child and extension resources)."""
        k = key_of(resource_id)
        removed = self._resources.pop(k, None)
        if removed is None:
            return None
        self._collections.get(parent_of(k), {}).pop(k, None)
        prefix = k + "/"
        for child in [c for c in self._resources if c.startswith(prefix)]:
            del self._resources[child]
            self._collections.get(parent_of(child), {}).pop(child, None)
        for coll in [c for c in self._collections if c.startswith(prefix)]:
            del self._collections[coll]
        self.version += 1
        return removed

    def children(self, collection_id: str) -> list[Resource]:
        """Resources directly in a collection (e.g. ``{workspace}/providers/Microsoft.SecurityInsights/incidents``)."""
        return [self._resources[k] for k in self._collections.get(key_of(collection_id), {})]

    def all(self) -> Iterator[Resource]:
        return iter(self._resources.values())

    def next_counter(self, name: str) -> int:
        value = self.counters.get(name.lower(), 0) + 1
        self.counters[name.lower()] = value
        return value

    # -- logs -----------------------------------------------------------------------------------
    def append_logs(self, customer_id: str, table: str, rows: list[LogRow]) -> None:
        self.logs.setdefault(customer_id.lower(), {}).setdefault(table, []).extend(rows)
        self.logs_version += 1

    def workspace_logs(self, customer_id: str) -> dict[str, list[LogRow]]:
        return self.logs.get(customer_id.lower(), {})

    # -- persistence ----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A copy that later changes cannot affect, to be written out off the event loop.

        Log rows are never changed once appended, so copying the lists (not the rows) is enough and
        keeps a snapshot of ~80k rows cheap.
        """
        state = copy.deepcopy(
            {
                "format": 1,
                "now": self.now.isoformat(),
                "world": self.world.to_json(),
                "resources": list(self._resources.values()),
                "operations": self.operations,
                "counters": self.counters,
            }
        )
        state["logs"] = {cid: {table: list(rows) for table, rows in tables.items()} for cid, tables in self.logs.items()}
        return state

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Store:
        if data.get("format") != 1:
            raise ValueError(f"unsupported state file format {data.get('format')!r} (expected 1)")
        store = cls(World.from_json(data["world"]), datetime.fromisoformat(data["now"]))
        for resource in data["resources"]:
            store.put(resource)
        store.logs = data["logs"]
        store.operations = data["operations"]
        store.counters = data["counters"]
        return store


def write_json_atomically(path: Path, data: Any) -> None:
    """Write JSON so that a crash leaves either the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Persister:
    """Saves the store to ``path`` after changes, at most one write in flight, coalescing bursts."""

    def __init__(self, store_ref: Any, path: Path) -> None:
        # store_ref is a zero-argument callable returning the current store (reset swaps stores)
        self._store_ref = store_ref
        self.path = path
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def mark_dirty(self) -> None:
        self._dirty.set()

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            snapshot = self._store_ref().snapshot()
            await asyncio.to_thread(write_json_atomically, self.path, snapshot)

    async def flush(self) -> None:
        """Write the current state now (used at shutdown)."""
        if self._task is not None:
            self._task.cancel()
        snapshot = self._store_ref().snapshot()
        await asyncio.to_thread(write_json_atomically, self.path, snapshot)
