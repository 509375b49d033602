"""The wire format between the bridge and a host (local pwsh, remote runspace, or the test fake).

Requests are one JSON object per line on the host's stdin::

    {"id": 7, "command": "Get-SentinelIncidents", "parameters": {"Days": 3}, "whatif": false,
     "secure": [], "depth": 8}

Answers are RFC 7464 JSON text sequences on stdout: an ASCII record separator (0x1E), the JSON object,
a new line. Lines without the separator are stray console output of the script (``Write-Host`` to the
console, ``-WhatIf`` messages, ``[Console]::WriteLine``): they are kept as the call's ``host`` lines
instead of breaking the protocol. The first record is ``{"type": "ready", ...}``; then one
``{"type": "result", "id": ..., "ok": ...}`` per request, in order, one request at a time.
Values only ever travel as JSON data; the host splats them, nothing is spliced into script text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 1
RS = "\x1e"
RS_BYTE = b"\x1e"


def encode_request(request: dict[str, Any]) -> bytes:
    """ASCII-only JSON (non-ASCII escaped) so that no console code page can garble it."""
    return (json.dumps(request, ensure_ascii=True, separators=(",", ":"), default=str) + "\n").encode("ascii")


def decode_record(line: bytes) -> dict[str, Any] | None:
    """The JSON object of a protocol line, or None for a stray console line."""
    stripped = line.rstrip(b"\r\n")
    if not stripped.startswith(RS_BYTE):
        return None
    data = json.loads(stripped[1:].decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("a protocol record must be a JSON object")
    return data


@dataclass
class CallResult:
    """What a function produced: pipeline output and the other PowerShell streams."""

    output: list[Any] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # non-terminating ErrorRecords
    warnings: list[str] = field(default_factory=list)
    information: list[str] = field(default_factory=list)  # Write-Host / Write-Information
    verbose: list[str] = field(default_factory=list)
    host: list[str] = field(default_factory=list)  # stray console lines, -WhatIf messages
    attempts: int = 1
    duration_ms: float = 0.0

    @classmethod
    def from_record(cls, record: dict[str, Any], host_lines: list[str]) -> CallResult:
        output = record.get("output")
        return cls(
            output=output if isinstance(output, list) else ([] if output is None else [output]),
            errors=list(record.get("errors") or []),
            warnings=[str(w) for w in record.get("warnings") or []],
            information=[str(i) for i in record.get("information") or []],
            verbose=[str(v) for v in record.get("verbose") or []],
            host=[*host_lines, *[str(h) for h in record.get("host") or []]],
        )
