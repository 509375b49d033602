"""The validator: Microsoft's parser when it can be had, the syntax-only fallback when not.

A :class:`KqlValidator` loads V8 and the parser once, on its first validation (or :meth:`load`), and
serialises every call with a lock, so one instance serves many threads and asyncio tasks
(:meth:`avalidate` runs the check off the event loop). :func:`validate` uses a shared instance.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from . import fallback, package
from .errors import EngineError, KqlError, PackageError
from .result import Engine, Result
from .schema import Schema

if TYPE_CHECKING:
    from .microsoft import MicrosoftParser

log = logging.getLogger("sentinelkit_kql")

#: A :class:`Schema`, or just tables as ``{table: {column: type}}`` (the emulator's catalog form).
SchemaLike: TypeAlias = Schema | Mapping[str, Mapping[str, str]]

#: After Microsoft's parser could not be loaded, how long to use the fallback before trying again.
RETRY_AFTER = 300.0


class KqlValidator:
    """Validates KQL; loads Microsoft's parser lazily and falls back to a syntax-only check.

    ``cache_dir``/``tarball``/``allow_download`` say where the parser comes from (see
    :func:`sentinelkit_kql.package.ensure`). With ``require_microsoft=True`` a missing parser is an
    error (:class:`PackageError` or :class:`EngineError`) instead of a fallback.
    ``timeout`` bounds one check in V8.
    """

    def __init__(self, *, cache_dir: Path | None = None, tarball: Path | None = None,
                 allow_download: bool = True, require_microsoft: bool = False, timeout: float = 30.0) -> None:
        self.cache_dir = cache_dir
        self.tarball = tarball
        self.allow_download = allow_download
        self.require_microsoft = require_microsoft
        self.timeout = timeout
        self._lock = threading.Lock()
        self._parser: MicrosoftParser | None = None
        self._unavailable: str | None = None  # why Microsoft's parser is not in use
        self._retry_at = 0.0

    @property
    def engine(self) -> Engine | None:
        """``microsoft`` or ``syntax-only`` once loaded; None before the first validation."""
        if self._parser is not None:
            return "microsoft"
        return "syntax-only" if self._unavailable else None

    @property
    def unavailable_reason(self) -> str | None:
        """Why the fallback is in use (None while Microsoft's parser is)."""
        return self._unavailable

    def load(self) -> Engine:
        """Load the parser now (it is otherwise loaded by the first validation); returns the engine in use."""
        with self._lock:
            self._load()
        return self.engine or "syntax-only"

    def _load(self) -> None:
        if self._parser is not None or (self._unavailable and time.monotonic() < self._retry_at):
            return
        try:
            self._parser = self._open()
            self._unavailable = None
        except KqlError as e:
            if self.require_microsoft:
                raise
            self._unavailable = str(e)
            self._retry_at = time.monotonic() + RETRY_AFTER
            log.warning("KQL validation is syntax-only: %s", e)

    def _open(self) -> MicrosoftParser:
        try:
            import py_mini_racer  # noqa: F401 - only to say clearly when it is missing
        except ImportError:
            raise PackageError("mini-racer is not installed, so Microsoft's KQL parser cannot run "
                               "(pip install 'sentinelkit-kql[microsoft]')") from None
        from .microsoft import MicrosoftParser

        directory = package.ensure(self.cache_dir, tarball=self.tarball, allow_download=self.allow_download,
                                   timeout=self.timeout)
        return MicrosoftParser(directory, timeout=self.timeout)

    def validate(self, query: str, schema: SchemaLike | None = None) -> Result:
        """Check ``query``: its syntax, and with a ``schema`` its tables, columns, functions and types.

        Never raises because of the query; the result's diagnostics say what is wrong with it.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        if schema is not None and not isinstance(schema, Schema):
            schema = Schema(schema)
        with self._lock:
            self._load()
            if self._parser is not None:
                try:
                    return self._parser.check(query, schema, timeout=self.timeout)
                except EngineError as e:
                    # a check cut short may leave the parser's declarations half made ("Value cannot be
                    # null" on the next declare): the next validation loads a fresh one
                    parser, self._parser = self._parser, None
                    parser.close()
                    if self.require_microsoft:
                        raise
                    reason = f"{str(e).rstrip('.')}; only the syntax was checked, with {fallback.PARSER}"
                    return fallback.check_syntax(query, reason)
            reason = f"{(self._unavailable or '').rstrip('.')}. Only the syntax was checked, with {fallback.PARSER}"
            return fallback.check_syntax(query, reason)

    async def avalidate(self, query: str, schema: SchemaLike | None = None) -> Result:
        """:meth:`validate` on a worker thread, so the event loop keeps running meanwhile."""
        import asyncio

        return await asyncio.to_thread(self.validate, query, schema)

    def close(self) -> None:
        """Free V8 (about 150 MB); a later validation loads it again."""
        with self._lock:
            parser, self._parser = self._parser, None
            if parser is not None:
                parser.close()


_shared: KqlValidator | None = None
_shared_lock = threading.Lock()


def shared_validator() -> KqlValidator:
    """The process-wide validator (created on first use, default settings)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = KqlValidator()
        return _shared


def validate(query: str, schema: SchemaLike | None = None) -> Result:
    """Validate with the shared validator: syntax only without ``schema``, names and types with it."""
    return shared_validator().validate(query, schema)


async def avalidate(query: str, schema: SchemaLike | None = None) -> Result:
    """:func:`validate` without blocking the event loop."""
    return await shared_validator().avalidate(query, schema)
