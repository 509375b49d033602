"""What a query may refer to: tables (ordered columns with KQL types) and stored functions.

Microsoft's parser knows KQL's operators and built-in functions but nothing about a workspace: the
tables a query reads, their columns, the workspace's saved functions, ASIM parsers and Sentinel's
``_GetWatchlist``. A :class:`Schema` declares them, so that a validation can say "no such column"
the way the service would. Everything here is plain, immutable data that is cheap to build.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

#: The scalar types of KQL (the names Kusto.Language and the Log Analytics query API use).
KQL_TYPES = ("bool", "datetime", "decimal", "dynamic", "guid", "int", "long", "real", "string", "timespan")

# Other spellings of the same types: Kusto aliases, the ARM Tables API (``dateTime``, ``boolean``),
# .NET names (Sentinel's own validation schemas use ``String``, ``Int32``, ``DateTime``...).
_ALIASES = {
    "boolean": "bool", "sbyte": "bool",
    "date": "datetime",
    "double": "real", "float": "real", "single": "real",
    "int32": "int", "int64": "long",
    "uniqueid": "guid",
    "time": "timespan",
    "object": "dynamic",
    "sqldecimal": "decimal", "data.sqltypes.sqldecimal": "decimal",
}

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def kql_type(name: str) -> str:
    """The KQL scalar type for a type name in any common spelling (``String``, ``dateTime``, ``System.Int64``)."""
    key = name.strip().lower()
    key = key.removeprefix("system.")
    key = _ALIASES.get(key, key)
    if key not in KQL_TYPES:
        raise ValueError(f"unknown KQL type {name!r}; use one of: {', '.join(KQL_TYPES)}")
    return key


def quote_name(name: str) -> str:
    """``name`` as a KQL bracketed identifier (``['my column']``), safe for any column name."""
    escaped = name.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"['{escaped}']"


def _columns(owner: str, columns: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    pairs = columns.items() if isinstance(columns, Mapping) else columns
    out: dict[str, str] = {}
    for name, typ in pairs:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{owner}: a column needs a non-empty name, got {name!r}")
        try:
            kql = kql_type(typ)
        except ValueError as e:
            raise ValueError(f"{owner}, column {name!r}: {e}") from None
        if out.get(name, kql) != kql:
            raise ValueError(f"{owner}: column {name!r} is declared twice, as {out[name]} and as {kql}")
        out.setdefault(name, kql)  # a repeated identical declaration is harmless: keep the first
    return tuple(out.items())


def _outside_strings(text: str) -> Iterator[tuple[int, str]]:
    """The characters of ``text`` that are not inside a '...' or "..." literal (backslash escapes respected)."""
    quote, escaped = "", False
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        else:
            yield i, ch


def _split_declaration(text: str) -> tuple[str, str, str]:
    """``Name(inner) rest`` -> (name, inner, rest), with the parenthesis matched."""
    text = text.strip()
    open_at = text.find("(")
    name = text[:open_at].strip() if open_at > 0 else ""
    if not name:
        raise ValueError(f"expected Name(...), got {text!r}")
    depth = 0
    for i, ch in _outside_strings(text[open_at:]):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                end = open_at + i
                return name, text[open_at + 1:end], text[end + 1:].strip()
    raise ValueError(f"unbalanced parentheses in {text!r}")


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets, parentheses or strings."""
    parts, depth, start = [], 0, 0
    for i, ch in _outside_strings(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _unquote(name: str) -> str:
    """``['a b']`` / ``["a b"]`` -> ``a b``; a plain identifier stays as it is."""
    m = re.fullmatch(r"\[\s*(['\"])(.*)\1\s*\]", name.strip(), re.DOTALL)
    if not m:
        return name.strip()
    return re.sub(r"\\(.)", lambda g: {"n": "\n", "r": "\r"}.get(g.group(1), g.group(1)), m.group(2))


def parse_columns(text: str) -> list[tuple[str, str]]:
    """``a:string, ['b c']:int`` -> ``[("a", "string"), ("b c", "int")]`` (the KQL schema syntax)."""
    columns = []
    for item in _split_top_level(text):
        name, sep, typ = item.rpartition(":")
        if not sep or not name.strip():
            raise ValueError(f"expected name:type, got {item!r}")
        columns.append((_unquote(name), typ.strip()))
    return columns


@dataclass(frozen=True, init=False)
class Table:
    """A table: its name and its columns in order (name -> KQL type)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    #: An open table accepts any column name (its columns are only known at run time).
    open: bool = False

    def __init__(self, name: str, columns: Mapping[str, str] | Iterable[tuple[str, str]] = (),
                 *, open: bool = False) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a table needs a non-empty name, got {name!r}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "columns", _columns(f"table {name!r}", columns))
        object.__setattr__(self, "open", bool(open))

    @classmethod
    def parse(cls, declaration: str) -> Table:
        """A table from ``Name(col:type, ...)``, the KQL declaration syntax (``SigninLogs(UserId:string)``)."""
        name, inner, rest = _split_declaration(declaration)
        if rest:
            raise ValueError(f"unexpected text after the column list of {name!r}: {rest!r}")
        return cls(_unquote(name), parse_columns(inner))

    @classmethod
    def from_arm(cls, resource: Mapping[str, Any]) -> Table:
        """A table from its Azure Resource Manager resource (what the Log Analytics Tables API returns).

        ``properties.schema.standardColumns`` (``TenantId``...) come first, then ``columns``.
        """
        props = resource.get("properties") or {}
        schema = props.get("schema") or {}
        name = schema.get("name") or resource.get("name")
        cols = list(schema.get("standardColumns") or []) + list(schema.get("columns") or [])
        return cls(str(name or ""), [(str(c.get("name") or ""), str(c.get("type") or "string")) for c in cols])

    def column_type(self, column: str) -> str | None:
        return dict(self.columns).get(column)

    def declaration(self) -> str:
        """The column list in KQL schema syntax: ``(['a']:string, ['b']:int)``."""
        return "(" + ", ".join(f"{quote_name(c)}:{t}" for c, t in self.columns) + ")"


@dataclass(frozen=True)
class Parameter:
    """A function parameter: ``name:type`` with an optional default (a KQL literal, e.g. ``"dynamic([])"``).

    ``type`` is a scalar type, or a tabular one: ``"(*)"`` (any table) or ``"(col:type, ...)"``.
    """

    name: str
    type: str
    default: str | None = None

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.name or ""):
            raise ValueError(f"a parameter name must be an identifier, got {self.name!r}")
        typ = self.type.strip()
        if typ.startswith("("):
            if typ.replace(" ", "") != "(*)":
                inner = typ[1:-1] if typ.endswith(")") else ""
                cols = _columns(f"parameter {self.name!r}", parse_columns(inner))
                typ = "(" + ", ".join(f"{quote_name(c)}:{t}" for c, t in cols) + ")"
            else:
                typ = "(*)"
        else:
            try:
                typ = kql_type(typ)
            except ValueError as e:
                raise ValueError(f"parameter {self.name!r}: {e}") from None
        object.__setattr__(self, "type", typ)

    def declaration(self) -> str:
        default = f" = {self.default}" if self.default is not None else ""
        return f"{self.name}:{self.type}{default}"


@dataclass(frozen=True, init=False)
class Function:
    """A stored function the query may call: a body (KQL), or only its result columns.

    Give ``body`` when the function's KQL is known (a saved function, an ASIM parser): the parser
    then infers its result. Give ``result`` when only the output is known; ``open_result=True`` when
    even that is not (``_GetWatchlist`` returns the watchlist's own columns).
    """

    name: str
    parameters: tuple[Parameter, ...]
    body: str | None
    result: tuple[tuple[str, str], ...]
    open_result: bool

    def __init__(self, name: str, parameters: Iterable[Parameter] = (), *, body: str | None = None,
                 result: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                 open_result: bool = False) -> None:
        if not _IDENTIFIER.match(name or ""):
            raise ValueError(f"a function name must be an identifier, got {name!r}")
        if (body is None) == (result is None and not open_result):
            raise ValueError(f"function {name!r}: give either its body or its result columns (or open_result)")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "parameters", tuple(parameters))
        object.__setattr__(self, "body", None if body is None else body.strip())
        object.__setattr__(self, "result", _columns(f"function {name!r}", result or ()))
        object.__setattr__(self, "open_result", bool(open_result))

    @classmethod
    def parse(cls, declaration: str) -> Function:
        """A function from ``Name(param:type, ...) { body }`` (the ``.create function`` syntax)."""
        name, inner, body = _split_declaration(declaration)
        if not body:
            raise ValueError(f"function {name!r} needs a body: {name}(...) {{ ... }}")
        params = []
        for item in _split_top_level(inner):
            head, eq, default = item.partition("=")
            pname, sep, ptype = head.partition(":")
            if not sep:
                raise ValueError(f"function {name!r}: expected name:type, got {item!r}")
            params.append(Parameter(pname.strip(), ptype.strip(), default.strip() if eq else None))
        return cls(name, params, body=body)

    def parameter_list(self) -> str:
        return "(" + ", ".join(p.declaration() for p in self.parameters) + ")"

    def body_text(self) -> str:
        body = self.body or ""
        return body if body.startswith("{") else "{\n" + body + "\n}"


def _watchlist() -> Function:
    return Function("_GetWatchlist", [Parameter("watchlistAlias", "string")],
                    result=[("_DTItemId", "string"), ("LastUpdatedTimeUTC", "datetime"),
                            ("SearchKey", "string"), ("WatchlistItem", "dynamic")],
                    open_result=True)


#: Sentinel's ``_GetWatchlist('alias')``: the fixed columns every watchlist has, and any other column
#: (each watchlist adds its own, known only at run time).
GET_WATCHLIST = _watchlist()


@dataclass(frozen=True, init=False)
class Schema:
    """The tables and functions of one workspace (or any database)."""

    tables: tuple[Table, ...]
    functions: tuple[Function, ...]
    database: str = "workspace"

    def __init__(self, tables: Iterable[Table] | Mapping[str, Mapping[str, str]] = (),
                 functions: Iterable[Function] = (), *, database: str = "workspace") -> None:
        if isinstance(tables, Mapping):
            tables = [Table(name, cols) for name, cols in tables.items()]
        tables = tuple(tables)
        functions = tuple(functions)
        names: dict[str, str] = {}
        for kind, item in [("table", t) for t in tables] + [("function", f) for f in functions]:
            if item.name in names:
                raise ValueError(f"{item.name!r} is declared twice (as a {names[item.name]} and as a {kind})")
            names[item.name] = kind
        object.__setattr__(self, "tables", tables)
        object.__setattr__(self, "functions", functions)
        object.__setattr__(self, "database", database)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def function(self, name: str) -> Function | None:
        return next((f for f in self.functions if f.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (round-trips through :meth:`from_dict`)."""
        return {
            "database": self.database,
            "tables": [{"name": t.name, "columns": [list(c) for c in t.columns], **({"open": True} if t.open else {})}
                       for t in self.tables],
            "functions": [{"name": f.name,
                           "parameters": [{"name": p.name, "type": p.type,
                                           **({"default": p.default} if p.default is not None else {})}
                                          for p in f.parameters],
                           **({"body": f.body} if f.body is not None else {}),
                           **({"result": [list(c) for c in f.result]} if f.result else {}),
                           **({"open_result": True} if f.open_result else {})}
                          for f in self.functions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        tables = [Table(t["name"], [tuple(c) for c in t.get("columns", [])], open=t.get("open", False))
                  for t in data.get("tables", [])]
        functions = [Function(f["name"], [Parameter(p["name"], p["type"], p.get("default"))
                                          for p in f.get("parameters", [])],
                              body=f.get("body"),
                              result=[tuple(c) for c in f["result"]] if "result" in f else None,
                              open_result=f.get("open_result", False))
                     for f in data.get("functions", [])]
        return cls(tables, functions, database=data.get("database", "workspace"))

    @cached_property
    def key(self) -> str:
        """A fingerprint: equal schemas share one declaration in the parser."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

