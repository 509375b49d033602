"""KQL validation of rule queries: the one module that knows sentinelkit-kql.

With the ``kql`` extra (``sentinelkit-rules[kql]``), Microsoft's parser (Kusto.Language) checks a query
against the target workspace's real tables, read through the Log Analytics Tables API, and its saved
functions; Sentinel's ``_GetWatchlist`` and its built-in ASIM parsers are known too. Without the extra
only brackets and string quotes are checked, and every answer says the check was partial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sentinelkit import Kit, Workspace

from . import api

#: Kusto.Language's code for a name that is no known table (the workspace lacks the table)
UNKNOWN_TABLE = "KS204"
#: codes of unknown tables and functions: not errors when the name is one of Sentinel's ASIM parsers
UNKNOWN_NAMES = frozenset({"KS204", "KS211"})
#: Sentinel's built-in ASIM parsers (_Im_NetworkSession, _ASim_Dns, imAuthentication, ASimProcessEvent...)
ASIM_NAME = re.compile(r"^(?:_Im_|_ASim_|im[A-Z]|ASim[A-Z])\w*$")
CACHE_SCOPE = "rules"
#: columns every Log Analytics table has (https://learn.microsoft.com/azure/azure-monitor/logs/log-standard-columns)
STANDARD_COLUMNS = (("TenantId", "string"), ("TimeGenerated", "datetime"), ("Type", "string"),
                    ("_ResourceId", "string"), ("_SubscriptionId", "string"), ("_ItemId", "string"),
                    ("_TimeReceived", "datetime"), ("_BilledSize", "real"), ("_IsBillable", "string"))
NO_EXTRA = ("sentinelkit-kql is not installed, so only brackets and string quotes were checked; install "
            "sentinelkit-rules[kql] to check syntax, tables, columns and functions with Microsoft's parser")


@dataclass(frozen=True)
class QueryCheck:
    """A query's validation: its errors with code, message and position, and how complete the check was."""

    engine: str
    complete: bool
    reason: str | None = None
    diagnostics: tuple[dict[str, Any], ...] = ()
    missing_tables: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not any(d["severity"] == "error" for d in self.diagnostics)

    def errors(self) -> list[dict[str, Any]]:
        return [d for d in self.diagnostics if d["severity"] == "error"]

    def summary(self, limit: int = 3) -> str:
        """The first errors in one sentence each: ``line 3, column 9: The name 'x' ... (KS142)``."""
        found = self.errors()
        text = "; ".join(f"line {d['line']}, column {d['column']}: {d['message']} ({d['code']})" for d in found[:limit])
        more = len(found) - limit
        return text + (f"; and {more} more" if more > 0 else "")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "engine": self.engine, "complete": self.complete,
                               "diagnostics": list(self.diagnostics)}
        if self.missing_tables:
            out["missing_tables"] = list(self.missing_tables)
        if self.reason:
            out["partial"] = self.reason
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def available() -> bool:
    """Whether sentinelkit-kql is installed (Microsoft's parser may still be unavailable: see the result)."""
    try:
        import sentinelkit_kql  # noqa: F401
    except ImportError:
        return False
    return True


async def check_syntax(query: str) -> QueryCheck:
    """The query alone, without a workspace: syntax (and built-in functions) only."""
    return await _check(query, None)


async def check_query(kit: Kit, ws: Workspace, query: str) -> QueryCheck:
    """The query against ``ws``: its tables and columns as the Tables API lists them, its saved functions."""
    if not available():
        return _lexical(query)
    return await _check(query, await workspace_schema(kit, ws))


async def workspace_schema(kit: Kit, ws: Workspace) -> Any:
    """``ws``'s tables and functions as a ``sentinelkit_kql.Schema`` (cached; a table change invalidates it)."""
    key = f"{api.tables(ws)}#kql-schema"
    cached = kit.cache.get(CACHE_SCOPE, key)
    if cached is not None:
        return cached
    import asyncio

    from sentinelkit_kql import GET_WATCHLIST, Function, Schema, Table

    arm = kit.arm(ws)
    tables, searches = await asyncio.gather(
        arm.list(api.tables(ws), api.LOG_ANALYTICS, where=ws.where(operation="list tables (for KQL validation)")),
        arm.list(api.saved_searches(ws), api.LOG_ANALYTICS,
                 where=ws.where(operation="list saved functions (for KQL validation)")))
    declared = [_with_standard_columns(Table, Table.from_arm(t)) for t in tables]
    functions = [GET_WATCHLIST]
    names = {t.name for t in declared} | {GET_WATCHLIST.name}
    for search in searches:
        props = search.get("properties") or {}
        alias, body = str(props.get("functionAlias") or ""), props.get("query")
        if not alias or not body or alias in names:
            continue
        try:
            functions.append(Function.parse(f"{alias}({props.get('functionParameters') or ''}) {{ {body} }}"))
        except ValueError:
            continue  # a function the parser cannot declare: calls to it will be reported as unknown
        names.add(alias)
    schema = Schema(declared, functions)
    kit.cache.put(CACHE_SCOPE, key, schema)
    return schema


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: ``union *``, ``search *`` or a wildcard table name: any table may be read
_WILDCARD = re.compile(r"\b(?:union|search)\b[^|]*\*|\bsearch\b", re.IGNORECASE)


def _mentioned(schema: Any, query: str) -> Any:
    """The part of ``schema`` the query can refer to: the tables and functions it names (also inside strings,
    as in ``table("SigninLogs")``), and the tables those functions read. Declaring a workspace's whole schema
    costs Microsoft's parser about a second per workspace; a few tables take milliseconds, with the same
    diagnostics for everything the query names."""
    if _WILDCARD.search(query):
        return schema
    words = set(_WORD.findall(query))
    functions = [f for f in schema.functions if f.name in words]
    for function in functions:
        words |= set(_WORD.findall(function.body or ""))
    return type(schema)([t for t in schema.tables if t.name in words], functions)


def _with_standard_columns(table_type: Any, table: Any) -> Any:
    """The table with the columns Log Analytics adds to every table (``Type``, ``_ResourceId``...), which the
    Tables API does not list but queries use."""
    have = {name for name, _ in table.columns}
    extra = [(name, typ) for name, typ in STANDARD_COLUMNS if name not in have]
    return table_type(table.name, [*table.columns, *extra]) if extra else table


async def _check(query: str, schema: Any) -> QueryCheck:
    if not available():
        return _lexical(query)
    from sentinelkit_kql import avalidate

    result = await avalidate(query, _mentioned(schema, query) if schema is not None else None)
    diagnostics, notes, missing = [], [], []
    for d in result.diagnostics:
        name = query[d.start:d.start + d.length]
        if d.code in UNKNOWN_NAMES and ASIM_NAME.match(name):
            notes.append(f"{name} is one of Microsoft Sentinel's built-in ASIM parsers: its use was not checked")
            continue
        if d.code == UNKNOWN_TABLE and d.severity == "error" and name not in missing:
            missing.append(name)
        diagnostics.append({**d.to_dict(), "text": d.render()})
    complete = result.complete and not notes
    reason = result.reason if not result.complete else ("; ".join(notes) if notes else None)
    return QueryCheck(result.engine, complete, reason, tuple(diagnostics), tuple(missing), tuple(notes))


_PAIRS = {")": "(", "]": "[", "}": "{"}


def _lexical(query: str) -> QueryCheck:
    """Without sentinelkit-kql: unbalanced brackets and unterminated strings, with their position."""
    problems: list[tuple[int, str]] = []
    stack: list[tuple[str, int]] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if query.startswith("//", i):
            i = query.find("\n", i) if "\n" in query[i:] else n
            continue
        if ch in "'\"":
            end = i + 1
            while end < n and query[end] != ch and query[end] != "\n":
                end += 2 if query[end] == "\\" else 1
            if end >= n or query[end] != ch:
                problems.append((i, f"The string starting here is not closed (expected {ch})"))
                break
            i = end + 1
            continue
        if ch in "([{":
            stack.append((ch, i))
        elif ch in _PAIRS:
            if not stack or stack[-1][0] != _PAIRS[ch]:
                problems.append((i, f"'{ch}' closes nothing"))
                break
            stack.pop()
        i += 1
    if not problems and stack:
        problems.append((stack[-1][1], f"'{stack[-1][0]}' is never closed"))
    if not query.strip():
        problems.append((0, "The query is empty"))
    diagnostics = []
    for start, message in problems:
        line = query.count("\n", 0, start) + 1
        column = start - (query.rfind("\n", 0, start) + 1) + 1
        diagnostics.append({"code": "LEXICAL", "severity": "error", "message": message, "start": start, "length": 1,
                            "line": line, "column": column, "text": f"Line {line}, column {column}: {message}"})
    return QueryCheck("lexical", False, NO_EXTRA, tuple(diagnostics))
