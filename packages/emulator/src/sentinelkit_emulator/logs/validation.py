"""Microsoft's KQL parser as the judge of a query the emulator's engine could not run.

When the optional distribution ``sentinelkit-kql`` is installed, its ``validate(query, schema)`` runs
Microsoft's own parser (Kusto.Language) over the query with the workspace's full schema:

- it reports errors: the query is wrong, and the answer is Log Analytics' message with its position;
- it reports none: the query is valid KQL the offline engine cannot run ("the offline emulator does
  not support X (the real service does)").

Without it, the engine's own classification stands (duckdb-kql's grammar and binder, see ``engine``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Diagnostic:
    """One error of Microsoft's parser: code (``KS142``...), message, offset and length in the query."""

    code: str
    message: str
    start: int
    length: int


@functools.cache
def _library() -> Any | None:
    try:
        import sentinelkit_kql  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return sentinelkit_kql


def available() -> bool:
    return _library() is not None


def microsoft_errors(query: str, schemas: Mapping[str, Mapping[str, str]],
                     functions: Sequence[Any] = ()) -> Sequence[Diagnostic] | None:
    """The errors Microsoft's parser finds in ``query`` against the workspace's tables and functions
    (``_GetWatchlist`` over the workspace's watchlists, saved functions, ASIM parsers) — empty: valid KQL —
    or None when Microsoft's parser is not there (the library's syntax-only fallback is no verdict on what
    the service accepts)."""
    kql = _library()
    if kql is None:
        return None
    declared = []
    for function in functions:
        text = str(getattr(function, "definition", "")).strip()
        text = text[len("function "):] if text.startswith("function ") else text
        try:
            declared.append(kql.Function.parse(text))
        except Exception:  # a saved function the parser cannot read is left out, as the engine does
            continue
    if not any(f.name.lower() == "_getwatchlist" for f in declared):
        # without the workspace's watchlists, the open result Sentinel gives it (the items' own columns)
        declared.append(kql.GET_WATCHLIST)
    schema = kql.Schema({name: dict(columns) for name, columns in schemas.items()}, functions=declared)
    result = kql.validate(query, schema)
    if result.engine != "microsoft" or not result.complete:
        return None
    return [Diagnostic(d.code, d.message, d.start, d.length) for d in result.diagnostics if d.severity == "error"]
