"""Runs KQL over a workspace's seeded rows with duckdb-kql, answering as the Log Analytics query API.

Each workspace (or set of workspaces, for cross-workspace queries) gets its own DuckDB schema in the
engine's one in-memory database, built lazily: a table is created, with its real columns, and its rows
loaded on the first query that reads it (a health query touches two or three of a dozen tables). A
schema costs kilobytes where a database of its own costs megabytes and a tenth of a second, so the
cache holds one per workspace of the world, however large. The store only ever appends rows, so later
queries load just the new ones; a change of store (reset) or of table schemas (a custom table created
or deleted through ARM) rebuilds the workspace's schema.

Threading: :meth:`LogsEngine.snapshot` reads the store and must run on the event loop (the store is
mutated there); :meth:`LogsEngine.run` does the work and is meant for a worker thread. Each query
runs on its own DuckDB cursor (whose search path is its workspace's schema), so queries run
concurrently; creating, loading and dropping schemas is serialised by the engine's lock.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import itertools
import json
import math
import re
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import ArmError
from .functions import Function, called_functions, specialize, workspace_functions
from .schemas import DUCKDB_TYPES, Schema, merge_schemas, workspace_schemas

if TYPE_CHECKING:
    import duckdb

    from ..store import LogRow, Store

#: The service's result limits (https://aka.ms/kustoquerylimits): beyond them the answer is truncated and
#: carries a ``PartialError``, as Azure does.
MAX_RESULT_ROWS = 500_000
MAX_RESULT_BYTES = 64_000_000
#: The service's default and maximum server timeout (``Prefer: wait=N``), in seconds.
DEFAULT_TIMEOUT = 180
MAX_TIMEOUT = 600
#: How many schemas (workspace sets) are kept beyond one per workspace of the world; cross-workspace
#: queries make one per set.
MAX_DATABASES = 32
#: The real API returns ``dynamic`` values as JSON text (a string holding JSON); clients ``json.loads`` them.
DYNAMIC_AS_JSON_TEXT = True

_WORKSPACE_TYPE = "microsoft.operationalinsights/workspaces"


# --------------------------------------------------------------------------------------------------
# Errors, in the query API's own format
# --------------------------------------------------------------------------------------------------


class QueryApiError(ArmError):
    """An error answered in the query API's format: ``{"error": {message, code, correlationId, innererror}}``."""

    def __str__(self) -> str:
        """The top message and the innermost one (the one that says what is wrong)."""
        inner = self.inner or {}
        while isinstance(inner.get("innererror"), dict):
            inner = inner["innererror"]
        detail = inner.get("message")
        return f"({self.code}) {self.message}" + (f": {detail}" if detail else "")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "code": self.code, "correlationId": str(uuid.uuid4())}
        if self.details:
            error["details"] = self.details
        if self.inner:
            error["innererror"] = self.inner
        return {"error": error}


_INVALID_PROPERTIES = "The request had some invalid properties"


def bad_argument(inner_code: str, inner_message: str, **extra: Any) -> QueryApiError:
    """400 ``BadArgumentError`` with one inner error (request-level problems: body, timespan...)."""
    return QueryApiError(400, "BadArgumentError", _INVALID_PROPERTIES,
                         inner={"code": inner_code, "message": inner_message, **extra})


def syntax_error(message: str, line: int, pos: int, token: str) -> QueryApiError:
    """400 as the service answers a query that does not parse (``SyntaxError`` / ``SYN0002``)."""
    return QueryApiError(400, "BadArgumentError", _INVALID_PROPERTIES, inner={
        "code": "SyntaxError",
        "message": "A recognition error occurred in the query.",
        "innererror": {"code": "SYN0002", "message": message, "line": line, "pos": pos, "token": token},
    })


def semantic_error(message: str, code: str = "SEM0100") -> QueryApiError:
    """400 as the service answers a query that parses but does not bind (unknown table/column, types)."""
    return QueryApiError(400, "BadArgumentError", _INVALID_PROPERTIES, inner={
        "code": "SemanticError",
        "message": "A semantic error occurred.",
        "innererror": {"code": code, "message": message},
    })


def unsupported_error(what: str, where: str = "") -> QueryApiError:
    """400 for valid KQL the emulator's engine cannot run: names the construct and never blames the query."""
    at = f" ({where})" if where else ""
    return QueryApiError(400, "BadArgumentError", _INVALID_PROPERTIES, inner={
        "code": "SemanticError",
        "message": "A semantic error occurred.",
        "innererror": {
            "code": "EmulatorUnsupportedKql",
            "message": f"The offline emulator does not support {what}{at} (the real service does). The query "
                       "itself may be fine: run it against a real Log Analytics workspace, or rewrite it "
                       "without that construct to run it here.",
        },
    })


# --------------------------------------------------------------------------------------------------
# Timespans
# --------------------------------------------------------------------------------------------------

_DURATION = re.compile(
    r"^(?P<neg>-)?P(?:(?P<Y>\d+(?:\.\d+)?)Y)?(?:(?P<MO>\d+(?:\.\d+)?)M)?(?:(?P<W>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<D>\d+(?:\.\d+)?)D)?(?:T(?:(?P<H>\d+(?:\.\d+)?)H)?(?:(?P<MI>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<S>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_DURATION_SECONDS = {"Y": 365 * 86400, "MO": 30 * 86400, "W": 7 * 86400, "D": 86400, "H": 3600, "MI": 60, "S": 1}


def _parse_duration(text: str) -> dt.timedelta | None:
    m = _DURATION.match(text.strip())
    if not m or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        return None
    seconds = sum(float(v) * _DURATION_SECONDS[k] for k, v in m.groupdict().items() if k != "neg" and v)
    return dt.timedelta(seconds=-seconds if m.group("neg") else seconds)


def _parse_instant(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def parse_timespan(text: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """ISO 8601 ``duration``, ``start/end``, ``start/duration`` or ``duration/end`` -> (start, end) in UTC.

    A bare duration ends at ``now`` (``PT1H`` is "the last hour"), as the service applies it.
    """
    parts = [p for p in text.strip().split("/")]
    start = end = None
    if len(parts) == 1:
        span = _parse_duration(parts[0])
        if span is not None:
            start, end = now - span, now
    elif len(parts) == 2:
        a, b = parts
        a_dt, b_dt = _parse_instant(a), _parse_instant(b)
        if a_dt and b_dt:
            start, end = a_dt, b_dt
        elif a_dt and (span := _parse_duration(b)) is not None:
            start, end = a_dt, a_dt + span
        elif b_dt and (span := _parse_duration(a)) is not None:
            start, end = b_dt - span, b_dt
    if start is None or end is None:
        raise bad_argument(
            "InvalidTimespan",
            f"The timespan '{text}' is not a valid ISO 8601 time interval: use a duration such as PT1H or "
            "P7D, 'start/end' or 'start/duration' (e.g. 2024-01-01T00:00:00Z/PT12H).",
        )
    if end < start:
        start, end = end, start
    return start, end


#: Columns every Log Analytics table has but a result shows only when the query names them (a join's
#: right-hand copy is ``_ItemId1``...). Rows get a fresh ``_ItemId`` when loaded.
HIDDEN_COLUMNS: dict[str, str] = {"_ItemId": "string"}
_HIDDEN_NAME = re.compile(r"(_ItemId)\d*")


def with_hidden_columns(schemas: Mapping[str, Schema]) -> dict[str, Schema]:
    """``schemas`` with the hidden columns every table has (what queries may name)."""
    return {name: {**schema, **{c: t for c, t in HIDDEN_COLUMNS.items() if c not in schema}}
            for name, schema in schemas.items()}


def _visible(description: Sequence[Any], query: str) -> list[int] | None:
    """Indexes of the result columns to answer with (hidden ones the query does not name are left out), or
    None when every column is."""
    hidden = [i for i, d in enumerate(description)
              if (m := _HIDDEN_NAME.fullmatch(str(d[0]))) and m.group(1) not in query]
    if not hidden:
        return None
    return [i for i in range(len(description)) if i not in hidden]


@dataclass(frozen=True)
class Snapshot:
    """What a query needs from the store, captured on the event loop.

    ``sources`` are the store's own row lists (append-only) with their lengths at snapshot time, so a
    worker thread can slice them without racing the loop.
    """

    key: tuple[str, ...]  # customer ids (lower case), primary first
    store: weakref.ref[Any]
    schemas: dict[str, Schema]
    sources: tuple[tuple[str, dict[str, list[LogRow]], dict[str, int]], ...]
    #: the functions the primary workspace's queries can call (``functions.workspace_functions``)
    functions: tuple[Function, ...] = ()
    #: how many workspaces the store holds (the engine keeps a database for each)
    world: int = 1


# --------------------------------------------------------------------------------------------------
# Values on the wire
# --------------------------------------------------------------------------------------------------


def format_datetime(value: dt.datetime | dt.date) -> str:
    """Kusto's datetime text: UTC, 7 fractional digits when there are any, trailing ``Z``."""
    if not isinstance(value, dt.datetime):
        return f"{value.isoformat()}T00:00:00Z"
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{value.microsecond:06d}0Z" if value.microsecond else f"{text}Z"


def format_timespan(value: dt.timedelta) -> str:
    """.NET ``TimeSpan`` text (``[-][d.]hh:mm:ss[.fffffff]``), which Kusto uses for timespans."""
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    hours, rem = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rem, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if value.days:
        text = f"{value.days}.{text}"
    if value.microseconds:
        text += f".{value.microseconds:06d}0"
    return sign + text


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return format_datetime(value)
    if isinstance(value, dt.timedelta):
        return format_timespan(value)
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _dynamic(value: Any) -> Any:
    """A ``dynamic`` value as the query API sends it: JSON text for objects and arrays."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    else:
        value = _jsonable(value)
    if not DYNAMIC_AS_JSON_TEXT:
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def _real(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return float(value) if isinstance(value, Decimal) else value


def _datetime(value: Any) -> Any:
    return format_datetime(value) if isinstance(value, (dt.datetime, dt.date)) else value


def _timespan(value: Any) -> Any:
    if isinstance(value, dt.timedelta):
        return format_timespan(value)
    if isinstance(value, dt.time):
        return format_timespan(dt.timedelta(hours=value.hour, minutes=value.minute, seconds=value.second,
                                            microseconds=value.microsecond))
    return str(value)


def _text(value: Any) -> Any:
    return str(value)


def _long(value: Any) -> Any:
    return int(value) if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else value


_CONVERTERS: dict[str, Callable[[Any], Any] | None] = {
    "string": None, "int": None, "bool": None, "long": _long, "real": _real, "datetime": _datetime,
    "timespan": _timespan, "guid": _text, "decimal": _text, "dynamic": _dynamic,
}


def kusto_type(duckdb_type: object) -> str:
    """The KQL type of a DuckDB result column (``duckdb_kql.types`` holds the mapping)."""
    from duckdb_kql.types import kusto_type as _kusto_type

    return _kusto_type(duckdb_type)


def convert_rows(types: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """DuckDB rows -> the JSON values the query API sends for each column type."""
    converters = [_CONVERTERS.get(t) for t in types]
    active = [(i, f) for i, f in enumerate(converters) if f is not None]
    out = []
    for row in rows:
        values = list(row)
        for i, f in active:
            if values[i] is not None:
                values[i] = f(values[i])
        out.append(values)
    return out


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass
class QueryResult:
    """The answer body plus what the statistics header reports."""

    body: dict[str, Any]
    row_count: int
    elapsed: float
    truncated: bool = False
    tables_read: tuple[str, ...] = ()


def _partial_error(message: str) -> dict[str, Any]:
    return {
        "code": "PartialError",
        "message": "There were some errors when processing your query.",
        "details": [{
            "code": "EngineError",
            "message": "Something went wrong processing your query on the server.",
            "innererror": {"code": "-2133196797", "message": message, "severity": 2, "severityName": "Error"},
        }],
    }


_RENDER = re.compile(r"\|\s*render\s+(\w+)(?P<rest>[^|]*)$", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"title\s*=\s*(?:'([^']*)'|\"([^\"]*)\")", re.IGNORECASE)


def render_info(query: str) -> dict[str, Any] | None:
    """The ``render`` property (``Prefer: include-render=true``) for a query ending in ``| render ...``."""
    m = _RENDER.search(query.strip().rstrip(";"))
    if not m:
        return None
    title = _TITLE.search(m.group("rest") or "")
    return {
        "visualization": m.group(1).lower(),
        "title": (title.group(1) or title.group(2)) if title else "",
        "accumulate": False,
        "isQuerySorted": False,
        "kind": "default",
        "annotation": "",
        "by": None,
    }


# --------------------------------------------------------------------------------------------------
# Error translation (duckdb-kql / DuckDB -> the service's messages)
# --------------------------------------------------------------------------------------------------

#: KQL's tabular operators: a syntax error right before one of these means "not known to this parser".
KQL_OPERATORS = frozenset("""
as consume count datatable distinct evaluate extend externaldata facet filter find fork getschema invoke join
limit lookup macro-expand make-graph make-series mv-apply mv-expand order parse parse-kv parse-where partition
print project project-away project-keep project-rename project-reorder range reduce render sample sample-distinct
scan search serialize sort summarize take top top-hitters top-nested union where graph-match graph-shortest-paths
""".split())

_CONSTRUCT_NAMES = {
    "MakeSeriesOperator": "make-series", "EvaluateOperator": "evaluate", "ProjectReorderOperator": "project-reorder",
    "TopNestedOperatorPart": "top-nested", "MvapplyOperator": "mv-apply", "AsOperator": "as",
    "SampleOperator": "sample", "SampleDistinctOperator": "sample-distinct", "SearchOperator": "search",
    "ScanOperator": "scan", "FacetOperator": "facet", "ForkOperator": "fork", "PartitionOperator": "partition",
    "ReduceOperator": "reduce", "SerializeOperator": "serialize", "TopHittersOperator": "top-hitters",
    "ConsumeOperator": "consume", "FindOperator": "find", "ParseWhereOperator": "parse-where",
    "ParseKvOperator": "parse-kv", "ExternalDataOperator": "externaldata",
}
#: Grammar names of expressions (duckdb-kql's ``expression:...``) -> what a KQL user calls them.
_EXPRESSION_NAMES = {
    "ExternalDataExpression": "the 'externaldata' operator (it reads from the internet)",
    "StringStarOperatorExpression": "searching every column ('* has ...')",
    "ParenthesizedExpression": "this parenthesized expression",
    "MaterializeExpression": "'materialize()' here",
    "ToScalarExpression": "'toscalar()' here",
    "LetFunctionBody": "a function body that is a parenthesized query ('{ (T | ...) }')",
}
#: KQL functions duckdb-kql's grammar does not parse at all: a syntax error on one of them is the emulator's.
_UNPARSED_FUNCTIONS = frozenset({"table", "workspace", "app", "resource", "cluster", "database", "view",
                                 "materialize", "externaldata", "toscalar"})


#: A well-formed use of each operator: if duckdb-kql's grammar cannot parse it, the operator is unknown to it
#: (as opposed to a query that misuses an operator the grammar knows).
_OPERATOR_SAMPLES = {
    "as": "T | as X", "consume": "T | consume", "count": "T | count", "distinct": "T | distinct a",
    "evaluate": "T | evaluate bag_unpack(a)", "extend": "T | extend b = 1", "facet": "T | facet by a",
    "filter": "T | filter a == 1", "find": "find 'x'", "fork": "T | fork (take 1) (take 2)",
    "getschema": "T | getschema",
    "invoke": "T | invoke f()", "join": "T | join (T) on a", "limit": "T | limit 1", "lookup": "T | lookup (T) on a",
    "make-series": "T | make-series c = count() on t step 1h", "mv-apply": "T | mv-apply x = a on (take 1)",
    "mv-expand": "T | mv-expand a", "order": "T | order by a", "parse": "T | parse a with b '-' c",
    "parse-kv": "T | parse-kv a as (x:string) with (pair_delimiter=',', kv_delimiter='=')",
    "parse-where": "T | parse-where a with b '-' c", "partition": "T | partition by a (take 1)",
    "print": "print a = 1", "project": "T | project a", "project-away": "T | project-away a",
    "project-keep": "T | project-keep a", "project-rename": "T | project-rename b = a",
    "project-reorder": "T | project-reorder a", "range": "range x from 1 to 2 step 1", "reduce": "T | reduce by a",
    "render": "T | render table", "sample": "T | sample 1", "sample-distinct": "T | sample-distinct 1 of a",
    "scan": "T | scan with (step s: true;)", "search": "T | search 'x'", "serialize": "T | serialize",
    "sort": "T | sort by a", "summarize": "T | summarize count() by a", "take": "T | take 1", "top": "T | top 1 by a",
    "top-hitters": "T | top-hitters 1 of a", "top-nested": "T | top-nested 1 of a by count()", "union": "T | union T",
    "where": "T | where a == 1",
}
#: Words duckdb-kql's grammar reserves that KQL users commonly name columns with (``summarize last = ...``).
_RESERVED_AS_NAME = re.compile(r"(?<![\w'\[.])(first|last|count|title|to|of|kind|set|table|find)\s*=(?!=)")


@functools.cache
def parser_knows(operator: str) -> bool:
    """Whether duckdb-kql's grammar parses ``operator`` at all (probed once with a well-formed sample)."""
    import duckdb_kql

    sample = _OPERATOR_SAMPLES.get(operator)
    if sample is None:
        return True
    try:
        duckdb_kql.parse(sample)
    except duckdb_kql.KqlSyntaxError:
        return False
    return True


def _line_offsets(query: str) -> list[int]:
    offsets = [0]
    for m in re.finditer("\n", query):
        offsets.append(m.end())
    return offsets


def _token_at(query: str, line: int, column: int) -> str:
    offsets = _line_offsets(query)
    if not 1 <= line <= len(offsets):
        return "<EOF>"
    index = offsets[line - 1] + column
    if index >= len(query):
        return "<EOF>"
    m = re.compile(r"[A-Za-z_][\w-]*|\d+(?:\.\d+)?|\"[^\"\n]*\"?|'[^'\n]*'?|\S").match(query, index)
    return m.group(0) if m else "<EOF>"


def _next_word(query: str, line: int, column: int, token: str) -> str:
    offsets = _line_offsets(query)
    if not 1 <= line <= len(offsets):
        return ""
    m = re.compile(r"\s*([A-Za-z][\w-]*)").match(query, offsets[line - 1] + column + len(token))
    return m.group(1) if m else ""


def _short_detail(message: str) -> str:
    """ANTLR's "expecting {...}" lists every keyword of the language; keep the first few."""
    m = re.search(r"expecting \{([^}]*)\}", message)
    if m:
        items = [s.strip() for s in m.group(1).split(",")]
        if len(items) > 6:
            message = message[: m.start()] + "expecting {" + ", ".join(items[:6]) + ", ...}" + message[m.end():]
    return message


@functools.lru_cache(maxsize=64)
def _parsed_functions(definitions: tuple[str, ...]) -> Any:
    """duckdb-kql's parsed registry for these definitions (parsing a body costs tens of milliseconds)."""
    from duckdb_kql.stored_functions import parse_functions

    return parse_functions(list(definitions))


@functools.lru_cache(maxsize=512)
def _translate(query: str, schema_key: tuple[tuple[str, tuple[str, ...]], ...],
               functions: tuple[Function, ...] = ()) -> Any:
    """KQL -> DuckDB SQL, cached: translation is pure Python and costs far more than running the SQL.

    ``now`` is not part of the key: ``ago()``/``now()`` translate to the ``$kqlnow`` parameter, which
    each run binds to its own time.
    """
    import duckdb_kql

    from .kql_functions import install
    from .rewrite import positional_arguments, rewrite
    from .rewrite_tabular import column_ifexists, with_aliases

    install()
    schema = {name: list(columns) for name, columns in schema_key}
    specialized = specialize(query, functions)
    called = called_functions(specialized, functions)
    definitions = _parsed_functions(tuple(f.definition for f in called)) if called else None
    rewritten = positional_arguments(rewrite(specialized), {f.name: f.parameters for f in called})
    rewritten = column_ifexists(rewritten, schema)
    rewritten = with_aliases(rewritten, _case_aliases(query, schema_key))
    try:
        return duckdb_kql.to_sql(rewritten, schema=schema, allow_write=False, query_now=dt.datetime.now(dt.UTC),
                                 functions=definitions)
    except duckdb_kql.KqlSyntaxError:
        if rewritten == query:
            raise
    # a syntax error is reported against the text the user wrote
    return duckdb_kql.to_sql(query, schema=schema, allow_write=False, query_now=dt.datetime.now(dt.UTC),
                             functions=definitions)


@functools.lru_cache(maxsize=512)
def _case_aliases(query: str, schema_key: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str]:
    """The query's names that differ only in case from another -> their aliases (``rewrite_tabular``)."""
    from .rewrite_tabular import case_aliases

    return case_aliases(query, dict(schema_key))


def translate_syntax_error(query: str, exc: Exception) -> QueryApiError:
    diagnostics = getattr(exc, "diagnostics", None) or []
    if diagnostics:
        first = diagnostics[0]
        line, column, detail = first.span.line, first.span.column, first.message
    else:
        m = re.search(r"at (\d+):(\d+): (.*)", str(exc), re.DOTALL)
        line, column, detail = (int(m.group(1)), int(m.group(2)), m.group(3)) if m else (1, 0, str(exc))
    token = _token_at(query, line, column)
    if token.lower() in _UNPARSED_FUNCTIONS and _next_word(query, line, column, token) == "" \
            and query[_line_offsets(query)[line - 1] + column + len(token):].lstrip().startswith("("):
        return unsupported_error(f"the '{token.lower()}()' function", f"line {line}, position {column}")
    hint = ""
    if token == "|":
        op = _next_word(query, line, column, token)
        if op.lower() in KQL_OPERATORS and not parser_knows(op.lower()):
            return unsupported_error(f"the '{op.lower()}' operator", f"line {line}, position {column}")
        if op.lower() in KQL_OPERATORS:  # the operator is fine: something in its arguments is not
            offsets = _line_offsets(query)
            segment = _STRING_LITERAL.sub("''", query[offsets[line - 1] + column + 1:]).split("|", 1)[0]
            reserved = _RESERVED_AS_NAME.search(segment)
            if reserved:
                word = reserved.group(1)
                hint = (f"; the emulator's KQL parser (duckdb-kql) reserves '{word}' as a keyword: write "
                        f"['{word}'] to use it as a column name")
        elif op:  # "T | wherex": the culprit is the word after the pipe, as the service reports it
            offsets = _line_offsets(query)
            index = query.index(op, offsets[line - 1] + column)
            line = query.count("\n", 0, index) + 1
            column = index - _line_offsets(query)[line - 1]
            token = op
    if not hint and _RESERVED_AS_NAME.fullmatch(f"{token}="):
        hint = (f"; the emulator's KQL parser (duckdb-kql) reserves '{token}' as a keyword: write ['{token}'] to "
                "use it as a column name")
    return syntax_error(
        f"Query could not be parsed at '{token}' on line [{line},{column}] ({_short_detail(detail)}{hint})",
        line, column, token,
    )


def translate_unsupported(query: str, exc: Any) -> QueryApiError:
    construct = str(getattr(exc, "construct", "") or exc)
    span = getattr(exc, "span", None)
    hint = getattr(exc, "hint", None) or ""
    where = f"line {span.line}, position {span.column}" if span else ""
    if construct.startswith("function:"):
        what = f"the function '{construct.split(':', 1)[1]}()'"
    elif construct.startswith("aggregate:"):
        what = f"the aggregation function '{construct.split(':', 1)[1]}()'"
    elif construct.startswith("source:"):
        grammar = construct.split(":", 1)[1]
        what = _EXPRESSION_NAMES.get(grammar) or f"the '{_CONSTRUCT_NAMES.get(grammar, grammar)}' operator"
    elif construct in _CONSTRUCT_NAMES:
        name = _CONSTRUCT_NAMES[construct]
        if name == "evaluate" and span is not None:
            plugin = _next_word(query, span.line, span.column, "evaluate")
            what = f"'evaluate {plugin}'" if plugin else "the 'evaluate' operator"
        else:
            what = f"the '{name}' operator"
    elif construct.startswith("invoke:"):
        what = f"'invoke {construct.split(':', 1)[1]}()'"
    elif construct.startswith("expression:") or construct.endswith(("Expression", "Operator")):
        grammar = construct.split(":", 1)[-1]
        what = _EXPRESSION_NAMES.get(grammar) or _CONSTRUCT_NAMES.get(grammar) or (
            f"'{_span_text(query, span)}'" if span is not None else "a construct of this query")
    elif construct == "summarize" and "aggregate" in hint:
        what = "an expression around an aggregation in 'summarize' (such as tostring(make_list(x)[0]))"
    elif re.fullmatch(r"[a-z][a-z-]*", construct):
        what = f"this form of the '{_operator_form(query, span, construct)}' operator" + (
            f" ({hint})" if hint and "wave" not in hint else "")
    else:
        what = construct.replace("'", "") + (f" ({hint})" if hint and "wave" not in hint else "")
    return unsupported_error(what, where)


def _operator_form(query: str, span: Any, operator: str) -> str:
    """``operator`` with the options the user gave it on the line of ``span`` (``parse kind=regex flags=U``)."""
    offsets = _line_offsets(query)
    line = query[offsets[span.line - 1]:].split("\n", 1)[0] if span is not None and 1 <= span.line <= len(offsets) else ""
    m = re.search(rf"\b{re.escape(operator)}((?:\s+\w+\s*=\s*\w+)*)", line)
    return operator + re.sub(r"\s+", " ", re.sub(r"\s*=\s*", "=", m.group(1))) if m else operator


def _span_text(query: str, span: Any) -> str:
    """A short excerpt of ``query`` at a duckdb-kql span (to name a construct by what the user wrote)."""
    offsets = _line_offsets(query)
    if not 1 <= span.line <= len(offsets):
        return "?"
    start = offsets[span.line - 1] + span.column
    return re.sub(r"\s+", " ", query[start:start + 40]).strip()


_STRING_LITERAL = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")


def _operator_mentioning(query: str, name: str, after_table: bool = False) -> str:
    """The operator (``where``, ``project``...) of the first pipeline step that mentions ``name``."""
    text = _STRING_LITERAL.sub("''", query)
    segments = text.split("|")
    word = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w])")
    for i, segment in enumerate(segments):
        if word.search(segment):
            target = segments[i + 1] if after_table and i + 1 < len(segments) else ("" if after_table else segment)
            m = re.match(r"\s*([A-Za-z][\w-]*)", target)
            return m.group(1).lower() if m else ""
    return ""


def _judged(query: str, schemas: Mapping[str, Schema], exc: Exception,
            functions: tuple[Function, ...] = ()) -> QueryApiError:
    """The error for a query duckdb-kql could not translate: Microsoft's parser decides when installed."""
    import duckdb_kql

    from .validation import microsoft_errors

    if isinstance(exc, duckdb_kql.KqlSyntaxError):
        own = translate_syntax_error(query, exc)
    elif isinstance(exc, duckdb_kql.KqlUnsupportedError):
        own = _unknown_table(query, schemas) or translate_unsupported(query, exc)
    elif isinstance(exc, duckdb_kql.KqlSchemaError):
        own = _unknown_table(query, schemas) or translate_schema_error(query, exc)
    else:
        own = semantic_error(str(exc), code="SEM0001")
    errors = microsoft_errors(query, schemas, functions)
    if errors is None:
        return own
    if not errors:  # valid KQL for the service: the emulator's limit, whatever duckdb-kql said
        if _is_unsupported(own):
            return own
        construct = str(getattr(exc, "construct", "") or "") or _token_at(query, 1, 0)
        return unsupported_error(f"'{construct}'")
    if not _is_unsupported(own):
        return own  # both say the query is wrong: the engine's answer has Log Analytics' shape and position
    return _microsoft_error(query, errors)


def _engine_failure(query: str, schemas: Mapping[str, Schema], exc: Exception,
                    functions: tuple[Function, ...]) -> QueryApiError:
    """The error for a translated query DuckDB could not run: if the service would run it (Microsoft's
    parser finds no error), the translation fell short and the emulator says so; else the query's error
    (in the service's runtime wording when the emulator knows it)."""
    from .validation import microsoft_errors

    own = translate_engine_error(query, exc)
    errors = microsoft_errors(query, schemas, functions)
    if errors is None:
        return own
    if not errors:
        return unsupported_error(f"running this query on its engine (DuckDB: {_clean_duckdb_message(str(exc))})")
    return own if _in_service_wording(own) else _microsoft_error(query, errors)


def _in_service_wording(error: QueryApiError) -> bool:
    """Whether ``error`` is one the emulator words as the service does (an unresolved name, mistyped arguments)."""
    inner = error.inner or {}
    while isinstance(inner.get("innererror"), dict):
        inner = inner["innererror"]
    message = str(inner.get("message", ""))
    return "Failed to resolve" in message or message.startswith("Cannot apply")


def _microsoft_error(query: str, errors: Sequence[Any]) -> QueryApiError:
    """The service's error for the first of Microsoft's parser's diagnostics, with its position."""
    first = errors[0]
    line = query.count("\n", 0, first.start) + 1
    column = first.start - (query.rfind("\n", 0, first.start) + 1)
    token = query[first.start:first.start + max(first.length, 1)].strip() or "<EOF>"
    if first.code in ("KS006", "KS007") or "parse" in first.message.lower() or "expected" in first.message.lower():
        return syntax_error(f"Query could not be parsed at '{token}' on line [{line},{column}] ({first.message})",
                            line, column, token)
    return semantic_error(f"{first.message} (line {line}, position {column})", code=first.code or "SEM0100")


def _is_unsupported(error: QueryApiError) -> bool:
    inner = error.inner or {}
    while isinstance(inner.get("innererror"), dict):
        inner = inner["innererror"]
    return inner.get("code") == "EmulatorUnsupportedKql"


def translate_schema_error(query: str, exc: Exception) -> QueryApiError:
    text = str(exc)
    m = re.search(r"columns '([^']+)' and '([^']+)' differ only in case", text)
    if m:
        return unsupported_error(f"two columns whose names differ only in case ('{m.group(1)}' and "
                                 f"'{m.group(2)}')")
    m = re.search(r"schema error for '([^']+)' \(unknown table", text)
    if m:
        return unknown_table_error(query, m.group(1))
    return semantic_error(re.sub(r"; known: \[.*?\]", "", text), code="SEM0001")


_JOINING = frozenset({"union", "join", "lookup"})


def _unknown_table(query: str, schemas: Mapping[str, Schema]) -> QueryApiError | None:
    """The error for the first name used as a table that is neither a table nor a ``let`` name.

    duckdb-kql reports an unknown table in a ``join`` or with ``arg_max(*, ...)`` as a schema or
    unsupported-construct problem; the service says the table does not exist.
    """
    from .kql_tokens import tokenize

    code = [t for t in tokenize(query) if t.kind not in ("ws", "comment")]
    declared = {code[k + 1].text for k, t in enumerate(code[:-1]) if t.text == "let"}
    for k, t in enumerate(code):
        if t.kind != "ident" or t.text in schemas or t.text in declared or t.text.lower() in KQL_OPERATORS:
            continue
        before = code[k - 1].text.lower() if k else ";"
        after = code[k + 1].text if k + 1 < len(code) else ""
        if after not in ("|", ")", ";", ""):
            continue
        starts_statement = before == ";" or (before == "=" and k >= 3 and code[k - 3].text == "let"
                                             and (k < 4 or code[k - 4].text == ";"))
        behind = {c.text.lower() for c in code[max(0, k - 5):k]}
        joined = before in _JOINING or (before in ("(", ",") and bool(behind & _JOINING))
        if starts_statement or joined:
            return unknown_table_error(query, t.text)
    return None


def unknown_table_error(query: str, name: str) -> QueryApiError:
    op = _operator_mentioning(query, name, after_table=True)
    prefix = f"'{op}' operator: " if op else ""
    return semantic_error(f"{prefix}Failed to resolve table or column expression named '{name}'")


#: DuckDB type names in its messages -> KQL's.
_KQL_NAMES = {"VARCHAR": "string", "BIGINT": "long", "INTEGER": "int", "DOUBLE": "real", "BOOLEAN": "bool",
              "TIMESTAMP": "datetime", "JSON": "dynamic", "UUID": "guid", "INTERVAL": "timespan"}


def _clean_duckdb_message(message: str) -> str:
    """DuckDB's message without its SQL excerpt (the SQL is the translation, not what the user wrote)."""
    message = message.split("\nLINE ", 1)[0].split("\n\nLINE", 1)[0].split("\n\tCandidate", 1)[0]
    message = re.sub(r"^\w+ Error: ", "", message.strip())
    return message.strip()


#: how the engine's own schema names appear in DuckDB's messages (the user never named them)
_SCHEMA_QUALIFIER = re.compile(r'(?:"?memory"?\.)?"?kql_\d+"?\.')


def translate_engine_error(query: str, exc: Exception) -> QueryApiError:
    import duckdb

    text = _SCHEMA_QUALIFIER.sub("", str(exc))
    if isinstance(exc, duckdb.CatalogException):
        m = re.search(r"Table with name (\S+) does not exist", text)
        if m:
            return unknown_table_error(query, m.group(1).strip('"'))
    if isinstance(exc, duckdb.BinderException):
        m = (re.search(r'Referenced column "([^"]+)" not found', text)
             or re.search(r'Column "([^"]+)" referenced that exists in the SELECT clause', text)
             or re.search(r'does not have a column named "([^"]+)"', text)
             or re.search(r'Alias with name "([^"]+)" exists, but aliases cannot be used', text))
        if m:
            name = m.group(1)
            op = _operator_mentioning(query, name)
            what = "column or scalar expression" if op in ("where", "filter", "summarize", "") else "scalar expression"
            prefix = f"'{op}' operator: " if op else ""
            return semantic_error(f"{prefix}Failed to resolve {what} named '{name}'")
        m = re.search(r"No function matches the given name and argument types '(.+?)\((.*?)\)'", text)
        if m:
            types = ", ".join(_KQL_NAMES.get(t.strip(), t.strip().lower()) for t in m.group(2).split(","))
            return semantic_error(f"Cannot apply '{m.group(1)}' to arguments of types ({types}): convert them "
                                  "first (tostring(), toint(), todatetime()...).", code="SEM0025")
        return semantic_error(_clean_duckdb_message(text), code="SEM0002")
    if isinstance(exc, duckdb.ConversionException):
        return semantic_error(
            f"Values of different types were compared or converted: {_clean_duckdb_message(text)}. "
            "Try adding explicit casts (tostring(), toint(), todatetime()...).", code="SEM0025")
    return QueryApiError(400, "BadArgumentError", _INVALID_PROPERTIES, inner={
        "code": "EngineError",
        "message": "Something went wrong processing your query on the server.",
        "innererror": {"code": "EmulatorEngineError",
                       "message": f"The emulator's engine (DuckDB) could not run the query: "
                                  f"{_clean_duckdb_message(text)}"},
    })


# --------------------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return format_timespan(value)
    return str(value)


@dataclass
class _Database:
    """One workspace's (or a workspace set's) tables: a schema of the engine's DuckDB database."""

    key: tuple[str, ...]
    store: weakref.ref[Any]
    schemas: dict[str, Schema]
    con: duckdb.DuckDBPyConnection  # the engine's connection (each use takes a cursor of its own)
    name: str  # the DuckDB schema holding its tables
    catalog: str = "memory"
    #: (customer id, table) -> rows of the store's list already loaded
    loaded: dict[tuple[str, str], int] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    #: queries running on it (a schema in use is not dropped)
    users: int = 0
    #: the schemas queries see (with the hidden columns) and their hashable form (the translation cache's key)
    query_schemas: dict[str, Schema] = field(default_factory=dict)
    schema_key: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def create(cls, snap: Snapshot, con: duckdb.DuckDBPyConnection, name: str, catalog: str) -> _Database:
        cursor = con.cursor()
        try:
            cursor.execute(f"CREATE SCHEMA {_quote(name)}")
        finally:
            cursor.close()
        query_schemas = with_hidden_columns(snap.schemas)
        return cls(snap.key, snap.store, snap.schemas, con, name, catalog, query_schemas=query_schemas,
                   schema_key=tuple((table, tuple(schema)) for table, schema in sorted(query_schemas.items())))

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own whose unqualified table names are this database's."""
        cursor = self.con.cursor()
        cursor.execute(f"SET TimeZone='UTC'; SET search_path = {_sql_string(self.name)}")
        return cursor

    def table(self, name: str) -> str:
        return f"{_quote(self.catalog)}.{_quote(self.name)}.{_quote(name)}"

    def load(self, snap: Snapshot, tables: Iterable[str]) -> None:
        """Create the tables of ``tables`` it lacks and append the rows it does not hold yet. Call with the
        engine's lock held."""
        cursor = self.con.cursor()
        try:
            for table in tables:
                schema = self.schemas.get(table)
                if schema is None:
                    continue
                if table not in self.created:
                    cols = ", ".join(f"{_quote(c)} {DUCKDB_TYPES.get(t, 'VARCHAR')}"
                                     for c, t in self.query_schemas.get(table, schema).items())
                    cursor.execute(f"CREATE TABLE {self.table(table)} ({cols})")
                    self.created.add(table)
                for customer_id, lists, counts in snap.sources:
                    rows = lists.get(table)
                    end = counts.get(table, 0)
                    start = self.loaded.get((customer_id, table), 0)
                    if rows is None or end <= start:
                        continue
                    self._insert(cursor, table, schema, customer_id, rows[start:end])
                    self.loaded[(customer_id, table)] = end
        finally:
            cursor.close()

    def _insert(self, cursor: duckdb.DuckDBPyConnection, table: str, schema: Schema, customer_id: str,
                rows: list[LogRow]) -> None:
        schema = with_hidden_columns({table: schema})[table]
        spec = {c: DUCKDB_TYPES.get(t, "VARCHAR") for c, t in schema.items() if c not in ("Type",)}
        select = []
        for col in schema:
            if col == "Type":
                select.append(_sql_string(table))
            elif col == "TenantId":
                select.append(f"coalesce(x.{_quote(col)}, {_sql_string(customer_id)})")
            elif col == "_ItemId":
                select.append(f"coalesce(x.{_quote(col)}, CAST(uuid() AS VARCHAR))")
            else:
                select.append(f"x.{_quote(col)}")
        sql = (f"INSERT INTO {self.table(table)} SELECT {', '.join(select)} "
               f"FROM (SELECT unnest(from_json(CAST($1 AS JSON), $2)) AS x)")
        payload = json.dumps(rows, default=_json_default, separators=(",", ":"))
        cursor.execute(sql, [payload, "[" + json.dumps(spec) + "]"])

    def drop(self) -> None:
        cursor = self.con.cursor()
        try:
            cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(self.name)} CASCADE")
        finally:
            cursor.close()


class _Watchdog:
    """Interrupts queries that run past their time, from one thread (a ``threading.Timer`` per query started
    a thread for each of them)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._heap: list[list[Any]] = []  # [deadline, number, action or None once cancelled or done]
        self._numbers = itertools.count()
        self._thread: threading.Thread | None = None
        self._cancelled = 0  # cancelled entries still in the heap

    def start(self, seconds: float, action: Callable[[], Any]) -> list[Any]:
        """Run ``action`` in ``seconds`` unless the returned watch is cancelled first."""
        watch = [time.monotonic() + seconds, next(self._numbers), action]
        with self._lock:
            heapq.heappush(self._heap, watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kql-timeouts", daemon=True)
                self._thread.start()
            self._lock.notify()
        return watch

    def cancel(self, watch: list[Any]) -> None:
        with self._lock:
            if watch[2] is None:  # it ran already
                return
            watch[2] = None
            self._cancelled += 1
            if self._cancelled > 1000 and self._cancelled * 2 > len(self._heap):  # most queries end in time
                self._heap = [w for w in self._heap if w[2] is not None]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and self._heap[0][2] is None:
                    heapq.heappop(self._heap)
                    self._cancelled -= 1
                if not self._heap:
                    self._lock.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._lock.wait(delay)
                    continue
                watch = heapq.heappop(self._heap)
                action, watch[2] = watch[2], None
                try:
                    action()
                except Exception:  # a cursor closed meanwhile: nothing left to interrupt
                    pass


_WATCHDOG = _Watchdog()


class LogsEngine:
    """The query engine of one emulator runtime (kept in ``runtime.caches``)."""

    def __init__(self) -> None:
        self._databases: OrderedDict[tuple[str, ...], _Database] = OrderedDict()
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._catalog = "memory"
        self._names = 0
        self._schema_cache: dict[str, tuple[weakref.ref[Any], int, dict[str, Schema]]] = {}
        self._function_cache: dict[str, tuple[weakref.ref[Any], int, tuple[Function, ...]]] = {}

    # -- on the event loop ------------------------------------------------------------------------
    def snapshot(self, store: Store, workspaces: Sequence[tuple[str, str]]) -> Snapshot:
        """Capture what a query over ``workspaces`` (``(workspace ARM id, customerId)`` pairs) needs."""
        per_workspace = []
        sources = []
        for workspace_id, customer_id in workspaces:
            cid = customer_id.lower()
            cached = self._schema_cache.get(cid)
            if cached and cached[0]() is store and cached[1] == store.version:
                tables = cached[2]
            else:
                tables = workspace_schemas(store, workspace_id, cid)
                self._schema_cache[cid] = (weakref.ref(store), store.version, tables)
            per_workspace.append(tables)
            lists = store.workspace_logs(cid)
            sources.append((cid, lists, {name: len(rows) for name, rows in lists.items()}))
        schemas = per_workspace[0] if len(per_workspace) == 1 else merge_schemas(per_workspace)
        world = len(store.of_type(_WORKSPACE_TYPE))
        key = tuple(cid.lower() for _, cid in workspaces)
        primary_id, primary_cid = workspaces[0]
        cached_functions = self._function_cache.get(primary_cid.lower())
        if cached_functions and cached_functions[0]() is store and cached_functions[1] == store.version:
            functions = cached_functions[2]
        else:
            functions = workspace_functions(store, primary_id, per_workspace[0])
            self._function_cache[primary_cid.lower()] = (weakref.ref(store), store.version, functions)
        return Snapshot(key, weakref.ref(store), schemas, tuple(sources), functions, world)

    # -- in a worker thread -----------------------------------------------------------------------
    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            import duckdb_kql

            self._con = duckdb_kql.connect()
            catalog = self._con.execute("SELECT current_database()").fetchone()
            self._catalog = str(catalog[0]) if catalog else "memory"
        return self._con

    def database(self, snap: Snapshot) -> _Database:
        """The database for ``snap``'s workspaces (its rows not loaded yet: see ``load``), rebuilt when the
        store or the schemas changed; in use until ``release``. Least recently used ones beyond one per
        workspace of the world (plus ``MAX_DATABASES``) are dropped."""
        with self._lock:
            db = self._databases.get(snap.key)
            if db is None or db.store() is not snap.store() or db.schemas != snap.schemas:
                if db is not None and not db.users:
                    db.drop()
                self._names += 1
                db = _Database.create(snap, self._connection(), f"kql_{self._names}", self._catalog)
                self._databases[snap.key] = db
            self._databases.move_to_end(snap.key)
            db.users += 1
            idle = [k for k, d in self._databases.items() if not d.users]
            for k in idle[: max(0, len(self._databases) - (snap.world + MAX_DATABASES))]:
                self._databases.pop(k).drop()
            return db

    def load(self, db: _Database, snap: Snapshot, tables: Iterable[str]) -> None:
        with self._lock:
            db.load(snap, tables)

    def release(self, db: _Database) -> None:
        with self._lock:
            db.users -= 1
            if self._databases.get(db.key) is not db and not db.users:
                db.drop()  # replaced (or evicted) while it was in use

    def run(
        self,
        snap: Snapshot,
        query: str,
        *,
        timespan: str | None = None,
        now: dt.datetime | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_rows: int = MAX_RESULT_ROWS,
        max_bytes: int = MAX_RESULT_BYTES,
        include_statistics: bool = False,
        include_render: bool = False,
    ) -> QueryResult:
        """Run ``query`` and return the query API's answer; raise :class:`QueryApiError` for its errors."""
        started = time.perf_counter()
        now = now or dt.datetime.now(dt.UTC)
        _refuse_commands(query)
        window = parse_timespan(timespan, now) if timespan else None
        db = self.database(snap)
        try:
            return self._run(db, snap, query, window, now, timeout, max_rows, max_bytes, include_statistics,
                             include_render, started)
        finally:
            self.release(db)

    def _run(self, db: _Database, snap: Snapshot, query: str, window: tuple[dt.datetime, dt.datetime] | None,
             now: dt.datetime, timeout: float, max_rows: int, max_bytes: int, include_statistics: bool,
             include_render: bool, started: float) -> QueryResult:
        import duckdb
        import duckdb_kql

        schemas, schema_key = db.query_schemas, db.schema_key
        try:
            try:
                translated = _translate(query, schema_key, snap.functions)
            except duckdb_kql.KqlUnsupportedError as exc:
                if "ProjectReorder" not in str(getattr(exc, "construct", "")):
                    raise
                translated = _translate(_resolve_reorders(query, self, db, snap, schema_key, now), schema_key,
                                        snap.functions)
        except duckdb_kql.KqlError as exc:
            raise _judged(query, schemas, exc, snap.functions) from exc
        except duckdb.Error as exc:  # running the statement before a project-reorder
            raise _engine_failure(query, schemas, exc, snap.functions) from exc
        sql = str(translated)
        referenced = referenced_tables(sql, db.schemas)
        for name in referenced:
            if name not in db.schemas:
                raise unknown_table_error(query, name)
        self.load(db, snap, referenced)

        cursor = db.cursor()
        try:
            if window is not None and referenced:
                lo, hi = (_sql_string(w.astimezone(dt.UTC).replace(tzinfo=None).isoformat()) for w in window)
                cursor.execute("\n".join(
                    f"CREATE TEMP VIEW {_quote(t)} AS SELECT * FROM {db.table(t)} "
                    f"WHERE \"TimeGenerated\" BETWEEN CAST({lo} AS TIMESTAMP) AND CAST({hi} AS TIMESTAMP);"
                    for t in referenced
                ))
            watch = _WATCHDOG.start(max(timeout, 0.001), cursor.interrupt)
            try:
                parameters = dict(translated.parameters)
                if "kqlnow" in parameters:  # the translation is cached: bind this query's own "now"
                    parameters["kqlnow"] = now.astimezone(dt.UTC).replace(tzinfo=None)
                result = cursor.execute(sql, parameters) if parameters else cursor.execute(sql)
                description = result.description or []
                rows = result.fetchmany(max_rows + 1) if description else []
            except duckdb.InterruptException as exc:
                raise QueryApiError(
                    504, "GatewayTimeout",
                    f"The query exceeded the allowed execution time of {timeout:g} seconds "
                    "(set with the Prefer: wait=N header) and was cancelled.",
                ) from exc
            except duckdb.Error as exc:
                raise _engine_failure(query, schemas, exc, snap.functions) from exc
            finally:
                _WATCHDOG.cancel(watch)
        finally:
            cursor.close()

        if (keep := _visible(description, query)) is not None:
            description = [description[i] for i in keep]
            rows = [tuple(row[i] for i in keep) for row in rows]
        if aliases := _case_aliases(query, schema_key):
            from .rewrite_tabular import without_aliases

            description = [(without_aliases(d[0], aliases), *d[1:]) for d in description]
        types = [kusto_type(d[1]) for d in description]
        truncated_message = None
        if len(rows) > max_rows:
            rows = rows[:max_rows]
            truncated_message = (
                f"The results of this query exceed the set limit of {max_rows} records, so not all records "
                "were returned (E_QUERY_RESULT_SET_TOO_LARGE, 0x80DA0003). See https://aka.ms/kustoquerylimits "
                "for more information and possible solutions."
            )
        out_rows = convert_rows(types, rows)
        out_rows, over_bytes = _cap_bytes(out_rows, max_bytes)
        if over_bytes:
            truncated_message = (
                f"The results of this query exceed the set limit of {max_bytes} bytes, so not all records "
                "were returned (E_QUERY_RESULT_SET_TOO_LARGE, 0x80DA0003). See https://aka.ms/kustoquerylimits "
                "for more information and possible solutions."
            )
        body: dict[str, Any] = {"tables": [{
            "name": "PrimaryResult",
            "columns": [{"name": d[0], "type": t} for d, t in zip(description, types, strict=True)],
            "rows": out_rows,
        }]}
        elapsed = time.perf_counter() - started
        if include_statistics:
            body["statistics"] = _statistics(db, snap, referenced, len(out_rows), elapsed)
        if include_render and (render := render_info(query)) is not None:
            body["render"] = render
        if truncated_message:
            body["error"] = _partial_error(truncated_message)
        return QueryResult(body, len(out_rows), elapsed, truncated_message is not None, tuple(referenced))


def _resolve_reorders(query: str, engine: LogsEngine, db: _Database, snap: Snapshot, schema_key: Any,
                      now: dt.datetime) -> str:
    """``| project-reorder a, b*`` -> ``| project a, b1, b2, <the rest>``, with the columns it sees.

    duckdb-kql has no ``project-reorder``; its input columns are those of the statement up to the pipe,
    which DuckDB reports without reading a row. Reorders inside brackets stay as they are (and are
    reported as unsupported).
    """
    from .rewrite import reorder_targets, reordered

    for _ in range(16):
        targets = reorder_targets(query)
        if not targets:
            break
        statement, pipe, end, names = targets[0]
        head = re.match(r"\s*let\s+[A-Za-z_]\w*\s*=", query[statement:pipe])
        prefix = query[:statement] + (query[statement + head.end():pipe] if head else query[statement:pipe])
        translated = _translate(prefix, schema_key, snap.functions)
        parameters = dict(translated.parameters)
        if "kqlnow" in parameters:
            parameters["kqlnow"] = now.astimezone(dt.UTC).replace(tzinfo=None)
        engine.load(db, snap, referenced_tables(str(translated), db.schemas))
        cursor = db.cursor()
        try:
            sql = f"SELECT * FROM ({translated}) LIMIT 0"
            columns = [d[0] for d in (cursor.execute(sql, parameters) if parameters else cursor.execute(sql)).description]
        finally:
            cursor.close()
        listed = ", ".join("['" + c.replace("'", "\\'") + "']" for c in reordered(names, columns))
        query = query[:pipe] + "| project " + listed + query[end:]
    return query


_PLACEHOLDER = re.compile(r"\$[A-Za-z_]\w*")


def referenced_tables(sql: str, schemas: Mapping[str, Schema]) -> list[str]:
    """The tables a translated query reads (to load their rows, and to refuse unknown ones).

    DuckDB's parser refuses ``$name`` placeholders here, so they are blanked first; if the SQL still
    can't be read this way, every table is "referenced" (slower, never wrong).
    """
    names = _table_names(sql)
    return list(names) if names is not None else sorted(schemas)


@functools.lru_cache(maxsize=4096)
def _table_names(sql: str) -> tuple[str, ...] | None:
    """DuckDB's parse of a statement's tables (cached: translations repeat, and parsing costs as much as a
    small query); ``None`` when it cannot be read."""
    import duckdb

    try:
        return tuple(sorted(duckdb.get_table_names(_PLACEHOLDER.sub("NULL", sql))))
    except duckdb.Error:
        return None


def _cap_bytes(rows: list[list[Any]], max_bytes: int) -> tuple[list[list[Any]], bool]:
    """Cut the rows where their JSON passes ``max_bytes`` (measured in chunks: C-speed json.dumps)."""
    total = 0
    chunk = 2000
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        size = len(json.dumps(part, default=str, ensure_ascii=False))
        if total + size > max_bytes:
            for i, row in enumerate(part):
                total += len(json.dumps(row, default=str, ensure_ascii=False)) + 1
                if total > max_bytes:
                    return rows[: start + i], True
        total += size
    return rows, False


def _statistics(db: _Database, snap: Snapshot, tables: Sequence[str], rows: int, elapsed: float) -> dict[str, Any]:
    """A plausible subset of the service's ``statistics`` object (shapes vary in Azure too)."""
    scanned = sum(counts.get(t, 0) for _, _, counts in snap.sources for t in tables)
    cpu = format_timespan(dt.timedelta(seconds=elapsed))
    return {
        "query": {
            "executionTime": round(elapsed, 6),
            "resourceUsage": {
                "cache": {"memory": {"hits": 0, "misses": 0, "total": 0}, "disk": {"hits": 0, "misses": 0, "total": 0}},
                "cpu": {"user": cpu, "kernel": "00:00:00", "totalCpu": cpu},
                "memory": {"peakPerNode": 0},
            },
            "inputDatasetStatistics": {"extents": {"total": len(tables), "scanned": len(tables)},
                                       "rows": {"total": scanned, "scanned": scanned}},
            "datasetStatistics": [{"tableRowCount": rows, "tableSize": 0}],
        }
    }


_LEADING_COMMENTS = re.compile(r"^(?:\s*//[^\n]*(?:\n|$))*\s*")


def _refuse_commands(query: str) -> None:
    """Management commands (``.show``, ``.drop``, ``.set``...) never run through the query API."""
    body = _LEADING_COMMENTS.sub("", query)
    if not body.strip():
        raise bad_argument("EmptyQuery", "The query is empty: send a KQL query in the 'query' property.")
    if body.startswith("."):
        command = re.match(r"\.[\w-]*", body)
        token = command.group(0) if command else "."
        line = query[: len(query) - len(body)].count("\n") + 1
        raise syntax_error(
            f"Query could not be parsed at '{token}' on line [{line},0] (management commands such as "
            f"'{token}' cannot run through the query API, which only runs read-only queries)",
            line, 0, token,
        )


def engine_for(caches: dict[str, Any]) -> LogsEngine:
    """The runtime's engine (created on first use)."""
    engine = caches.get("logs.engine")
    if not isinstance(engine, LogsEngine):
        engine = caches["logs.engine"] = LogsEngine()
    return engine


def workspace_ids_by_customer_id(store: Store, caches: dict[str, Any]) -> dict[str, str]:
    """``customerId`` (lower) -> workspace ARM id, cached until the store changes."""
    cached = caches.get("logs.workspaces")
    if cached and cached[0]() is store and cached[1] == store.version:
        return dict(cached[2])
    mapping: dict[str, str] = {}
    for resource in store.of_type(_WORKSPACE_TYPE):
        customer_id = (resource.get("properties") or {}).get("customerId")
        if customer_id:
            mapping[str(customer_id).lower()] = resource["id"]
    caches["logs.workspaces"] = (weakref.ref(store), store.version, mapping)
    return mapping
