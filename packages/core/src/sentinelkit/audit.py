"""The audit log: one JSON line per write (including dry runs, previews and refusals)."""

from __future__ import annotations

import contextvars
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .log import redact
from .settings import ConfigError


class AuditLogError(ConfigError):
    """The audit log cannot be written: the server must not start (writes would go unrecorded)."""


class WriteGate:
    """What the current tool call may write: nothing for a read-only tool, and for a write tool only
    after ``kit.confirm_change`` let it through (so a dry run or an unconfirmed destructive call cannot
    change anything, whatever the pack does)."""

    def __init__(self, tool: str, pack: str, writes: bool) -> None:
        self.tool = tool
        self.pack = pack
        self.writes = writes
        self.open = False

    def check(self, method: str, path: str) -> None:
        from .errors import KitError

        if not self.writes:
            raise KitError(f"{self.tool} is a read-only tool but tried to {method} {path.split('?', 1)[0]}; "
                           f"refused. This is a bug in pack {self.pack!r}: declare the tool ADDITIVE or DESTRUCTIVE.")
        if not self.open:
            raise KitError(f"{self.tool} tried to {method} {path.split('?', 1)[0]} before confirming the change; "
                           f"refused. This is a bug in pack {self.pack!r}: call kit.confirm_change(...) first.")


#: the write gate of the current tool call (None outside tool calls: scripts and tests write freely)
WRITE_GATE: contextvars.ContextVar[WriteGate | None] = contextvars.ContextVar("sentinelkit_write_gate", default=None)

#: correlation ids of the write requests made while handling the current tool call
CORRELATION_IDS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("sentinelkit_correlation",
                                                                                     default=None)


class AuditLog:
    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path else None
        self._lock = threading.Lock()

    def check(self) -> None:
        """Make sure the log can be appended to (its directory created, the file opened for append);
        raise ``AuditLogError`` naming the path and the setting otherwise. Called when the server is built."""
        if self.path is None:
            return
        existed = self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.close(fd)
        except OSError as exc:
            raise AuditLogError(
                f"cannot write the audit log {str(self.path)!r} ({exc.strerror or type(exc).__name__}); every write is "
                "recorded there, so the server will not start without it. Set SENTINELKIT_AUDIT_LOG (or audit_log "
                "in sentinelkit.toml) to a file in a writable directory."
            ) from None
        if not existed:
            try:  # leave no empty file behind: the first write creates it
                if self.path.stat().st_size == 0:
                    self.path.unlink()
            except OSError:
                pass

    def write(self, **entry: Any) -> dict[str, Any]:
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        if "arguments" in record:
            record["arguments"] = redact(record["arguments"])
        record = redact(record)
        if self.path is not None:
            line = json.dumps(record, default=str, sort_keys=False) + "\n"
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line.encode("utf-8"))
                finally:
                    os.close(fd)
        return record
