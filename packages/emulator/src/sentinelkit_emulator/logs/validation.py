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
from collections.abc import Callable, Mapping, Sequence
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
def _validator() -> Callable[..., Any] | None:
    try:
        from sentinelkit_kql import validate  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return validate  # type: ignore[no-any-return]


def available() -> bool:
    return _validator() is not None


def microsoft_errors(query: str, schemas: Mapping[str, Mapping[str, str]]) -> Sequence[Diagnostic] | None:
    """The errors Microsoft's parser finds in ``query`` (empty: valid KQL), or None without the parser."""
    validate = _validator()
    if validate is None:
        return None
    found = []
    for item in validate(query, {name: dict(columns) for name, columns in schemas.items()}) or ():
        get = item.get if isinstance(item, Mapping) else lambda key, d=None, o=item: getattr(o, key, d)
        severity = str(get("severity", "Error") or "Error")
        if severity.lower() != "error":
            continue
        found.append(Diagnostic(str(get("code", "") or ""), str(get("message", "") or ""),
                                int(get("start", 0) or 0), int(get("length", 0) or 0)))
    return found
