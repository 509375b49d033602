"""What can go wrong when running a PowerShell function, said so that the user knows what to do.

All are ``KitError``s: the core turns them into MCP tool errors verbatim (after redaction).
"""

from __future__ import annotations

import re
from typing import Any

from sentinelkit import KitError


class BridgeError(KitError):
    """A failure of the bridge itself (host missing, crashed, timed out) rather than of the function."""

    transient = False


class HostStartError(BridgeError):
    """The host could not start: pwsh missing, the script missing or failing to load."""


class HostCrashed(BridgeError):
    """The host process exited (or the connection dropped) while running a call; it restarts on the next."""

    transient = True


class HostTimeout(BridgeError):
    """The call ran longer than its timeout; the host was stopped and restarts on the next call."""


class ProtocolError(BridgeError):
    """The host answered something that is not the protocol (or too much of it)."""


class FunctionNotAllowed(BridgeError):
    """A name that is not a discovered function of the configured script."""


class PowerShellError(KitError):
    """The function itself failed; ``record`` is the structured ErrorRecord the host sent back."""

    def __init__(self, message: str, record: dict[str, Any], *, transient: bool = False) -> None:
        super().__init__(message)
        self.record = record
        self.transient = transient


_TRANSIENT_TYPES = ("HttpRequestException", "WebException", "TimeoutException", "SocketException", "IOException",
                    "TaskCanceledException", "OperationCanceledException", "WSManFault", "PSRemotingTransportException")
_TRANSIENT_CATEGORIES = {"ResourceUnavailable", "OperationTimeout", "ConnectionError", "ResourceBusy"}
_TRANSIENT_TEXT = re.compile(
    r"\b(408|429|500|502|503|504)\b|too many requests|throttl|temporar(il)?y|timed?[ -]?out|service unavailable|"
    r"bad gateway|gateway timeout|connection (was )?(reset|closed|refused|aborted)|server busy|try again later|"
    r"name (or service )?(could not be|not) (resolved|known)|an existing connection was forcibly closed",
    re.IGNORECASE,
)
_PERMANENT_TEXT = re.compile(r"\b(400|401|403|404|405|409|412|422)\b|unauthori[sz]ed|forbidden|not found|"
                             r"does not exist|invalid|authorizationfailed|parameterbinding", re.IGNORECASE)


def is_transient(record: dict[str, Any]) -> bool:
    """Whether an ErrorRecord looks like a passing failure (throttling, 5xx, network) worth retrying.

    Conservative: anything that also looks permanent (4xx other than 408/429, not found, invalid
    arguments, parameter binding) is not retried.
    """
    text = " ".join(str(record.get(k) or "") for k in ("message", "error_id", "exception_type", "reason"))
    if _PERMANENT_TEXT.search(text) and not re.search(r"\b(408|429)\b|too many requests|throttl", text, re.IGNORECASE):
        return False
    if (record.get("category") or "") in _TRANSIENT_CATEGORIES:
        return True
    if any(t in str(record.get("exception_type") or "") for t in _TRANSIENT_TYPES):
        return True
    return bool(_TRANSIENT_TEXT.search(text))


def describe_record(function: str, record: dict[str, Any]) -> str:
    """One paragraph: the message, where in the script, category and error id."""
    message = str(record.get("message") or "no message").strip()
    parts = [f"{function} failed in PowerShell: {message}" if function else f"PowerShell error: {message}"]
    details = []
    if record.get("category"):
        details.append(f"category {record['category']}")
    if record.get("error_id"):
        details.append(f"error id {record['error_id']}")
    if record.get("exception_type"):
        details.append(f"exception {record['exception_type']}")
    if details:
        parts.append(f"({', '.join(details)})")
    position = str(record.get("position") or "").strip()
    if position:
        parts.append("\n" + (position if position.lower().startswith("at ") else f"at {position}"))
    return " ".join(parts)
