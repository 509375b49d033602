"""The audit log: one JSON line per write (including dry runs, previews and refusals)."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .log import redact, redact_text
from .settings import ConfigError

if TYPE_CHECKING:
    from .call import ToolCall


class AuditLogError(ConfigError):
    """The audit log cannot be written: the server must not start (writes would go unrecorded)."""


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

    def record(self, call: ToolCall) -> dict[str, Any]:
        """The one audit record of a write tool's call: who, what, where it really wrote, how it ended."""
        tenant, workspace = call.audit_scope()
        outcome = call.final_outcome()
        # what went wrong is its ``error``; why a call that went well went as it did is its ``detail``
        text = redact_text(call.detail) if call.detail else None
        went_well = outcome in ("applied", "no_change", "dry_run", "preview")
        return self.write(
            tool=call.tool, pack=call.pack, safety=call.spec.safety.value, caller=call.caller, tenant=tenant,
            workspace=workspace, arguments=call.arguments, dry_run=call.dry_run, outcome=outcome,
            confirmed_by=call.confirmed_by, error=None if went_well else text, **({"detail": text} if went_well and text else {}),
            correlation_ids=call.correlation_ids, **({"refused": call.refusals} if call.refusals else {}),
            **({"notes": call.notes} if call.notes else {}),
        )

    def write(self, **entry: Any) -> dict[str, Any]:
        record: dict[str, Any] = redact({"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry})
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
