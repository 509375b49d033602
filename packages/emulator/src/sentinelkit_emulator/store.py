"""The emulator's state: ARM resources, Log Analytics rows, long-running operations.

All mutation happens on the server's single event loop without awaiting in between, so each
request's change is atomic. Once a state file is attached (``track_changes``), the store notes
what each change touched, and the state file commits exactly that (see statefile.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .model import World

Resource = dict[str, Any]
LogRow = dict[str, Any]
#: customerId (lower) -> table name -> rows (dicts keyed by column name)
Logs = dict[str, dict[str, list[LogRow]]]


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


@dataclass
class Changes:
    """What changed since the last commit: resources put or deleted (by key; their current value is
    read at commit time), log rows appended, counters moved."""

    resources: dict[str, None] = field(default_factory=dict)  # an ordered set
    logs: list[tuple[str, str, list[LogRow]]] = field(default_factory=list)
    counters: dict[str, None] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.resources or self.logs or self.counters)


class Store:
    """In-memory state with an index of collections for paging-friendly listing."""

    def __init__(self, world: World, now: datetime) -> None:
        self.world = world
        #: The scenario's anchor time; seeded timestamps are relative to it.
        self.now = now
        self._resources: dict[str, Resource] = {}
        self._collections: dict[str, dict[str, None]] = {}
        self._logs: Logs = {}
        #: makes the scenario's log rows at their first use (see defer_logs)
        self._log_seed: Callable[[], Logs] | None = None
        #: rows appended before the scenario's were made: they follow them
        self._appended_early: list[tuple[str, str, list[LogRow]]] = []
        #: async operation id -> {"status": ..., "resource_id": ..., "polls_left": int, ...}
        self.operations: dict[str, dict[str, Any]] = {}
        #: per-collection counters, e.g. incident numbers per workspace
        self.counters: dict[str, int] = {}
        #: bumped on every change; caches (e.g. the KQL engine) compare against it
        self.version = 0
        self.logs_version = 0
        #: what changed since the last commit; None while nothing records changes (e.g. while seeding)
        self.changes: Changes | None = None

    def track_changes(self) -> None:
        """From now on, note every change (the scenario seeded before this is not a change)."""
        self.changes = Changes()

    # -- resources ----------------------------------------------------------------------------
    def get(self, resource_id: str) -> Resource | None:
        return self._resources.get(key_of(resource_id))

    def put(self, resource: Resource) -> Resource:
        """Insert or replace a resource (its ``id`` decides where). Returns the stored object."""
        k = key_of(resource["id"])
        self._resources[k] = resource
        self._collections.setdefault(parent_of(k), {})[k] = None
        self.version += 1
        if self.changes is not None:
            self.changes.resources[k] = None
        return resource

    def delete(self, resource_id: str) -> Resource | None:
        """Remove a resource and everything beneath it (child and extension resources)."""
        k = key_of(resource_id)
        removed = self._resources.pop(k, None)
        if removed is None:
            return None
        self._collections.get(parent_of(k), {}).pop(k, None)
        prefix = k + "/"
        children = [c for c in self._resources if c.startswith(prefix)]
        for child in children:
            del self._resources[child]
            self._collections.get(parent_of(child), {}).pop(child, None)
        for coll in [c for c in self._collections if c.startswith(prefix)]:
            del self._collections[coll]
        self.version += 1
        if self.changes is not None:  # every removed key: a state file must not bring a seeded child back
            self.changes.resources.update(dict.fromkeys([k, *children]))
        return removed

    def children(self, collection_id: str) -> list[Resource]:
        """Resources directly in a collection (e.g. ``{workspace}/providers/Microsoft.SecurityInsights/incidents``)."""
        return [self._resources[k] for k in self._collections.get(key_of(collection_id), {})]

    def all(self) -> Iterator[Resource]:
        return iter(self._resources.values())

    def next_counter(self, name: str) -> int:
        value = self.counters.get(name.lower(), 0) + 1
        self.counters[name.lower()] = value
        if self.changes is not None:
            self.changes.counters[name.lower()] = None
        return value

    # -- logs -----------------------------------------------------------------------------------
    def defer_logs(self, seed: Callable[[], Logs]) -> None:
        """Make the scenario's log rows with ``seed()`` when they are first read, not now: they are most
        of a start's work, and a session that only reads and writes ARM never needs them."""
        self._log_seed = seed

    @property
    def logs(self) -> Logs:
        if self._log_seed is not None:
            seed, self._log_seed = self._log_seed, None
            logs = seed()
            for cid, table, rows in self._appended_early:
                logs.setdefault(cid, {}).setdefault(table, []).extend(rows)
            self._logs, self._appended_early = logs, []
        return self._logs

    def append_logs(self, customer_id: str, table: str, rows: list[LogRow]) -> None:
        if self._log_seed is not None:  # appending needs no reading: the scenario's rows can still wait
            self._appended_early.append((customer_id.lower(), table, list(rows)))
        else:
            self._logs.setdefault(customer_id.lower(), {}).setdefault(table, []).extend(rows)
        self.logs_version += 1
        if self.changes is not None:
            self.changes.logs.append((customer_id.lower(), table, list(rows)))

    def workspace_logs(self, customer_id: str) -> dict[str, list[LogRow]]:
        return self.logs.get(customer_id.lower(), {})
