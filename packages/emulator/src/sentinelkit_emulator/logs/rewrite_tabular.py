"""Rewrites of tabular constructs duckdb-kql does not translate into equivalent KQL that it does.

- ``let F = (p:type, ...) { ...; T }`` (and ``view``) called as ``F(args)``: each call becomes the body with
  its parameters replaced by the arguments and its own ``let`` statements hoisted before the calling
  statement (renamed per call, so two calls cannot clash); ``table(p)`` called with a literal (or a ``let``
  name bound to one) then names the table (``rewrite._literal_table``);
- ``mv-apply x = arr on (where ... | extend ...)``, whose subquery works row by row on the expanded items,
  is ``mv-expand x = arr | where ... | extend ...``: the expanded rows keep their other columns either way;
- ``x in (L)`` where ``L`` is a ``let`` ending in ``summarize make_list(c)`` (or ``make_set``): Kusto compares
  with the list's items, so ``L`` is expanded into them;
- a statement starting with a parenthesized pipeline, ``(union ...) | extend ...``, is that pipeline.

As in :mod:`.rewrite`, every rewrite works on tokens (never inside strings or comments) and leaves the
query unchanged when the construct is not in the shape it knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .kql_tokens import Edits, Token, arguments, code_of, matching, split_statements, text_of, tokenize

#: First words of a pipeline that reads no table of its own (a tabular function body may start with them).
_TABULAR_STARTS = frozenset({"table", "union", "datatable", "print", "range", "materialize", "find", "search"})
#: Operators that work on each row alone: a ``mv-apply`` subquery made only of them is a ``mv-expand``.
_ROW_WISE = frozenset({"where", "filter", "extend", "parse", "project-rename"})


@dataclass(frozen=True)
class _Param:
    name: str
    default: str  # "" when required


def _depth0_pipe(tokens: Sequence[Token], code: list[int], first: int, last: int) -> bool:
    depth = 0
    for k in range(first, last + 1):
        text = tokens[code[k]].text
        depth += text in "([{"
        depth -= text in ")]}"
        if text == "|" and depth == 0:
            return True
    return False


def _is_tabular(tokens: Sequence[Token], code: list[int], first: int, last: int) -> bool:
    return (_depth0_pipe(tokens, code, first, last)
            or tokens[code[first]].text.lower() in _TABULAR_STARTS)


def _params(tokens: Sequence[Token], code: list[int], open_at: int, close_at: int, query: str) -> list[_Param]:
    out = []
    for a, b in arguments(tokens, code, open_at, close_at):
        name = tokens[code[a]].text
        default = ""
        for k in range(a, b + 1):
            if tokens[code[k]].text == "=":
                default = text_of(tokens, code, k + 1, b, query) if k < b else ""
                break
        out.append(_Param(name, default))
    return out


def _render(tokens: Sequence[Token], code: list[int], first: int, last: int, query: str,
            replacements: dict[str, str]) -> str:
    """The code between two positions with identifiers replaced (not after a dot), on one line."""
    parts = []
    for k in range(first, last + 1):
        t = tokens[code[k]]
        prev = tokens[code[k - 1]].text if k > first else ""
        parts.append(replacements.get(t.text, t.text) if t.kind == "ident" and prev != "." else t.text)
        if k < last:
            parts.append(" " if query[t.end:tokens[code[k + 1]].start] else "")
    return "".join(parts)


_LET_FUNCTION = re.compile(r"\blet\s+([A-Za-z_]\w*)\s*=\s*(?:view\s*)?\(", re.IGNORECASE)


def inline_let_functions(query: str) -> str:
    """Expand every call of a tabular ``let`` function with parameters (see the module docstring)."""
    for _ in range(8):  # one function per pass: a body may call a function defined before it
        rewritten = _inline_first(query)
        if rewritten == query:
            return query
        query = rewritten
    return query


def _inline_first(query: str) -> str:
    tokens = tokenize(query)
    code = code_of(tokens)
    positions = {tokens[i].start: k for k, i in enumerate(code)}
    for m in _LET_FUNCTION.finditer(query):
        start = positions.get(m.start())
        open_at = positions.get(m.end() - 1)
        if start is None or open_at is None:
            continue
        close_at = matching(tokens, code, open_at)
        if close_at < 0 or close_at + 1 >= len(code) or tokens[code[close_at + 1]].text != "{":
            continue
        params = _params(tokens, code, open_at, close_at, query)
        if not params:
            continue  # parameterless: rewrite._parameterless_functions' business
        body_close = matching(tokens, code, close_at + 1, "{", "}")
        statements = split_statements(tokens, code, close_at + 2, body_close - 1) if body_close > 0 else []
        if not statements or tokens[code[statements[-1][0]]].text == "let" \
                or not _is_tabular(tokens, code, *statements[-1]):
            continue
        end = body_close + 1 if body_close + 1 < len(code) and tokens[code[body_close + 1]].text == ";" \
            else body_close
        return _expand_calls(query, tokens, code, m.group(1), params, statements, (start, end))
    return query


def _expand_calls(query: str, tokens: list[Token], code: list[int], name: str, params: list[_Param],
                  statements: list[tuple[int, int]], definition: tuple[int, int]) -> str:
    edits = Edits(query)
    start, end = definition
    span = query[tokens[code[start]].start:tokens[code[end]].end]
    edits.replace(tokens[code[start]].start, tokens[code[end]].end, "\n" * span.count("\n"))
    locals_ = [s for s in statements[:-1] if tokens[code[s[0]]].text == "let"]
    call = 0
    for k in range(len(code) - 1):
        t = tokens[code[k]]
        if k <= end and k >= start or t.text != name or tokens[code[k + 1]].text != "(" \
                or (k and tokens[code[k - 1]].text in (".", "let")) or _brace_depth(tokens, code, k):
            continue
        close = matching(tokens, code, k + 1)
        bound = _bind(params, [text_of(tokens, code, a, b, query) for a, b in arguments(tokens, code, k + 1, close)])
        if bound is None:
            continue
        call += 1
        replacements = dict(bound)
        replacements.update({tokens[code[s[0] + 1]].text: f"{name}_{call}_{tokens[code[s[0] + 1]].text}"
                             for s in locals_})
        hoisted = "".join(
            f"let {replacements[tokens[code[a + 1]].text]} {_render(tokens, code, a + 2, b, query, replacements)}; "
            for a, b in locals_)
        final = _render(tokens, code, *statements[-1], query, replacements)
        if hoisted:
            edits.replace(*([_statement_start(tokens, code, k)] * 2), hoisted)
        edits.replace(t.start, tokens[code[close]].end, f"({final})")
    return edits.apply() if call else query


def _bind(params: list[_Param], args: list[str]) -> dict[str, str] | None:
    """Parameter name -> the KQL text that replaces it (positional or ``name=value`` arguments)."""
    named = {}
    positional = []
    for arg in args:
        m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*=(?!=)\s*(.+)", arg, re.DOTALL)
        if m and m.group(1) in {p.name for p in params}:
            named[m.group(1)] = m.group(2)
        else:
            positional.append(arg)
    out = {}
    for index, param in enumerate(params):
        value = positional[index] if index < len(positional) else named.get(param.name, param.default)
        if not value:
            return None
        literal = re.fullmatch(r"""\s*(?:'[^'\\]*'|"[^"\\]*"|[A-Za-z_]\w*)\s*""", value)  # or a name
        out[param.name] = value.strip() if literal else f"({value.strip()})"
    return out


def _brace_depth(tokens: Sequence[Token], code: list[int], at: int) -> int:
    depth = 0
    for k in range(at):
        text = tokens[code[k]].text
        depth += text == "{"
        depth -= text == "}"
    return depth


def _statement_start(tokens: Sequence[Token], code: list[int], at: int) -> int:
    """Offset of the top-level statement containing ``code[at]``."""
    depth = 0
    start = 0
    for k in range(at):
        text = tokens[code[k]].text
        depth += text in "([{"
        depth -= text in ")]}"
        if text == ";" and depth == 0:
            start = k + 1
    return tokens[code[start]].start


def row_wise_mv_apply(query: str) -> str:
    """``| mv-apply items on (row-wise ops)`` -> ``| mv-expand items | row-wise ops``."""
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for k in range(len(code) - 3):
        if tokens[code[k]].text != "|" or [tokens[code[k + j]].text for j in (1, 2, 3)] != ["mv", "-", "apply"]:
            continue
        depth = 0
        on = -1
        for j in range(k + 4, len(code) - 1):
            text = tokens[code[j]].text
            depth += text in "([{"
            depth -= text in ")]}"
            if depth < 0 or (depth == 0 and text == "|"):
                break
            if depth == 0 and text.lower() == "on" and tokens[code[j + 1]].text == "(":
                on = j
                break
        close = matching(tokens, code, on + 1) if on > 0 else -1
        if close < 0 or not _row_wise(tokens, code, on + 2, close - 1):
            continue
        apply_ = tokens[code[k + 3]]
        edits.replace(tokens[code[k + 1]].start, apply_.end, "mv-expand")
        between = query[tokens[code[on - 1]].end:tokens[code[on + 1]].end]
        edits.replace(tokens[code[on - 1]].end, tokens[code[on + 1]].end,
                      " |" + "\n" * between.count("\n"))
        edits.replace(tokens[code[close]].start, tokens[code[close]].end, "")
    return edits.apply()


def _row_wise(tokens: Sequence[Token], code: list[int], first: int, last: int) -> bool:
    if first > last:
        return False
    depth = 0
    segment_start = True
    for k in range(first, last + 1):
        text = tokens[code[k]].text
        if segment_start:
            renames = k + 2 <= last and tokens[code[k + 1]].text == "-" and tokens[code[k + 2]].text == "rename"
            word = text.lower() + ("-rename" if renames else "")
            if word not in _ROW_WISE:
                return False
            segment_start = False
        depth += text in "([{"
        depth -= text in ")]}"
        if text == "|" and depth == 0:
            segment_start = True
    return True


_LIST_LET = re.compile(
    r"\blet\s+([A-Za-z_]\w*)\s*=[^;]*?\|\s*summarize\s+(?:([A-Za-z_]\w*)\s*=\s*)?(make_list|make_set|makelist|makeset)"
    r"\s*\(\s*([A-Za-z_]\w*)\s*(?:,\s*[^()]*)?\)\s*;", re.DOTALL)


def in_list_lets(query: str) -> str:
    """``x in (L)``, ``L`` a ``summarize make_list(c)`` let -> ``x in (L | mv-expand list_c to typeof(string))``."""
    lists = {}
    for m in _LIST_LET.finditer(query):
        prefix = "list" if "list" in m.group(3) else "set"
        lists[m.group(1)] = m.group(2) or f"{prefix}_{m.group(4)}"
    if not lists:
        return query
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for k in range(2, len(code) - 1):
        name = tokens[code[k]]
        before, after = tokens[code[k - 1]].text, tokens[code[k + 1]].text
        operator = tokens[code[k - 2]].text.lower()
        if name.text in lists and before == "(" and after == ")" and (
                operator in ("in", "!in") or (operator == "~" and tokens[code[k - 3]].text.lower() in ("in", "!in"))):
            edits.replace(name.start, name.end, f"{name.text} | mv-expand {lists[name.text]} to typeof(string)")
    return edits.apply()


def parenthesized_pipeline(query: str) -> str:
    """``(pipeline) | ops`` at the start of a statement (or of a ``let`` value) -> ``pipeline | ops``."""
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for first, last in split_statements(tokens, code, 0, len(code) - 1):
        at = first
        if tokens[code[at]].text == "let" and at + 2 <= last and tokens[code[at + 2]].text == "=":
            at += 3
        if at > last or tokens[code[at]].text != "(":
            continue
        close = matching(tokens, code, at)
        if 0 < close < last and tokens[code[close + 1]].text == "|" and _is_tabular(tokens, code, at + 1, close - 1):
            edits.replace(tokens[code[at]].start, tokens[code[at]].end, " ")
            edits.replace(tokens[code[close]].start, tokens[code[close]].end, " ")
    return edits.apply()


_ASSIGNED = re.compile(r"(?<![\w.$])\[?['\"]?([A-Za-z_]\w*)['\"]?\]?\s*=(?![=~])")


def column_ifexists(query: str, tables: Mapping[str, Sequence[str]]) -> str:
    """``column_ifexists('c', default)`` -> ``c`` when ``c`` is a column the query can see, else ``default``.

    The columns it can see: those of the tables it names and those an earlier step assigns (``extend c =
    ...``; not the step of the call, which reads its input). A column of another of its tables is taken as
    present; if the step does not have it after all, the translation fails rather than answering wrongly.
    """
    if "column_ifexists" not in query:
        return query
    tokens = tokenize(query)
    code = code_of(tokens)
    words = {tokens[i].text for i in code if tokens[i].kind == "ident"}
    tables_known = {c for name, columns in tables.items() if name in words for c in columns}
    edits = Edits(query)
    step = 0  # offset of the pipe that starts the current step
    for k, i in enumerate(code):
        t = tokens[i]
        if t.text == "|":
            step = t.start
        if t.text != "column_ifexists" or k + 1 >= len(code) or tokens[code[k + 1]].text != "(":
            continue
        known = tables_known | {m.group(1) for m in _ASSIGNED.finditer(query, 0, step)}
        close = matching(tokens, code, k + 1)
        args = arguments(tokens, code, k + 1, close) if close > 0 else []
        if len(args) != 2 or args[0][0] != args[0][1] or tokens[code[args[0][0]]].kind != "string":
            continue
        name = tokens[code[args[0][0]]].text.strip("'\"")
        replacement = ("['" + name + "']") if name in known else f"({text_of(tokens, code, *args[1], query)})"
        edits.replace(t.start, tokens[code[close]].end, replacement)
    return edits.apply()


#: Words that are never column names (operators' keywords); a column spelled like one is left alone.
_KEYWORDS = frozenset("""
and or not by on kind with asc desc nulls first last to typeof between in has contains startswith endswith
matches regex step from true false let set isfuzzy withsource bagexpansion with_itemindex flags dynamic
where extend project summarize join union take limit top sort order distinct count render as inner outer
leftouter rightouter fullouter leftanti rightanti leftsemi rightsemi innerunique anti semi
""".split())
_CASE_ALIAS = "__case{}"


def case_aliases(query: str, tables: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Names the query uses that differ only in case from a column (``timestamp`` beside ``Timestamp``) or
    from another of its names -> a distinct alias for each: DuckDB's names ignore case, Kusto's do not.

    The first spelling met keeps its name, and so does every column of the tables the query reads (two
    tables may spell a column differently); calls and keywords are left alone.
    """
    tokens = tokenize(query)
    code = code_of(tokens)
    words = {tokens[i].text for i in code if tokens[i].kind == "ident"}
    spelled: dict[str, str] = {}
    columns_read: set[str] = set()
    for name, columns in tables.items():
        if name in words:
            columns_read.update(columns)
            for column in columns:
                spelled.setdefault(column.lower(), column)
    aliases: dict[str, str] = {}
    for k, i in enumerate(code):
        t = tokens[i]
        if t.kind != "ident" or t.text.lower() in _KEYWORDS or t.text in aliases or t.text in tables \
                or t.text in columns_read:
            continue
        before = tokens[code[k - 1]].text if k else ""
        after = tokens[code[k + 1]].text if k + 1 < len(code) else ""
        if before == "." or after == "(":
            continue
        first = spelled.setdefault(t.text.lower(), t.text)
        if first != t.text:
            aliases[t.text] = t.text + _CASE_ALIAS.format(len(aliases) + 1)
    return aliases


def with_aliases(query: str, aliases: Mapping[str, str]) -> str:
    """``query`` with each aliased name replaced (identifiers only, not after a dot), also inside the names
    Kusto derives from it (``set_folders`` for ``make_set(folders)``, ``folders1`` for a join's right side)."""
    if not aliases:
        return query
    derived = re.compile(r"(?<![^_])(" + "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))
                         + r")(?![^_0-9])")
    tokens = tokenize(query)
    code = code_of(tokens)
    edits = Edits(query)
    for k, i in enumerate(code):
        t = tokens[i]
        if t.kind == "ident" and not (k and tokens[code[k - 1]].text == "."):
            renamed = derived.sub(lambda m: aliases[m.group(1)], t.text)
            if renamed != t.text:
                edits.replace(t.start, t.end, renamed)
    return edits.apply()


def without_aliases(name: str, aliases: Mapping[str, str]) -> str:
    """A result column's name as the query spelled it (``set_folders__case1`` -> ``set_folders``)."""
    for original, alias in aliases.items():
        name = name.replace(alias, original)
    return name
