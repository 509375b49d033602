"""The state file (``--state-file``): a SQLite database of what changed since the scenario was seeded.

Why SQLite (from the stdlib) rather than an append-only journal: each request's changes are one
transaction, committed before the response acknowledges them, so a process killed at any moment
loses nothing acknowledged and never leaves half a file or a temporary file behind; a changed
resource is one row that later changes replace (a journal grows with every update and needs
compacting, which is a rewrite again); and SQLite's lock keeps two emulators off one file.

The seeded scenario is not in the file. Each start derives it again for the current time (the
seeders are deterministic) and applies the changes on top, moved in time with it (retime.py), so a
state reopened days later still has "the last 24 hours". The file holds: the identities (tenants,
principals and their secrets, so that clients keep signing in across restarts), resources created,
updated or deleted, log rows appended by writes (e.g. SecurityIncident rows), and counters
(incident numbers). Long-running operations are not kept: one in flight when the process ended
counts as completed.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .model import World
from .retime import Retime
from .store import Changes, Store

#: Builds the scenario's store for an anchor time, with saved identities (None: new ones).
BuildStore = Callable[[datetime, World | None], Store]

#: Identifies the emulator's files (PRAGMA application_id; "SKEM") and their layout (PRAGMA user_version).
APPLICATION_ID = 0x534B454D
FORMAT = 1
#: How long a start waits for another emulator to release the file (e.g. a client's previous server
#: that is still shutting down) before it gives up.
LOCK_WAIT_SECONDS = 15.0

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",  # scenario, world, anchor, clock
    "CREATE TABLE resources (key TEXT PRIMARY KEY, body TEXT)",  # body NULL: deleted
    "CREATE TABLE log_rows (seq INTEGER PRIMARY KEY, workspace TEXT NOT NULL, log_table TEXT NOT NULL, "
    "row TEXT NOT NULL)",
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)


def _options(scenario: str) -> str:
    """The command-line options that start ``scenario`` (``mssp``, or ``mssp:100x10`` for a generated world)."""
    name, _, size = scenario.partition(":")
    if not size:
        return f"--scenario {name}"
    tenants, _, per_tenant = size.partition("x")
    return f"--scenario {name} --tenants {tenants} --workspaces-per-tenant {per_tenant}"


class StateFileError(Exception):
    """The file cannot be used as a state file; the message says why and what to do."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


class StateFile:
    """An open state file, locked for this process until ``close()``."""

    def __init__(self, path: Path, scenario: str) -> None:
        self.path = path
        self.scenario = scenario
        self._store: Store | None = None
        self._db = self._open()

    # -- opening ------------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        path = self.path
        if path.is_dir():
            raise StateFileError(f"state file {path} is a directory; pass a file path")
        _refuse_foreign(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # it holds the emulator's client secrets: readable by its owner only (SQLite's -wal file inherits this)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        db = sqlite3.connect(path, timeout=LOCK_WAIT_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA locking_mode = EXCLUSIVE")  # the lock is held until close: one emulator per file
            db.execute("BEGIN EXCLUSIVE")  # waits (up to the timeout) for another emulator to let go
            try:
                self._check_or_create(db)  # before anything is written: a foreign file stays as it is
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # a committed change survives the process being killed
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise StateFileError(
                    f"state file {path} is in use by another running emulator (waited {LOCK_WAIT_SECONDS:g} s); "
                    "stop that one or pass another state file") from exc
            raise StateFileError(f"state file {path} cannot be opened: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StateFileError(f"{path} is not a sentinelkit emulator state ({exc}); move it away or pass "
                                 "another state file") from exc
        except BaseException:
            db.close()
            raise
        return db

    def _check_or_create(self, db: sqlite3.Connection) -> None:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id == 0 and tables == 0:  # a new (empty) file
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {FORMAT}")
            db.execute("INSERT INTO meta VALUES ('scenario', ?)", (self.scenario,))
            return
        if app_id != APPLICATION_ID:
            raise StateFileError(f"{self.path} is not a sentinelkit emulator state (a SQLite database of another "
                                 "application); move it away or pass another state file")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != FORMAT:
            raise StateFileError(f"state file {self.path} has format {version}, this emulator reads format {FORMAT}; "
                                 "use the emulator version that wrote it, or move the file away to start afresh")
        saved = self._meta(db).get("scenario")
        if saved != self.scenario:
            raise StateFileError(f"state file {self.path} belongs to scenario {saved!r}, not {self.scenario!r}; pass "
                                 f"{_options(saved)} or another state file")

    @staticmethod
    def _meta(db: sqlite3.Connection) -> dict[str, str]:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())

    # -- loading ------------------------------------------------------------------------------
    def load(self, build: BuildStore) -> Store:
        """The store to serve: the scenario (``build``) with the saved changes on top.

        Saved times are moved to the new start (retime.py) and written back in one transaction, so
        that the file stays relative to the scenario it now sits on.
        """
        meta = self._meta(self._db)
        now = _utcnow()
        if "world" not in meta:  # nothing saved yet
            store = build(now, None)
            self._write_meta(world=store.world, anchor=store.now, clock=store.now)
        else:
            retime = Retime(datetime.fromisoformat(meta["anchor"]), datetime.fromisoformat(meta["clock"]), now)
            store = build(retime.new_anchor, World.from_json(json.loads(meta["world"])))
            self._apply(store, retime)
        store.track_changes()
        self._store = store
        return store

    def _apply(self, store: Store, retime: Retime) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            resources = db.execute("SELECT key, body FROM resources ORDER BY rowid").fetchall()
            for key, body in resources:
                if body is None:
                    store.delete(key)
            for key, body in resources:
                if body is None:
                    continue
                resource = retime.value(json.loads(body))
                props = resource.get("properties")
                if isinstance(props, dict) and props.get("provisioningState") == "Updating":
                    # its long-running operation died with the previous process: it completed
                    props["provisioningState"] = "Succeeded"
                store.put(resource)
                db.execute("UPDATE resources SET body = ? WHERE key = ?", (_dumps(resource), key))
            for seq, workspace, table, raw in db.execute(
                    "SELECT seq, workspace, log_table, row FROM log_rows ORDER BY seq").fetchall():
                row = retime.value(json.loads(raw))
                store.append_logs(workspace, table, [row])
                db.execute("UPDATE log_rows SET row = ? WHERE seq = ?", (_dumps(row), seq))
            for name, value in db.execute("SELECT name, value FROM counters").fetchall():
                store.counters[name] = max(value, store.counters.get(name, 0))
            self._set_times(store.now, retime.now)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- saving -------------------------------------------------------------------------------
    def commit(self, store: Store) -> None:
        """Write what changed in ``store`` since the last commit, as one transaction.

        A different store than the last one is a reset (``POST /_emulator/reset``): the saved changes
        are dropped and the new store's anchor becomes the file's.
        """
        if store is not self._store:
            self._restart(store)
        changes = store.changes
        if not changes:
            return
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany(
                "INSERT INTO resources (key, body) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body",
                [(key, None if (r := store.get(key)) is None else _dumps(r)) for key in changes.resources])
            db.executemany("INSERT INTO log_rows (workspace, log_table, row) VALUES (?, ?, ?)",
                           [(cid, table, _dumps(row)) for cid, table, rows in changes.logs for row in rows])
            db.executemany(
                "INSERT INTO counters VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                [(name, store.counters[name]) for name in changes.counters])
            db.execute("UPDATE meta SET value = ? WHERE key = 'clock'", (_utcnow().isoformat(),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        store.changes = Changes()

    def _restart(self, store: Store) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            for table in ("resources", "log_rows", "counters"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            self._set_times(store.now, store.now)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        store.track_changes()
        self._store = store

    def _write_meta(self, *, world: World, anchor: datetime, clock: datetime) -> None:
        db = self._db
        db.execute("BEGIN")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('world', ?)", (_dumps(world.to_json()),))
        self._set_times(anchor, clock)
        db.execute("COMMIT")

    def _set_times(self, anchor: datetime, clock: datetime) -> None:
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             [("anchor", anchor.isoformat()), ("clock", clock.isoformat())])

    def close(self) -> None:
        """Release the file (SQLite folds its write-ahead log back into it)."""
        self._db.close()


def _refuse_foreign(path: Path) -> None:
    """A clear error for a file that is not SQLite, before SQLite touches it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        return
    if not head or head.startswith(b"SQLite format 3\x00"):
        return
    if head.lstrip().startswith(b"{"):
        raise StateFileError(
            f"{path} is not a sentinelkit emulator state in this version's format: it looks like a JSON state "
            "of an earlier version (a full copy of the emulator's data). State files now keep only changes, in "
            "SQLite; delete or move that file to start from the scenario (its changes cannot be carried over)")
    raise StateFileError(f"{path} is not a sentinelkit emulator state (not a SQLite database); move it away or "
                         "pass another state file")
