"""The check Sentinel runs on a Scheduled or NRT rule's query when the rule is saved: syntax, and the
workspace's tables, columns and functions.

With ``sentinelkit-kql`` installed the judge is Microsoft's own parser (Kusto.Language) over the
workspace's schema (its tables as the Tables API lists them, its saved functions, ``_GetWatchlist``);
Sentinel's built-in ASIM parsers (``_Im_*``, ``_ASim_*``, ``im*``, ``ASim*``) exist in every workspace
and are not refused. Without it only the syntax is checked (duckdb-kql's grammar). A refused query gets
the service's answer: 400 ``BadRequest`` whose message names the problem and where it is.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import ArmError, bad_request
from ...store import Store

#: Kusto.Language's codes for a name that is no known table or function
_UNKNOWN_NAMES = frozenset({"KS204", "KS211"})
#: columns Log Analytics adds to every table; queries use them though the emulator's schemas leave some out
_STANDARD_COLUMNS = (("Type", "string"), ("TenantId", "string"), ("_ResourceId", "string"),
                     ("_SubscriptionId", "string"), ("_ItemId", "string"), ("_TimeReceived", "datetime"),
                     ("_BilledSize", "real"), ("_IsBillable", "string"))
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WILDCARD = re.compile(r"\b(?:union|search)\b[^|]*\*|\bsearch\b", re.IGNORECASE)
_ASIM = re.compile(r"^(?:_Im_|_ASim_|im[A-Z]|ASim[A-Z])\w*$")


def _schema(store: Store, workspace_id: str, query: str | None = None) -> Any:
    """The workspace's tables and functions as sentinelkit-kql declares them; with ``query``, only those the
    query names (and the tables those functions read): declaring a whole workspace costs Microsoft's parser
    about a second, a few tables milliseconds, with the same answer for everything the query names."""
    from sentinelkit_kql import GET_WATCHLIST, Function, Schema

    from ...logs.functions import asim_functions, saved_functions
    from ...logs.schemas import workspace_schemas

    workspace = store.get(workspace_id) or {}
    customer_id = str((workspace.get("properties") or {}).get("customerId") or "")
    all_tables = workspace_schemas(store, workspace_id, customer_id)
    words = set(_WORD.findall(query)) if query is not None and not _WILDCARD.search(query) else None
    functions = [GET_WATCHLIST]
    names = set(all_tables) | {GET_WATCHLIST.name}
    for function in [*saved_functions(store, workspace_id), *asim_functions(all_tables)]:
        if function.name in names or (words is not None and function.name not in words):
            continue
        names.add(function.name)
        if words is not None:
            words |= set(_WORD.findall(function.definition))
        try:
            functions.append(Function.parse(function.definition.removeprefix("function ")))
        except ValueError:
            continue
    tables = {name: {**columns, **{c: t for c, t in _STANDARD_COLUMNS if c not in columns}}
              for name, columns in all_tables.items() if words is None or name in words}
    return Schema(tables, functions)


def _problem(message: str, query: str, start: int, code: str) -> ArmError:
    line = query.count("\n", 0, start) + 1
    column = start - (query.rfind("\n", 0, start) + 1) + 1
    return bad_request(f"The analytics rule's query is not valid: {message} (line {line}, position {column}) "
                       f"[{code}]. Fix the query and save the rule again.")


def check_rule_query(store: Store, workspace_id: str, query: str) -> None:
    """Raise the service's 400 when ``query`` is not valid KQL for the workspace; return when it is."""
    try:
        from sentinelkit_kql import validate
    except ImportError:
        _check_syntax(query)
        return
    result = validate(query, _schema(store, workspace_id, query))
    for d in result.errors:
        name = query[d.start:d.start + d.length]
        if d.code in _UNKNOWN_NAMES and _ASIM.match(name):
            continue
        raise _problem(d.message, query, d.start, d.code)


def _check_syntax(query: str) -> None:
    import duckdb_kql

    for found in duckdb_kql.validate(query):
        lines = query.splitlines(keepends=True)
        start = sum(len(x) for x in lines[:max(found.span.line - 1, 0)]) + found.span.column
        raise _problem(f"Syntax error: {found.message}", query, min(start, len(query)), "SYN0002")
