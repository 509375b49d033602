"""Is this KQL worth saving? Syntax errors are refused before anything is written; a query that reads
a table or column the workspace lacks is saved with a note (hunting content is often installed before
its data arrives, as Content Hub does).

Syntax is judged by Microsoft's parser when the optional ``sentinelkit-kql`` is installed; what the
workspace has (tables, columns, functions) by the workspace itself: the query runs once through the Log
Analytics query API over one minute, and the service's error codes say what kind of problem it is
(``SYN...`` syntax, when the parser is not installed; ``SEM...`` semantics).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentinelkit import AzureError, BadRequestError, Kit, KitError, Workspace

_PLACEHOLDERS = re.compile(r"\{\{(StartTimeISO|EndTimeISO)\}\}")


@dataclass(frozen=True)
class Verdict:
    """``note`` is for the answer (a missing table, a check that could not run); ``None``: all good."""

    note: str | None = None
    judge: str = "query API"


@functools.cache
def _microsoft_parser() -> Callable[..., Any] | None:
    try:
        from sentinelkit_kql import validate  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return validate  # type: ignore[no-any-return]


def fill_placeholders(query: str, start: str, end: str) -> str:
    """The portal's ``{{StartTimeISO}}``/``{{EndTimeISO}}`` replaced by the hunt's time range."""
    return _PLACEHOLDERS.sub(lambda m: start if m.group(1) == "StartTimeISO" else end, query)


def as_function_check(body: str, parameters: str | None) -> str:
    """A query that parses a function's body the way Log Analytics declares it."""
    return f"let __sentinelkit_check = ({parameters or ''}) {{\n{body}\n}};\nprint checked = 1"


async def check(kit: Kit, ws: Workspace, query: str, *, what: str, parameters: str | None = None,
                function: bool = False) -> Verdict:
    """Raise ``KitError`` for a syntax error in ``query`` (saying where); else a verdict with any note."""
    text = as_function_check(query, parameters) if function else fill_placeholders(
        query, "2000-01-01T00:00:00Z", "2000-01-01T00:01:00Z")
    validate = _microsoft_parser()
    result = validate(text) if validate is not None else None
    if result is not None and getattr(result, "engine", None) == "microsoft":  # the fallback's grammar is no judge
        errors = [d for d in getattr(result, "diagnostics", []) if str(getattr(d, "severity", "")).lower() == "error"]
        if errors:
            first = errors[0]
            render = getattr(first, "render", None)
            raise KitError(f"{what} has a syntax error: {render() if callable(render) else first}. Nothing was "
                           "written; fix the query and try again.")
    # what the workspace has (tables, columns, functions): its own query API says, for every judge
    try:
        await kit.query(ws, text, timespan="PT1M")
    except BadRequestError as exc:
        if (exc.inner_code or "").upper().startswith("SYN"):
            raise KitError(f"{what} has a syntax error; workspace {ws.label} answered: {exc} Nothing was written; "
                           "fix the query and try again.") from None
        return Verdict(f"saved, but it does not run in {ws.label} yet: {exc}")
    except AzureError as exc:
        return Verdict(f"the query could not be checked in {ws.label} ({type(exc).__name__}); saved as given")
    return Verdict()
