"""The emulator's state: ARM resources, Log Analytics rows, long-running operations.

All mutation happens on the server's single event loop without awaiting in between, so each
request's change is atomic. Once a state file is attached (``track_changes``), the store notes
what each change touched, and the state file commits exactly that (see statefile.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


_WORKSPACE_SEGMENTS = 9  # "", subscriptions, {s}, resourcegroups, {rg}, providers, {namespace}, workspaces, {name}


def workspace_above(key: str) -> str | None:
    """The key of the Log Analytics workspace ``key`` (a normal-form id) lies strictly under, if any."""
    parts = key.split("/", _WORKSPACE_SEGMENTS)
    if len(parts) <= _WORKSPACE_SEGMENTS or parts[6] != "microsoft.operationalinsights" or parts[7] != "workspaces":
        return None
    return "/".join(parts[:_WORKSPACE_SEGMENTS])


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
        #: resource type (lower case) -> keys of that type (see ``of_type``)
        self._types: dict[str, dict[str, None]] = {}
        #: workspace key -> what seeds the resources under it, at their first use (see ``defer_workspace``)
        self._pending: dict[str, Callable[[], None]] = {}
        #: customerId (lower) -> what makes that workspace's log rows, at their first read
        self._pending_logs: dict[str, Callable[[], dict[str, list[LogRow]]]] = {}
        #: while a pending workspace is seeded: its key + "/", the only place its seed may put resources
        self._seeding_under: str | None = None
        self._in_seed = False
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

    # -- workspaces seeded at their first use -----------------------------------------------------
    def defer_workspace(self, workspace_id: str, seed: Callable[[], None],
                        logs: Callable[[], dict[str, list[LogRow]]] | None = None, customer_id: str = "") -> None:
        """Seed what lies under a workspace (``seed()`` puts it) when something under it is first read or
        written, not now; and its log rows (``logs()`` returns them by table) when they are first read.

        A world of a thousand workspaces then starts in a moment, and a session pays only for the
        workspaces it uses. ``seed`` must put resources under the workspace only: what is listed
        across a subscription (workspaces, data collection rules, workbooks) is seeded up front.
        """
        self._pending[key_of(workspace_id)] = seed
        if logs is not None:
            self._pending_logs[customer_id.lower()] = logs

    def _ensure(self, key: str) -> None:
        """Seed the pending workspace ``key`` lies under (a no-op in a world seeded up front)."""
        if self._pending:
            workspace = workspace_above(key)
            if workspace is not None and workspace in self._pending:
                self._materialize(workspace)

    def _materialize(self, workspace: str) -> None:
        seed = self._pending.pop(workspace)
        self._seeding_under = workspace + "/"
        try:
            with self._seeding():
                seed()
        finally:
            self._seeding_under = None

    @contextmanager
    def _seeding(self) -> Iterator[None]:
        """What seeding puts is the scenario, not a change: not recorded, not a new version, and its
        counters (incident numbers) start where a fresh seed's do, whatever was saved on top."""
        changes, version, saved = self.changes, self.version, self.counters
        self.changes, self.counters, self._in_seed = None, {}, True
        try:
            yield
        finally:
            seeded, self.counters = self.counters, saved
            for name, value in seeded.items():
                self.counters[name] = max(value, saved.get(name, 0))
            self.changes, self.version, self._in_seed = changes, version, False

    def materialize_all(self) -> None:
        """Seed every pending workspace and its rows now (for code that needs the whole world)."""
        for workspace in list(self._pending):
            if workspace in self._pending:
                self._materialize(workspace)
        for customer_id in list(self._pending_logs):
            self._materialize_logs(customer_id)

    # -- resources ----------------------------------------------------------------------------
    def get(self, resource_id: str) -> Resource | None:
        k = key_of(resource_id)
        self._ensure(k)
        return self._resources.get(k)

    def put(self, resource: Resource) -> Resource:
        """Insert or replace a resource (its ``id`` decides where). Returns the stored object."""
        k = key_of(resource["id"])
        if self._seeding_under is not None and not k.startswith(self._seeding_under):
            raise ValueError(f"a workspace seeded at first use may only put resources under it, not {k}")
        self._ensure(k)
        previous = self._resources.get(k)
        if previous is not None:
            self._untype(k, previous)
        self._resources[k] = resource
        self._collections.setdefault(parent_of(k), {})[k] = None
        self._types.setdefault(str(resource.get("type", "")).lower(), {})[k] = None
        self.version += 1
        if self.changes is not None:
            self.changes.resources[k] = None
        return resource

    def delete(self, resource_id: str) -> Resource | None:
        """Remove a resource and everything beneath it (child and extension resources)."""
        k = key_of(resource_id)
        self._ensure(k)
        removed = self._resources.pop(k, None)
        if removed is None:
            return None
        self._untype(k, removed)
        self._collections.get(parent_of(k), {}).pop(k, None)
        prefix = k + "/"
        for workspace in [w for w in self._pending if w.startswith(prefix) or w == k]:
            del self._pending[workspace]  # gone before anything was seeded under it
        children = [c for c in self._resources if c.startswith(prefix)]
        for child in children:
            self._untype(child, self._resources.pop(child))
            self._collections.get(parent_of(child), {}).pop(child, None)
        for coll in [c for c in self._collections if c.startswith(prefix)]:
            del self._collections[coll]
        self.version += 1
        if self.changes is not None:  # every removed key: a state file must not bring a seeded child back
            self.changes.resources.update(dict.fromkeys([k, *children]))
        return removed

    def _untype(self, key: str, resource: Resource) -> None:
        self._types.get(str(resource.get("type", "")).lower(), {}).pop(key, None)

    def children(self, collection_id: str) -> list[Resource]:
        """Resources directly in a collection (e.g. ``{workspace}/providers/Microsoft.SecurityInsights/incidents``)."""
        k = key_of(collection_id)
        self._ensure(k)
        return [self._resources[c] for c in self._collections.get(k, {})]

    def all(self) -> Iterator[Resource]:
        """Every resource (seeding every pending workspace first: prefer ``of_type`` or ``children``)."""
        self.materialize_all()
        return iter(self._resources.values())

    def of_type(self, type_name: str) -> list[Resource]:
        """The resources of one type, e.g. every workspace. Types listed across subscriptions are seeded up
        front (see ``defer_workspace``), so no pending workspace is seeded for this."""
        return [self._resources[k] for k in self._types.get(type_name.lower(), {})]

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
        for customer_id in list(self._pending_logs):
            self._materialize_logs(customer_id)
        return self._logs

    def _materialize_logs(self, customer_id: str) -> None:
        """A workspace's seeded rows, then the rows appended to it so far (which follow them)."""
        rows = self._pending_logs.pop(customer_id)()
        appended = self._logs.get(customer_id, {})
        for table, more in appended.items():
            rows.setdefault(table, []).extend(more)
        self._logs[customer_id] = rows

    def append_logs(self, customer_id: str, table: str, rows: list[LogRow]) -> None:
        if self._in_seed and customer_id.lower() in self._pending_logs:
            return  # what seeding a workspace logs, its own log seed makes too (see defer_workspace)
        if self._log_seed is not None:  # appending needs no reading: the scenario's rows can still wait
            self._appended_early.append((customer_id.lower(), table, list(rows)))
        else:
            self._logs.setdefault(customer_id.lower(), {}).setdefault(table, []).extend(rows)
        self.logs_version += 1
        if self.changes is not None:
            self.changes.logs.append((customer_id.lower(), table, list(rows)))

    def workspace_logs(self, customer_id: str) -> dict[str, list[LogRow]]:
        cid = customer_id.lower()
        if cid in self._pending_logs:
            self._materialize_logs(cid)
        if self._log_seed is None:
            return self._logs.get(cid, {})
        return self.logs.get(cid, {})
