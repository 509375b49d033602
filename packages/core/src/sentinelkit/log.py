"""Logging: structlog JSON lines on stderr (never stdout: stdio carries the MCP protocol), with secrets
redacted. structlog is imported on first use so that it costs nothing at start-up."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

SECRET_KEY_RE = re.compile(
    r"(secret|password|passwd|pwd|passphrase|token|credential|api[_-]?key|private[_-]?key|sas|signature"
    r"|authorization|auth(?!or)|bearer|cookie|pfx|pem"
    r"|(shared|access|account|workspace|primary|secondary)[_-]?key|connection[_-]?string)",
    re.IGNORECASE)
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
#: secret values inside free text: PEM private keys, HTTP authorization schemes, connection-string keys
_PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)", re.DOTALL)
# a credential, not a word: "Basic plan" / "a bearer token" stay, "Bearer abc.DEF" / "Basic dXNlcjpw" go
_AUTH_SCHEME_RE = re.compile(r"\b([Bb]earer|[Bb]asic)\s+(?=[A-Za-z0-9._~+/=-]+?[A-Z0-9+/=])[A-Za-z0-9._~+/=-]{6,}")
_CONN_KEY_RE = re.compile(r"\b((?:SharedAccessKey|AccountKey|SharedAccessSignature|Password|Pwd)\s*=\s*)[^;\s\"']+",
                          re.IGNORECASE)
REDACTED = "***"

_known_secrets: set[str] = set()
_logger: Any = None
_level = logging.INFO


def register_secret(value: str | None) -> None:
    """Remember a secret value (client secret, HTTP token, a password a tool received) so that it is masked
    wherever it would appear: logs, errors, the audit log, answers."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


add_secret = register_secret


def redact_text(text: str) -> str:
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _PEM_RE.sub(REDACTED, text)
    text = _AUTH_SCHEME_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _CONN_KEY_RE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _JWT_RE.sub(REDACTED, text)


def redact(value: Any, key: str | None = None) -> Any:
    """Mask values under secret-looking keys, known secret values and bearer tokens, recursively."""
    if key is not None and SECRET_KEY_RE.search(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def trace_ids() -> dict[str, str]:
    """The current trace and span ids (empty outside a trace, or before anything loaded OpenTelemetry)."""
    if "opentelemetry.trace" not in sys.modules:
        return {}
    from .telemetry.spans import current_ids

    return current_ids()


def _trace_processor(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Log lines carry the trace and span ids: joined with the trace and the audit record."""
    for key, value in trace_ids().items():
        event.setdefault(key, value)
    return event


def _redact_processor(logger: Any, method: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    return {k: (redact(v, k) if k not in ("event", "level", "timestamp") else v) for k, v in event.items()}


_human = False


class LineHandler(logging.Handler):
    """Library log records (FastMCP, uvicorn, the mcp SDK, azure-core) as sentinelkit's own lines: one JSON
    object per line on stderr (or readable text with ``--log-format console``), redacted like the rest."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = redact_text(record.getMessage())
            if record.exc_info and _level <= logging.DEBUG:
                message += "\n" + redact_text(self.formatException(record.exc_info))
            if _human:
                line = f"{record.levelname.lower():<7} {record.name}: {message}"
            else:
                import json
                from datetime import UTC, datetime

                line = json.dumps({"logger": record.name, "event": message, "level": record.levelname.lower(),
                                   "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                                   **trace_ids()})
            sys.stderr.write(line + "\n")
        except Exception:  # a log line must never break the server
            self.handleError(record)

    @staticmethod
    def formatException(exc_info: Any) -> str:
        return logging.Formatter().formatException(exc_info)


def configure(level: str = "INFO", *, debug: bool = False, human: bool = False) -> None:
    """Set the level and the format of every stderr line (ours and the libraries'): JSON unless ``human``.
    structlog itself is configured lazily by ``logger()``."""
    global _level, _logger, _human
    _level = logging.DEBUG if debug else getattr(logging, level.upper(), logging.INFO)
    _human = human
    _logger = None
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    root.addHandler(LineHandler())
    root.setLevel(max(_level, logging.WARNING))
    for name in ("fastmcp", "mcp", "uvicorn", "uvicorn.error", "uvicorn.access"):
        library = logging.getLogger(name)
        for handler in library.handlers[:]:
            library.removeHandler(handler)
        library.propagate = True
        library.setLevel(max(_level, logging.WARNING))
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("azure.identity").setLevel(logging.ERROR)  # sign-in failures are reported by us


def enabled(level: int) -> bool:
    """Whether records of ``level`` (``logging.DEBUG``...) are written: asks without importing structlog, for a
    record made on the start-up path."""
    return level >= _level


def logger() -> Any:
    """The structlog logger (JSON to stderr with redaction)."""
    global _logger
    if _logger is None:
        import structlog

        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
                _trace_processor,
                _redact_processor,
                structlog.dev.ConsoleRenderer(colors=False) if _human else structlog.processors.JSONRenderer(),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(_level),
            logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
            cache_logger_on_first_use=True,
        )
        _logger = structlog.get_logger("sentinelkit")
    return _logger
