"""The partial check used when Microsoft's parser is not available: syntax only, with duckdb-kql's grammar.

duckdb-kql (a dependency of the emulator) parses KQL with an ANTLR grammar derived from Microsoft's,
without executing anything. It knows no table, column or function names and its error positions
are coarser, so every result from here says ``complete: False`` and why.
"""

from __future__ import annotations

import re

from .result import Diagnostic, Positions, Result, diagnostic

PARSER = "duckdb-kql's ANTLR grammar"
CODE = "SYNTAX"

_EXPECTING = re.compile(r"^(?P<head>.*?) expecting (?P<set>\{.*\}|\S.*)$", re.DOTALL)
_QUOTED = re.compile(r"'((?:[^']|'(?!\s|$))*)'")


def _expected(options: str) -> str:
    """`` (expected X or Y)`` when ANTLR's set of expected tokens is short enough to help, else ``""``."""
    items = [o.strip() for o in options.strip("{}").split(",") if o.strip()]
    if not items or len(items) > 4:
        return ""
    words = ["the end of the query" if i == "<EOF>" else i for i in items]
    return f" (expected {' or '.join(words)})"


def _tidy(message: str) -> tuple[str, str | None]:
    """ANTLR's message in plain words, and the offending text when the message names it."""
    hint = ""
    m = _EXPECTING.match(message)
    if m:
        message, hint = m.group("head"), _expected(m.group("set"))
    quoted = _QUOTED.search(message)
    token = quoted.group(1) if quoted else None
    if token == "<EOF>":
        return "The query ends where more was expected" + hint, None
    if message.startswith(("mismatched input", "extraneous input")):
        return f"Unexpected '{token}'{hint}", token
    if message.startswith("no viable alternative at input"):
        return f"Cannot parse the query at '{token}'", None
    if message.startswith("token recognition error at:"):
        return f"Unrecognized text '{token}'", token
    if message.startswith("missing "):
        return message[0].upper() + message[1:] + hint, None
    return message[:200] + hint, None


def check_syntax(query: str, reason: str) -> Result:
    """A syntax-only :class:`Result` (``complete`` False, ``reason`` as given)."""
    import duckdb_kql

    positions = Positions(query)
    diagnostics: list[Diagnostic] = []
    for found in duckdb_kql.validate(query):
        start = min(positions.offset(found.span.line, found.span.column), len(query))
        message, token = _tidy(found.message)
        length = len(token) if token and query.startswith(token, start) else 0
        diagnostics.append(diagnostic(positions, CODE, "error", message, start, length))
    return Result(query, tuple(diagnostics), "syntax-only", "syntax", complete=False, reason=reason)
