"""KQL the service accepts, rewritten into equivalent KQL that duckdb-kql translates.

duckdb-kql (a dependency) refuses some spellings that Log Analytics runs: deprecated names (``makeset``,
``arraylength``, ``mvexpand``), the three-argument ``split()``, ``table('Name')`` with a literal name, a
bare ``serialize``, a whole query in parentheses, ``mv-expand f(Column)`` without a name, zero-argument
``let`` functions whose bodies hold their own ``let`` statements, ``ipv4_is_match()``, a timespan
literal divided by a number, the ``as`` operator and ``extract_all()`` capture groups chosen by name. Each rewrite here produces KQL with the same meaning, keeps every line break
(so error lines still point into what the user wrote), and works on tokens, never inside string literals or
comments. The rewrites of tabular constructs (let functions with parameters, ``mv-apply``...) are in
:mod:`.rewrite_tabular`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from .kql_tokens import Edits, Token, arguments, code_of, matching, split_statements, text_of, tokenize
from .rewrite_tabular import in_list_lets, inline_let_functions, parenthesized_pipeline, row_wise_mv_apply

#: Deprecated function names Log Analytics still accepts -> their current names.
RENAMED_FUNCTIONS = {
    "makeset": "make_set", "makelist": "make_list", "arraylength": "array_length", "parsejson": "parse_json",
    "makeset_if": "make_set_if", "makelist_if": "make_list_if",
}
RENAMED_OPERATORS = {"mvexpand": "mv-expand", "mvapply": "mv-apply"}


def _renames(query: str) -> str:
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for k, i in enumerate(code):
        t = tokens[i]
        if t.kind != "ident":
            continue
        nxt = tokens[code[k + 1]].text if k + 1 < len(code) else ""
        prev = tokens[code[k - 1]].text if k else ""
        lowered = t.text.lower()
        if nxt == "(" and prev != "." and lowered in RENAMED_FUNCTIONS:
            edits.replace(t.start, t.end, RENAMED_FUNCTIONS[lowered])
        elif nxt == "(" and lowered == "percentiles":  # one percentile: the same column as percentile()
            close = matching(tokens, code, k + 1)
            if close > 0 and len(arguments(tokens, code, k + 1, close)) == 2:
                edits.replace(t.start, t.end, "percentile")
        elif prev == "|" and lowered in RENAMED_OPERATORS:
            edits.replace(t.start, t.end, RENAMED_OPERATORS[lowered])
    return edits.apply()


def _replace_calls(query: str, name: str, replacement: Callable[[list[str]], str | None]) -> str:
    """Every call ``name(...)`` replaced by ``replacement(its arguments' texts)`` (kept when that is None)."""
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for k, i in enumerate(code):
        t = tokens[i]
        if t.kind != "ident" or t.text != name or k + 1 >= len(code) or tokens[code[k + 1]].text != "(":
            continue
        close = matching(tokens, code, k + 1)
        if close < 0:
            continue
        text = replacement([text_of(tokens, code, a, b, query) for a, b in arguments(tokens, code, k + 1, close)])
        if text is not None:
            edits.replace(t.start, tokens[code[close]].end, text)
    return edits.apply()


def _split_with_index(query: str) -> str:
    """``split(s, d, i)`` -> ``pack_array(split(s, d)[i])``: the i-th part, as a one-element array."""
    return _replace_calls(query, "split", lambda args: f"pack_array(split({args[0]}, {args[1]})[{args[2]}])"
                          if len(args) == 3 else None)


def _ipv4_is_match(query: str) -> str:
    """``ipv4_is_match(a, b)`` -> ``(parse_ipv4(a) == parse_ipv4(b))``: the same addresses (a CIDR suffix on
    either side masks that side, as ``parse_ipv4`` does)."""
    return _replace_calls(query, "ipv4_is_match", lambda args: f"(parse_ipv4({args[0]}) == parse_ipv4({args[1]}))"
                          if len(args) == 2 else None)


#: Timespan literal units -> seconds.
_TIMESPAN_UNITS = {"d": 86400, "day": 86400, "days": 86400, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600,
                   "hours": 3600, "m": 60, "min": 60, "minute": 60, "minutes": 60, "s": 1, "sec": 1, "second": 1,
                   "seconds": 1, "ms": 0.001, "milli": 0.001, "millis": 0.001, "millisecond": 0.001,
                   "milliseconds": 0.001}
_TIMESPAN_LITERAL = re.compile(r"(\d+(?:\.\d+)?)([A-Za-z]+)")


def _timespan_divided(query: str) -> str:
    """``20min / 2`` (a timespan literal by a number) -> ``600000ms``: the same timespan, as a literal."""
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for k in range(len(code) - 2):
        span, slash, divisor = (tokens[code[k + j]] for j in range(3))
        m = _TIMESPAN_LITERAL.fullmatch(span.text) if span.kind == "number" else None
        if not m or m.group(2).lower() not in _TIMESPAN_UNITS or slash.text != "/" \
                or not re.fullmatch(r"\d+(?:\.\d+)?", divisor.text) or float(divisor.text) == 0:
            continue
        millis = float(m.group(1)) * _TIMESPAN_UNITS[m.group(2).lower()] * 1000 / float(divisor.text)
        if millis.is_integer():
            edits.replace(span.start, divisor.end, f"{int(millis)}ms")
    return edits.apply()


def _literal_table(query: str) -> str:
    """``table('Name')`` with a literal name, or a ``let`` name bound to one -> ``Name`` (duckdb-kql does not
    parse ``table()``)."""
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    strings = {tokens[code[a + 1]].text: string_value(tokens[code[a + 3]].text)
               for a, b in split_statements(tokens, code, 0, len(code) - 1)
               if b == a + 3 and tokens[code[a]].text == "let" and tokens[code[a + 2]].text == "="
               and tokens[code[a + 3]].kind == "string"}
    for k, i in enumerate(code):
        t = tokens[i]
        if t.kind == "ident" and t.text == "table" and k + 3 < len(code) and tokens[code[k + 1]].text == "(" \
                and tokens[code[k + 3]].text == ")":
            argument = tokens[code[k + 2]]
            name = string_value(argument.text) if argument.kind == "string" else strings.get(argument.text)
            if name and re.fullmatch(r"[A-Za-z_]\w*", name):
                edits.replace(t.start, tokens[code[k + 3]].end, name)
    return edits.apply()


def _bare_serialize(query: str) -> str:
    """``| serialize`` with no columns only marks the rows as ordered; it changes no row: dropped."""
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for k, i in enumerate(code):
        t = tokens[i]
        if t.text == "serialize" and k and tokens[code[k - 1]].text == "|":
            nxt = tokens[code[k + 1]].text if k + 1 < len(code) else ""
            if nxt in ("", "|", ";", ")"):
                edits.replace(tokens[code[k - 1]].start, t.end, " " * (t.end - tokens[code[k - 1]].start))
    return edits.apply()


def _unparenthesized_statement(query: str) -> str:
    """A whole statement in parentheses, ``(union ...)``, is the same statement without them."""
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    k = 0
    while k < len(code):
        statement_start = k
        depth = 0
        while k < len(code) and not (tokens[code[k]].text == ";" and depth == 0):
            text = tokens[code[k]].text
            depth += text in "([{"
            depth -= text in ")]}"
            k += 1
        first, last = statement_start, k - 1
        if first <= last and tokens[code[first]].text == "(" and matching(tokens, code, first) == last:
            edits.replace(tokens[code[first]].start, tokens[code[first]].end, " ")
            edits.replace(tokens[code[last]].start, tokens[code[last]].end, " ")
        k += 1
    return edits.apply()


def _as_operator(query: str) -> str:
    """``T | as X | rest`` -> ``let X = T; X | rest``: ``as`` names the rows so far for what follows (a query
    statement's operators only; duckdb-kql does not parse ``as``)."""
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for first, last in split_statements(tokens, code, 0, len(code) - 1):
        if tokens[code[first]].text in ("let", "set", "declare", "alias", "pattern"):
            continue
        names: list[tuple[int, int, str]] = []  # (start of '|', end of the name, the name)
        depth = 0
        for k in range(first, last + 1):
            text = tokens[code[k]].text
            depth += text in "([{"
            depth -= text in ")]}"
            if depth or text != "|" or k + 2 > last or tokens[code[k + 1]].text != "as":
                continue
            at = k + 2
            while at + 5 <= last and tokens[code[at]].text == "hint" and tokens[code[at + 3]].text == "=":
                at += 5  # hint.materialized = true: a hint for the real service's cache, nothing to do here
            name = tokens[code[at]]
            if name.kind != "ident":
                break
            names.append((tokens[code[k]].start, name.end, name.text))
        if not names:
            continue
        edits.replace(tokens[code[first]].start, tokens[code[first]].start, f"let {names[0][2]} = ")
        for n, (start, end, name) in enumerate(names):
            then = f"let {names[n + 1][2]} = " if n + 1 < len(names) else ""
            edits.replace(start, end, f"; {then}{name}")
    return edits.apply()


def string_value(literal: str) -> str | None:
    """The text of a KQL string literal token (``'..'``, ``".."``, verbatim ``@'..'``), or None for others."""
    body = literal[1:] if literal[:1] in "hH" else literal
    if body[:1] == "@" and len(body) >= 3 and body[1] == body[-1] and body[1] in "'\"":
        return body[2:-1].replace(body[1] * 2, body[1])
    if len(body) >= 2 and body[0] == body[-1] and body[0] in "'\"":
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), body[1:-1])
    return None


def _extract_all_group_names(query: str) -> str:
    """``extract_all(@'(?<ip>...)', dynamic(["ip"]), text)`` -> ``dynamic([1])``: the named groups as their
    1-based positions (duckdb-kql selects capture groups by position only)."""
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for k in range(len(code) - 3):
        if tokens[code[k]].text != "extract_all" or tokens[code[k + 1]].text != "(":
            continue
        args = arguments(tokens, code, k + 1, matching(tokens, code, k + 1))
        if len(args) != 3 or args[0][0] != args[0][1] or (pattern := string_value(tokens[code[args[0][0]]].text)) is None:
            continue
        first, last = args[1]
        names = [string_value(tokens[code[j]].text) for j in range(first + 3, last - 1, 2)]
        if tokens[code[first]].text != "dynamic" or not names or None in names:
            continue
        try:
            groups = re.compile(re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern)).groupindex
        except re.error:
            continue
        if all(n in groups for n in names):
            edits.replace(tokens[code[first]].start, tokens[code[last]].end,
                          "dynamic([" + ", ".join(str(groups[str(n)]) for n in names) + "])")
    return edits.apply()


def _named_mv_expand(query: str) -> str:
    """``mv-expand f(Column)`` -> ``mv-expand Column = f(Column)``: Kusto names the result after the column."""
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for k in range(len(code) - 5):
        a, dash, b = (tokens[code[k + j]] for j in range(3))
        if not (a.text in ("mv", "mvexpand") and (a.text == "mvexpand" or (dash.text == "-" and b.text == "expand"))):
            continue
        at = k + 1 if a.text == "mvexpand" else k + 3
        if at + 3 >= len(code):
            continue
        fn, paren, column, close = (tokens[code[at + j]] for j in range(4))
        if fn.kind == "ident" and paren.text == "(" and column.kind == "ident" and close.text == ")":
            edits.replace(fn.start, fn.start, f"{column.text} = ")
    return edits.apply()


_LET_FUNCTION = re.compile(r"let\s+([A-Za-z_]\w*)\s*=\s*\(\s*\)\s*\{", re.IGNORECASE)


def _parameterless_functions(query: str) -> str:
    """``let F = () { let a = ...; a | union b };`` -> ``let F_a = ...; let F = (F_a | union b);``.

    duckdb-kql takes only scalar ``let`` functions and no ``let`` inside a body; a function without
    parameters means the same as a plain ``let`` of its body, with its locals hoisted (renamed ``F_a``
    so they cannot clash), and ``F()`` is then ``F``.
    """
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    names = []
    for m in _LET_FUNCTION.finditer(query):
        name = m.group(1)
        brace = next((k for k, i in enumerate(code) if tokens[i].start == m.end() - 1), None)
        if brace is None:
            continue
        close = matching(tokens, code, brace, "{", "}")
        statements = split_statements(tokens, code, brace + 1, close - 1) if close > 0 else []
        if not statements or tokens[code[statements[-1][0]]].text == "let":
            continue
        locals_ = [s for s in statements if tokens[code[s[0]]].text == "let"]
        renames = {tokens[code[s[0] + 1]].text: f"{name}_{tokens[code[s[0] + 1]].text}" for s in locals_}
        hoisted = []
        for first, last in locals_:
            hoisted.append(f"let {renames[tokens[code[first + 1]].text]} "
                           f"{_renamed(tokens, code, first, last, query, renames, skip_first=2)};")
        final = _renamed(tokens, code, *statements[-1], query, renames)
        newlines = query.count("\n", m.start(), tokens[code[close]].end)
        edits.replace(m.start(), tokens[code[close]].end, " ".join([*hoisted, f"let {name} = ({final})"]) + "\n" * newlines)
        names.append(name)
    if names:
        for k, i in enumerate(code[:-2]):
            t = tokens[i]
            if t.kind == "ident" and t.text in names and tokens[code[k + 1]].text == "(" \
                    and tokens[code[k + 2]].text == ")":
                edits.replace(tokens[code[k + 1]].start, tokens[code[k + 2]].end, "")
    return edits.apply()


def _renamed(tokens: Sequence[Token], code: list[int], first: int, last: int, query: str,
             renames: Mapping[str, str], skip_first: int = 0) -> str:
    """The code between two positions on one line, with identifiers renamed (not after a dot)."""
    parts = []
    for k in range(first + skip_first, last + 1):
        t = tokens[code[k]]
        prev = tokens[code[k - 1]].text if k > first else ""
        parts.append(renames.get(t.text, t.text) if t.kind == "ident" and prev != "." else t.text)
        if k < last:
            gap = query[t.end:tokens[code[k + 1]].start]
            parts.append(" " if gap and not gap.isspace() or "\n" in gap else gap)
    return "".join(parts)


_REORDER = re.compile(r"\|\s*project-reorder\b", re.IGNORECASE)


def reorder_targets(query: str) -> list[tuple[int, int, int, list[str]]]:
    """Each top-level ``| project-reorder a, b*`` as (statement start, pipe offset, end offset, names).

    Only reorders in a statement's own pipeline (not inside brackets) are found: their input columns
    can be known by running the statement up to the pipe.
    """
    tokens = tokenize(query)
    code = code_of(tokens)
    found = []
    for first, last in split_statements(tokens, code, 0, len(code) - 1):
        depth = 0
        for k in range(first, last + 1):
            text = tokens[code[k]].text
            depth += text in "([{"
            depth -= text in ")]}"
            if depth or text != "|" or k + 3 > last or tokens[code[k + 1]].text != "project" \
                    or tokens[code[k + 2]].text != "-" or tokens[code[k + 3]].text != "reorder":
                continue
            end = k + 4
            names = []
            while end <= last and tokens[code[end]].text != "|":
                if tokens[code[end]].kind in ("ident", "string") or tokens[code[end]].text in ("*", "[", "]"):
                    names.append(tokens[code[end]].text)
                end += 1
            found.append((tokens[code[first]].start, tokens[code[k]].start, tokens[code[end - 1]].end, names))
    return found


def reordered(names: Sequence[str], columns: Sequence[str]) -> list[str]:
    """The column order ``project-reorder names`` gives ``columns`` (wildcards and ``asc``/``desc``)."""
    import fnmatch

    picked: list[str] = []
    words = [n.strip("[]'\"") for n in names if n not in ("[", "]")]
    for index, word in enumerate(words):
        if word.lower() in ("asc", "desc", "granny-asc", "granny-desc"):
            continue
        matches = [c for c in columns if fnmatch.fnmatchcase(c, word) and c not in picked]
        order = words[index + 1].lower() if index + 1 < len(words) else ""
        if order in ("asc", "desc"):
            matches.sort(reverse=order == "desc")
        picked.extend(matches)
    return picked + [c for c in columns if c not in picked]


def positional_arguments(query: str, signatures: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    """Calls with named arguments, ``F(b=2)``, -> positional ones with defaults, ``F(<default a>, 2)``.

    ``signatures`` maps a function name to its ``(parameter, default KQL)`` list; only those functions'
    calls are rewritten (duckdb-kql takes stored-function arguments by position only).
    """
    if not signatures:
        return query
    lowered = {name.lower(): params for name, params in signatures.items()}
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for k, i in enumerate(code):
        t = tokens[i]
        params = lowered.get(t.text.lower()) if t.kind == "ident" else None
        if params is None or k + 1 >= len(code) or tokens[code[k + 1]].text != "(":
            continue
        close = matching(tokens, code, k + 1)
        args = arguments(tokens, code, k + 1, close) if close > 0 else []
        named: dict[str, str] = {}
        positional: list[str] = []
        for a, b in args:
            if b > a and tokens[code[a]].kind == "ident" and tokens[code[a + 1]].text == "=" \
                    and (a + 2 > b or tokens[code[a + 2]].text != "="):
                named[tokens[code[a]].text.lower()] = text_of(tokens, code, a + 2, b, query)
            else:
                positional.append(text_of(tokens, code, a, b, query))
        if not named:
            continue
        values = []
        for index, (param, default) in enumerate(params):
            values.append(positional[index] if index < len(positional) else named.get(param.lower(), default))
        edits.replace(tokens[code[k + 1]].start, tokens[code[close]].end, "(" + ", ".join(values) + ")")
    return edits.apply()


#: The rewrites every query goes through, in order.
REWRITES: tuple[Callable[[str], str], ...] = (
    _renames, inline_let_functions, _split_with_index, _ipv4_is_match, _timespan_divided, _literal_table,
    _bare_serialize, _as_operator, _extract_all_group_names,
    _unparenthesized_statement, parenthesized_pipeline, row_wise_mv_apply, in_list_lets, _named_mv_expand,
    _parameterless_functions,
)


def rewrite(query: str) -> str:
    """``query`` with every rewrite applied (the same text when none applies)."""
    for step in REWRITES:
        query = step(query)
    return query
