"""The outcome of a validation: diagnostics with positions, and how complete the check was."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "suggestion", "information"]
#: ``microsoft``: Microsoft's own parser (Kusto.Language). ``syntax-only``: the fallback grammar.
Engine = Literal["microsoft", "syntax-only"]
#: What was checked: the syntax alone, or names and types against a schema as well.
Scope = Literal["syntax", "schema"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a query: Microsoft's code (``KS142``), its message and where it is.

    ``start`` and ``length`` index the query string as Python sees it; ``line`` and ``column`` are
    1-based (the column counts characters from the start of the line).
    """

    code: str
    severity: Severity
    message: str
    start: int
    length: int
    line: int
    column: int

    def render(self) -> str:
        """A sentence with the position: ``Line 3, column 11: The name 'q' does not ... (KS142)``."""
        return f"Line {self.line}, column {self.column}: {self.message} ({self.code})"

    def excerpt(self, query: str) -> str:
        """The line of ``query`` the problem is on, with carets under it."""
        lines = query.splitlines() or [""]
        text = lines[self.line - 1] if self.line <= len(lines) else ""
        width = max(1, min(self.length, len(text) - self.column + 1))
        return f"{text}\n{' ' * (self.column - 1)}{'^' * width}"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "start": self.start,
                "length": self.length, "line": self.line, "column": self.column}

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class Result:
    """A validation's answer. ``ok`` is True when no diagnostic is an error.

    ``complete`` says whether the check was the one asked for: False when only the syntax could be
    checked (``engine == "syntax-only"``) or when some references could not be checked; ``reason``
    then says why, in words a user can act on.
    """

    query: str
    diagnostics: tuple[Diagnostic, ...]
    engine: Engine
    scope: Scope
    complete: bool
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def __iter__(self) -> Iterator[Diagnostic]:
        """The diagnostics (``for d in validate(query, schema)``)."""
        return iter(self.diagnostics)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    def render(self) -> str:
        """Every diagnostic with its line and carets, then a note when the check was partial."""
        parts = [f"{d.render()}\n{d.excerpt(self.query)}" for d in self.diagnostics]
        if not self.diagnostics:
            parts.append("No problems found" + (" in the syntax." if self.scope == "syntax" else "."))
        if not self.complete:
            parts.append(f"Partial check ({self.engine}): {self.reason}")
        return "\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (for a tool's structured output)."""
        return {"ok": self.ok, "engine": self.engine, "scope": self.scope, "complete": self.complete,
                "reason": self.reason, "diagnostics": [d.to_dict() for d in self.diagnostics]}


class Positions:
    """Turns offsets into 1-based line and column numbers for one query text."""

    def __init__(self, text: str) -> None:
        self._starts = [0]
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\r" and i + 1 < len(text) and text[i + 1] == "\n":
                i += 1
            if ch in "\r\n":
                self._starts.append(i + 1)
            i += 1

    def line_column(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def offset(self, line: int, column0: int) -> int:
        """The offset of a 1-based line and a 0-based column (clamped to the text)."""
        line = max(1, min(line, len(self._starts)))
        return self._starts[line - 1] + max(0, column0)


def diagnostic(text: str | Positions, code: str, severity: Severity, message: str, start: int,
               length: int) -> Diagnostic:
    """A :class:`Diagnostic` with its line and column worked out from ``start``."""
    positions = text if isinstance(text, Positions) else Positions(text)
    line, column = positions.line_column(start)
    return Diagnostic(code, severity, message, start, length, line, column)
