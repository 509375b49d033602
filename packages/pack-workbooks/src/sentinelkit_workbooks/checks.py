"""Does a workbook fit a workspace? Every Log Analytics query is checked against the workspace's tables
(and saved functions); with Microsoft's KQL parser installed (``sentinelkit-kql``), also by it.

The parser is optional and reached through one seam, ``microsoft_validator``: this pack never parses
KQL itself beyond finding table names (``references``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentinelkit import Kit, Workspace

from . import api
from .content import Query, queries
from .references import PARAMETER, STRING_LITERAL

#: Sentinel's built-in parsers (ASIM) and watchlist function exist in every Sentinel workspace
_BUILT_IN_FUNCTION = re.compile(r"^(_Im_|_ASim_|_GetWatchlist|im[A-Z]|ASim[A-Z])")
#: sample values for workbook parameters, so that Microsoft's parser sees KQL (inside a string literal a
#: parameter becomes plain text)
_SAMPLES = [(re.compile(r"\{[A-Za-z_]\w*:(?:start|end)\}"), "datetime(2026-01-01)"),
            (re.compile(r"\{[A-Za-z_]\w*:grain\}"), "1h"),
            (re.compile(r"\{[A-Za-z_]\w*:seconds\}"), "3600"),
            (re.compile(r"\{[A-Za-z_]*Time[A-Za-z_]*\}"), "> ago(1d)"),
            (re.compile(r"\{[A-Za-z_]\w*(?::[^{}\s]*)?\}"), "'x'")]


@dataclass(frozen=True)
class WorkspaceSchema:
    """What a workspace offers to queries: tables (with column types) and saved functions."""

    tables: dict[str, dict[str, str]]
    functions: frozenset[str]

    def has_table(self, name: str) -> bool:
        if "*" in name:
            pattern = re.compile(re.escape(name).replace(r"\*", ".*") + "$", re.IGNORECASE)
            return any(pattern.match(t) for t in self.tables)
        return name.lower() in self._lower_tables or name.lower() in self._lower_functions \
            or bool(_BUILT_IN_FUNCTION.match(name))

    @property
    def _lower_tables(self) -> set[str]:
        return {t.lower() for t in self.tables}

    @property
    def _lower_functions(self) -> set[str]:
        return {f.lower() for f in self.functions}


async def workspace_schema(kit: Kit, ws: Workspace) -> WorkspaceSchema:
    arm = kit.arm(ws)
    tables, saved = await asyncio.gather(
        arm.list(f"{ws.id}/tables", api.LOG_ANALYTICS_VERSION, where=ws.where(operation="list tables")),
        arm.list(f"{ws.id}/savedSearches", api.LOG_ANALYTICS_VERSION, where=ws.where(operation="list saved searches")))
    columns = {}
    for t in tables:
        schema = (t.get("properties") or {}).get("schema") or {}
        cols = [*(schema.get("standardColumns") or []), *(schema.get("columns") or [])]
        columns[str(t.get("name"))] = {str(c.get("name")): str(c.get("type") or "string") for c in cols
                                       if isinstance(c, dict)}
    functions = frozenset(str((s.get("properties") or {}).get("functionAlias")) for s in saved
                          if (s.get("properties") or {}).get("functionAlias"))
    return WorkspaceSchema(columns, functions)


def microsoft_validator() -> Callable[..., Any] | None:
    """``sentinelkit_kql.validate`` when the optional distribution is installed, else None."""
    try:
        from sentinelkit_kql import validate  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return validate  # type: ignore[no-any-return,unused-ignore]


def with_samples(kql: str) -> str:
    """``kql`` with workbook parameters replaced by sample values of a plausible type."""

    def code(text: str) -> str:
        for pattern, value in _SAMPLES:
            text = pattern.sub(value, text)
        return text

    out, last = [], 0
    for m in STRING_LITERAL.finditer(kql):
        out.append(code(kql[last:m.start()]))
        out.append(PARAMETER.sub("x", m.group(0)))
        last = m.end()
    out.append(code(kql[last:]))
    return "".join(out)


def _microsoft_errors(validate: Callable[..., Any], q: Query, schema: WorkspaceSchema) -> dict[str, Any]:
    result = validate(with_samples(q.text), schema.tables)
    errors = [d for d in result if str(getattr(d, "severity", "error")) == "error"]
    out: dict[str, Any] = {"engine": getattr(result, "engine", "microsoft"),
                           "errors": [d.render() if hasattr(d, "render") else str(d) for d in errors]}
    if getattr(result, "complete", True) is False and getattr(result, "reason", None):
        out["partial"] = result.reason
    return out


async def check(content: dict[str, Any], schema: WorkspaceSchema) -> dict[str, Any]:
    """Per query: the tables it reads and those the workspace lacks; Microsoft's diagnostics when available.
    Returns ``{"checked", "missing_tables", "queries": [...problems only...], "kql_validator", ...}``."""
    validator = microsoft_validator()
    problems: list[dict[str, Any]] = []
    checked = 0
    missing_all: set[str] = set()
    skipped: dict[str, int] = {}
    engines: set[str] = set()
    for q in queries(content):
        if not q.reads_workspace:
            skipped[q.query_type] = skipped.get(q.query_type, 0) + 1
            continue
        checked += 1
        refs = q.refs()
        row: dict[str, Any] = {"step": q.step, "title": q.title}
        missing = [t for t in refs.tables if not schema.has_table(t)]
        if missing:
            row["missing_tables"] = missing
            missing_all.update(missing)
        if validator is not None:
            found = await asyncio.to_thread(_microsoft_errors, validator, q, schema)
            engines.add(str(found["engine"]))
            if found["errors"]:
                row["kql"] = found
        if len(row) > 2:
            problems.append(row)
    out: dict[str, Any] = {"checked": checked, "missing_tables": sorted(missing_all, key=str.lower),
                           "queries": problems,
                           "kql_validator": ", ".join(sorted(engines)) if engines else
                           "not installed (pip install sentinelkit-kql[microsoft] adds Microsoft's parser)"}
    if validator is not None:
        out["parameters"] = "workbook parameters ({...}) were replaced by sample values for the KQL check"
    if skipped:
        out["not_checked"] = {f"{kind} queries": n for kind, n in skipped.items()}
    return out
