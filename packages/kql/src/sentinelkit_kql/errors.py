"""Errors about the validator itself (never about a query: those are diagnostics in a Result)."""


class KqlError(RuntimeError):
    """Base of this package's errors."""


class PackageError(KqlError):
    """Microsoft's parser could not be obtained; the message says what happened and what to do."""


class EngineError(KqlError):
    """V8 or the parser failed (not the query): the message says what happened."""
