"""OData ``$filter`` and ``$orderby`` over ARM resource bodies (what Sentinel's list operations accept).

A small recursive-descent parser, because no maintained Python library fits: odata-query targets
SQLAlchemy/Django and depends on the unmaintained ``sly``. Supported: ``eq ne gt ge lt le``, ``and
or not``, parentheses, ``in (...)``, string/number/boolean/null/datetime/guid literals (also the v3
forms ``datetime'...'``), ``contains startswith endswith substringof tolower toupper trim length``
and lambdas ``path/any(x: ...)`` / ``path/all(x: ...)``, over paths such as
``properties/owner/assignedTo``. String comparisons are case-insensitive (as Sentinel's store is),
and a string that holds an ISO timestamp compares as a timestamp.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

__all__ = ["ODataError", "Predicate", "parse_datetime", "parse_filter", "parse_orderby", "sort_items"]


class ODataError(ValueError):
    """A ``$filter``/``$orderby`` the parser refuses; the message names the problem and where."""


Env = dict[str, Any]
Node = Callable[[Any, Env], Any]
Predicate = Callable[[Mapping[str, Any]], bool]
Item = TypeVar("Item", bound=Mapping[str, Any])

_DATETIME = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?"
_TOKEN_RE = re.compile(
    rf"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<guid>[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}})(?![\w-])
  | (?P<datetime>{_DATETIME})(?![\w:.-])
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])
  | (?P<path>[A-Za-z_$][\w$]*(?:/[A-Za-z_$][\w$]*)*)
  | (?P<punct>[(),:])
    """,
    re.VERBOSE,
)
_DATETIME_RE = re.compile(rf"^{_DATETIME}$")
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_KEYWORDS = _COMPARISONS | {"and", "or", "not", "in", "asc", "desc"}
_FUNCTIONS = {"contains", "startswith", "endswith", "substringof", "tolower", "toupper", "trim", "length"}
_PREFIXED_LITERALS = {"datetime", "datetimeoffset", "guid", "duration"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # string, number, datetime, guid, path, punct, end
    text: str
    pos: int


def _tokenize(text: str, what: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            if text[pos] == "'":
                raise ODataError(f"Invalid {what} '{text}': unterminated string literal starting at position {pos}.")
            raise ODataError(f"Invalid {what} '{text}': unexpected character '{text[pos]}' at position {pos}.")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


def parse_datetime(value: str) -> datetime | None:
    """An ISO 8601 timestamp (any number of fractional digits, ``Z`` or offset) as aware UTC, else None."""
    if not isinstance(value, str) or not _DATETIME_RE.match(value):
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:  # Python wants at most 6 fractional digits; .NET writes 7
        head, _, rest = text.partition(".")
        digits = re.match(r"\d+", rest)
        frac = digits.group() if digits else ""
        text = f"{head}.{frac[:6].ljust(6, '0')}{rest[len(frac):]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _lookup(obj: Any, segments: list[str]) -> Any:
    """Follow a path through dicts; keys match exactly, else case-insensitively. Missing -> None."""
    for seg in segments:
        if not isinstance(obj, Mapping):
            return None
        if seg in obj:
            obj = obj[seg]
            continue
        low = seg.lower()
        obj = next((v for k, v in obj.items() if k.lower() == low), None)
    return obj


def _as_comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Bring two values to one comparable type, or None when they cannot be compared."""
    if isinstance(a, bool) or isinstance(b, bool):
        return (a, b) if isinstance(a, bool) and isinstance(b, bool) else None
    if isinstance(a, datetime) or isinstance(b, datetime):
        da = a if isinstance(a, datetime) else parse_datetime(a)
        db = b if isinstance(b, datetime) else parse_datetime(b)
        return (da, db) if da is not None and db is not None else None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a, b
    if isinstance(a, str) and isinstance(b, str):
        da, db = parse_datetime(a), parse_datetime(b)
        if da is not None and db is not None:
            return da, db
        return a.casefold(), b.casefold()
    if isinstance(a, (int, float)) and isinstance(b, str) or isinstance(a, str) and isinstance(b, (int, float)):
        try:
            return float(a), float(b)
        except ValueError:
            return None
    return None


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        if op == "eq":
            return a is None and b is None
        if op == "ne":
            return not (a is None and b is None)
        return False
    pair = _as_comparable(a, b)
    if pair is None:
        return op == "ne"
    x, y = pair
    if op == "eq":
        return bool(x == y)
    if op == "ne":
        return bool(x != y)
    if op == "gt":
        return bool(x > y)
    if op == "ge":
        return bool(x >= y)
    if op == "lt":
        return bool(x < y)
    return bool(x <= y)


def _text(value: Any) -> str | None:
    return value.casefold() if isinstance(value, str) else None


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list):
        return any(_compare("eq", item, needle) for item in haystack)
    h, n = _text(haystack), _text(needle)
    return h is not None and n is not None and n in h


def _call(name: str, args: list[Any]) -> Any:
    if name == "contains":
        return _contains(args[0], args[1])
    if name == "substringof":  # OData v3: substringof('needle', haystack)
        return _contains(args[1], args[0])
    if name in ("startswith", "endswith"):
        h, n = _text(args[0]), _text(args[1])
        return h is not None and n is not None and (h.startswith(n) if name == "startswith" else h.endswith(n))
    if name == "length":
        return len(args[0]) if isinstance(args[0], (str, list)) else None
    value = args[0]
    if not isinstance(value, str):
        return None
    return {"tolower": value.lower, "toupper": value.upper, "trim": value.strip}[name]()


_ARITY = {"contains": 2, "substringof": 2, "startswith": 2, "endswith": 2, "tolower": 1, "toupper": 1, "trim": 1,
          "length": 1}


def _either(left: Node, right: Node) -> Node:
    return lambda item, env: bool(left(item, env)) or bool(right(item, env))


def _both(left: Node, right: Node) -> Node:
    return lambda item, env: bool(left(item, env)) and bool(right(item, env))


class _Parser:
    """Recursive descent over the token list; each parse method returns a closure ``(item, env) -> value``."""

    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.tokens = _tokenize(text, what)
        self.i = 0
        self.variables: list[str] = []

    # -- token helpers --------------------------------------------------------------------------
    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def _is_word(self, *words: str) -> bool:
        return self.tok.kind == "path" and self.tok.text.lower() in words

    def _advance(self) -> _Tok:
        tok = self.tok
        self.i += 1
        return tok

    def _expect_punct(self, char: str) -> None:
        if self.tok.kind != "punct" or self.tok.text != char:
            raise self.error(f"expected '{char}'")
        self.i += 1

    def error(self, problem: str) -> ODataError:
        found = "the end of the expression" if self.tok.kind == "end" else f"'{self.tok.text}'"
        return ODataError(f"Invalid {self.what} '{self.text}': {problem} but found {found} at position {self.tok.pos}.")

    # -- grammar --------------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self._or()
        if self.tok.kind != "end":
            raise self.error("expected 'and', 'or' or the end of the expression")
        return node

    def _or(self) -> Node:
        left = self._and()
        while self._is_word("or"):
            self._advance()
            left = _either(left, self._and())
        return left

    def _and(self) -> Node:
        left = self._not()
        while self._is_word("and"):
            self._advance()
            left = _both(left, self._not())
        return left

    def _not(self) -> Node:
        if self._is_word("not"):
            self._advance()
            inner = self._not()
            return lambda item, env: not inner(item, env)
        return self._comparison()

    def _comparison(self) -> Node:
        left = self._primary()
        if self.tok.kind == "path" and self.tok.text.lower() in _COMPARISONS:
            op = self._advance().text.lower()
            right = self._primary()
            return lambda item, env: _compare(op, left(item, env), right(item, env))
        if self._is_word("in"):
            self._advance()
            self._expect_punct("(")
            options = [self._primary()]
            while self.tok.kind == "punct" and self.tok.text == ",":
                self._advance()
                options.append(self._primary())
            self._expect_punct(")")
            return lambda item, env: any(_compare("eq", left(item, env), o(item, env)) for o in options)
        return left

    def _primary(self) -> Node:
        tok = self.tok
        if tok.kind == "punct" and tok.text == "(":
            self._advance()
            inner = self._or()
            self._expect_punct(")")
            return inner
        if tok.kind == "string":
            self._advance()
            value = tok.text[1:-1].replace("''", "'")
            return lambda item, env: value
        if tok.kind == "number":
            self._advance()
            number: float | int = float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
            return lambda item, env: number
        if tok.kind == "datetime":
            self._advance()
            when = parse_datetime(tok.text)
            if when is None:
                raise ODataError(f"Invalid {self.what} '{self.text}': '{tok.text}' is not a valid date-time "
                                 f"(position {tok.pos}).")
            return lambda item, env: when
        if tok.kind == "guid":
            self._advance()
            guid = tok.text
            return lambda item, env: guid
        if tok.kind == "path":
            return self._path_or_call()
        raise self.error("expected a property path, a literal or '('")

    def _path_or_call(self) -> Node:
        tok = self._advance()
        low = tok.text.lower()
        if low in ("null", "true", "false"):
            constant = {"null": None, "true": True, "false": False}[low]
            return lambda item, env: constant
        if low in _KEYWORDS:
            self.i -= 1
            raise self.error("expected a property path, a literal or '('")
        if low in _PREFIXED_LITERALS and self.tok.kind == "string":
            raw = self._advance().text[1:-1]
            if low in ("datetime", "datetimeoffset"):
                when = parse_datetime(raw)
                if when is None:
                    raise ODataError(f"Invalid {self.what} '{self.text}': '{raw}' is not a valid date-time.")
                return lambda item, env: when
            return lambda item, env: raw
        is_call = self.tok.kind == "punct" and self.tok.text == "("
        if is_call and low in _FUNCTIONS:
            return self._function(low, tok)
        segments = tok.text.split("/")
        if is_call and segments[-1].lower() in ("any", "all") and len(segments) > 1:
            return self._lambda(segments[:-1], segments[-1].lower())
        if is_call:
            raise ODataError(f"Invalid {self.what} '{self.text}': unknown function '{tok.text}' at position "
                             f"{tok.pos}; supported: {', '.join(sorted(_FUNCTIONS))}, any, all.")
        return self._path(segments)

    def _path(self, segments: list[str]) -> Node:
        if segments[0] in self.variables:
            name, rest = segments[0], segments[1:]
            return lambda item, env: _lookup(env.get(name), rest)
        return lambda item, env: _lookup(item, segments)

    def _function(self, name: str, tok: _Tok) -> Node:
        self._expect_punct("(")
        args = [self._or()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self._advance()
            args.append(self._or())
        self._expect_punct(")")
        if len(args) != _ARITY[name]:
            raise ODataError(f"Invalid {self.what} '{self.text}': function '{name}' takes {_ARITY[name]} "
                             f"argument(s), got {len(args)} (position {tok.pos}).")
        return lambda item, env: _call(name, [a(item, env) for a in args])

    def _lambda(self, collection: list[str], quantifier: str) -> Node:
        source = self._path(collection)
        self._expect_punct("(")
        if self.tok.kind == "punct" and self.tok.text == ")":  # any() = non-empty
            self._advance()
            return lambda item, env: bool(source(item, env))
        if self.tok.kind != "path" or "/" in self.tok.text or self.tok.text.lower() in _KEYWORDS:
            raise self.error("expected a lambda variable name")
        var = self._advance().text
        self._expect_punct(":")
        self.variables.append(var)
        body = self._or()
        self.variables.pop()
        self._expect_punct(")")
        check = any if quantifier == "any" else all

        def run(item: Any, env: Env) -> bool:
            values = source(item, env)
            if not isinstance(values, list):
                return False
            return check(bool(body(item, {**env, var: v})) for v in values)

        return run


def parse_filter(text: str) -> Predicate:
    """Compile a ``$filter`` expression into a predicate over resource bodies; raises :class:`ODataError`."""
    if not text.strip():
        raise ODataError("Invalid $filter '': the expression is empty.")
    node = _Parser(text, "$filter").parse()
    return lambda item: bool(node(item, {}))


def parse_orderby(text: str) -> list[tuple[list[str], bool]]:
    """``"properties/severity desc, name"`` -> ``[(["properties", "severity"], True), (["name"], False)]``."""
    keys: list[tuple[list[str], bool]] = []
    for clause in text.split(","):
        words = clause.split()
        if not words or len(words) > 2 or not re.fullmatch(r"[A-Za-z_$][\w$]*(?:/[A-Za-z_$][\w$]*)*", words[0]):
            raise ODataError(f"Invalid $orderby '{text}': expected 'path [asc|desc]' but found '{clause.strip()}'.")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise ODataError(f"Invalid $orderby '{text}': the direction must be 'asc' or 'desc', not '{words[1]}'.")
        keys.append((words[0].split("/"), direction == "desc"))
    return keys


def _sort_key(value: Any, rank: Mapping[str, int] | None) -> tuple[int, Any]:
    """Total order across types: nulls first, then booleans, numbers, timestamps, strings."""
    if value is None:
        return (0, 0)
    if rank is not None and isinstance(value, str) and value.casefold() in rank:
        return (2, rank[value.casefold()])
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, str):
        return _string_sort_key(value)
    return (5, str(value))


@functools.lru_cache(maxsize=1 << 16)
def _string_sort_key(value: str) -> tuple[int, Any]:
    """A string's sort key: a time sorts as a time (cached: every list of incidents sorts the same ones)."""
    when = parse_datetime(value)
    return (3, when.timestamp()) if when else (4, value.casefold())


def sort_items(
    items: list[Item],
    keys: list[tuple[list[str], bool]],
    ranks: Mapping[str, Mapping[str, int]] | None = None,
) -> list[Item]:
    """Stable multi-key sort. ``ranks`` maps a path (``properties/severity``) to value ranks (lower first)."""
    result = list(items)
    for segments, descending in reversed(keys):
        rank = (ranks or {}).get("/".join(segments).lower())
        result.sort(key=lambda item: _sort_key(_lookup(item, segments), rank), reverse=descending)
    return result
