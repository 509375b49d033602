"""Which tables a workbook query reads, found by scanning its KQL (no parser needed).

A workbook query is KQL with workbook parameters spliced in (``{TimeRange}``, ``{Workspace}``,
``{Table:value}``). The scan drops comments and string literals, then follows where KQL expects a
table: the start of a statement, the right side of ``let x =``, function bodies, and what ``union``,
``join``, ``lookup``, ``search in``/``find in``, ``toscalar(``, ``materialize(`` and ``in (T | ...)`` take.
Names bound by ``let``, ``as`` or function parameters are not tables; a name followed by ``(`` is a
function call; ``table('T')`` is T. A parameter where a table belongs makes the query *dynamic* (its tables
are only known when the workbook runs); ``workspace(...)``/``app(...)`` make it *cross-resource*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PARAMETER = re.compile(r"\{[A-Za-z_][\w]*(?::[^{}\s]*)?\}")
_STRING = r"```.*?```" + r"|[hH]?@?'(?:[^'\\\n]|\\.)*'" + r'|[hH]?@?"(?:[^"\\\n]|\\.)*"'
#: a KQL string literal ('...', "...", @'...', h"...", ```...```)
STRING_LITERAL = re.compile(_STRING, re.DOTALL)
_PARAM_TOKEN = "__workbook_parameter__"
_TOKENS = re.compile(
    r"""(?P<comment>//[^\n]*)
    |(?P<string>""" + _STRING + r""")
    |(?P<bracketed>\[\s*(?:'[^'\n]*'|"[^"\n]*")\s*\])
    |(?P<ident>[A-Za-z_$][\w]*\*?[\w*]*)
    |(?P<number>\d[\w.]*)
    |(?P<op>==|!=|=~|!~|<=|>=|=>|\.\.|[^\s\w])
    """,
    re.VERBOSE | re.DOTALL,
)
#: words that start a statement or expression without being a table
_NOT_TABLES = frozenset({
    "let", "set", "declare", "query_parameters", "alias", "restrict", "pattern", "print", "range", "datatable",
    "externaldata", "external_data", "evaluate", "search", "find", "union", "view", "materialize", "toscalar",
    "true", "false", "null", "dynamic", "and", "or", "not", "in", "has", "contains", "between", "by", "on",
    "with", "kind", "typeof", "macro", "invoke",
})
_CROSS_RESOURCE = frozenset({"workspace", "app", "resource", "adx", "cluster", "database", "arg"})
_SUBQUERY_CALLS = frozenset({"toscalar", "materialize"})


@dataclass
class References:
    """What one query reads."""

    tables: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    #: a workbook parameter stands where a table belongs (e.g. ``union {Tables}``)
    dynamic: bool = False
    #: ``workspace("...")``, ``app("...")``...: tables of another resource
    cross_resource: bool = False

    def add_table(self, name: str) -> None:
        if name not in self.tables:
            self.tables.append(name)

    def add_function(self, name: str) -> None:
        if name not in self.functions:
            self.functions.append(name)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokens(kql: str) -> list[_Tok]:
    text = PARAMETER.sub(f" {_PARAM_TOKEN} ", kql)
    out: list[_Tok] = []
    for m in _TOKENS.finditer(text):
        kind = m.lastgroup or "op"
        if kind == "comment":
            continue
        value = m.group(0)
        if kind == "bracketed":
            kind, value = "ident", value.strip("[] \t")[1:-1]
        out.append(_Tok(kind, value))
    return out


def _string_value(tok: _Tok) -> str:
    text = tok.text.lstrip("hH@")
    return text[3:-3] if text.startswith("```") else text[1:-1]


class _Scanner:
    """Walks the tokens once; ``scan(end)`` reads ``[i, end)``, which starts where a table belongs."""

    def __init__(self, kql: str) -> None:
        self.toks = _tokens(kql)
        self.i = 0
        self.refs = References()
        self.local: set[str] = set()

    def kind(self, offset: int = 0) -> str | None:
        j = self.i + offset
        return self.toks[j].kind if 0 <= j < len(self.toks) else None

    def is_op(self, offset: int, *texts: str) -> bool:
        j = self.i + offset
        return 0 <= j < len(self.toks) and self.toks[j].kind == "op" and self.toks[j].text in texts

    def word(self, offset: int = 0) -> str | None:
        j = self.i + offset
        return self.toks[j].text.lower() if 0 <= j < len(self.toks) and self.toks[j].kind == "ident" else None

    def matching(self, start: int) -> int:
        """Index of the bracket closing the one at ``start`` (the last token when it is not closed)."""
        opening = self.toks[start].text
        closing = {"(": ")", "{": "}", "[": "]"}[opening]
        depth = 0
        for j in range(start, len(self.toks)):
            t = self.toks[j]
            if t.kind == "op" and t.text == opening:
                depth += 1
            elif t.kind == "op" and t.text == closing:
                depth -= 1
                if depth == 0:
                    return j
        return len(self.toks)

    def skip_options(self) -> None:
        """``kind=inner``, ``hint.strategy=shuffle``, ``withsource=T``, ``isfuzzy=true`` before an operand."""
        while self.word() is not None:
            j = 1
            while self.is_op(j, ".") and self.word(j + 1) is not None:
                j += 2
            if not self.is_op(j, "="):
                return
            self.i += j + 2

    def nested(self) -> None:
        """``( ... )`` at ``i``: a pipeline of its own; continue after it."""
        close = self.matching(self.i)
        self.i += 1
        self.scan(close)
        self.i = close + 1

    def operand(self, end: int) -> None:
        """The token at ``i`` stands where a table belongs."""
        if self.i >= end:
            return
        tok = self.toks[self.i]
        if tok.kind == "op" and tok.text == "(":
            self.nested()
        elif tok.kind == "ident":
            if tok.text == _PARAM_TOKEN:
                self.refs.dynamic = True
                self.i += 1
            elif self.is_op(1, "("):
                self.call(tok.text)
            elif tok.text.lower() in _NOT_TABLES:
                return  # the statement loop handles it
            else:
                if tok.text not in self.local:
                    self.refs.add_table(tok.text)
                self.i += 1

    def call(self, name: str) -> None:
        """``name(`` at ``i``: a function, ``table('T')``, a sub-query taker, or another resource's data."""
        low = name.lower()
        close = self.matching(self.i + 1)
        if low == "table":
            arg = self.toks[self.i + 2] if self.i + 2 < len(self.toks) else None
            if arg is not None and arg.kind == "string":
                self.refs.add_table(_string_value(arg))
            else:
                self.refs.dynamic = True
            self.i = close + 1
        elif low in _CROSS_RESOURCE:
            self.refs.cross_resource = True
            self.i = close + 1
            if self.is_op(0, ".") and self.word(1) is not None:
                self.i += 2
        elif low in _SUBQUERY_CALLS:
            self.i += 1
            self.nested()
        else:
            if name not in self.local:
                self.refs.add_function(name)
            self.i += 2

    def operand_list(self, end: int) -> None:
        """``T1, (T2 | where ...), T3*`` (union legs, ``search in (...)``)."""
        while self.i < end:
            self.operand(end)
            if not self.is_op(0, ","):
                return
            self.i += 1

    def let(self, end: int) -> None:
        """``let name = ...``: ``name`` is local; after ``=`` comes a table, a value or a function."""
        self.i += 1
        if self.kind() != "ident":
            return
        self.local.add(self.toks[self.i].text)
        self.i += 1
        if not self.is_op(0, "="):
            return
        self.i += 1
        if self.word() == "view" and self.is_op(1, "("):
            self.i = self.matching(self.i + 1) + 1
        elif self.is_op(0, "("):
            close = self.matching(self.i)
            if close + 1 < len(self.toks) and self.toks[close + 1].text == "{":
                for j in range(self.i + 1, close):  # parameters "name:type" (tabular ones "T:(x:string)")
                    if self.toks[j].kind == "ident" and self.toks[j + 1].text == ":":
                        self.local.add(self.toks[j].text)
                self.i = close + 1
        if self.is_op(0, "{"):
            close = self.matching(self.i)
            self.i += 1
            self.scan(close)
            self.i = close + 1
        else:
            self.operand(end)

    def scan(self, end: int) -> None:
        self.operand(end)
        while self.i < end:
            tok = self.toks[self.i]
            word = tok.text.lower() if tok.kind == "ident" else None
            if tok.kind == "op" and tok.text == ";":
                self.i += 1
                self.operand(end)
            elif tok.kind == "op" and tok.text == "|":
                self.i += 1
                if self.word() not in ("union", "join", "lookup", "as", "search", "find"):
                    self.i += 1  # an operator's name is never a table
            elif word == "let":
                self.let(end)
            elif word == "union":
                self.i += 1
                self.skip_options()
                self.operand_list(end)
            elif word in ("join", "lookup"):
                self.i += 1
                self.skip_options()
                self.operand(end)
            elif word in ("search", "find"):
                self.i += 1
                self.skip_options()
                if self.word() == "in" and self.is_op(1, "("):
                    close = self.matching(self.i + 1)
                    self.i += 2
                    self.operand_list(close)
                    self.i = close + 1
            elif word == "as" and self.is_op(-1, "|"):
                self.i += 1
                self.skip_options()
                if self.kind() == "ident":
                    self.local.add(self.toks[self.i].text)
                    self.i += 1
            elif word in ("in", "has_any", "has_all"):
                self.i += 1
                if self.is_op(0, "~"):
                    self.i += 1
                if self.is_op(0, "(") and self.kind(1) == "ident" and self.is_op(2, "|"):
                    self.nested()
            elif word is not None and self.is_op(1, "(") and (
                    word in _SUBQUERY_CALLS or word in _CROSS_RESOURCE or word == "table"):
                self.call(tok.text)
            else:
                self.i += 1


def references(kql: str) -> References:
    """The tables (and functions) ``kql`` reads; see the module docstring for how."""
    scanner = _Scanner(kql)
    scanner.scan(len(scanner.toks))
    return scanner.refs
