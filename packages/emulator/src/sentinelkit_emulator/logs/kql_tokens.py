"""KQL as tokens, for rewrites that must never touch strings or comments: tokenizer, bracket matching,
argument and statement splitting, and non-overlapping text edits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"""
    (?P<comment>//[^\n]*)
  | (?P<string>[hH]?@'(?:[^']|'')*'|[hH]?@"(?:[^"]|"")*"|[hH]?'(?:[^'\\\n]|\\.)*'|[hH]?"(?:[^"\\\n]|\\.)*"|```.*?```)
  | (?P<ws>\s+)
  | (?P<ident>[A-Za-z_][\w]*)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[A-Za-z]*)
  | (?P<punct>\.\.|==|!=|=~|!~|<=|>=|=>|<>|.)
""", re.VERBOSE | re.DOTALL)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def tokenize(query: str) -> list[Token]:
    """All tokens, whitespace and comments included (their texts concatenate back to ``query``)."""
    return [Token(m.lastgroup or "punct", m.group(), m.start()) for m in _TOKEN.finditer(query)]


def code_of(tokens: Sequence[Token]) -> list[int]:
    """Indexes of the tokens that are code (not whitespace or comments)."""
    return [i for i, t in enumerate(tokens) if t.kind not in ("ws", "comment")]


def matching(tokens: Sequence[Token], code: list[int], at: int, opening: str = "(", closing: str = ")") -> int:
    """Position in ``code`` of the bracket closing the one at ``code[at]`` (or -1)."""
    depth = 0
    for k in range(at, len(code)):
        text = tokens[code[k]].text
        if text == opening:
            depth += 1
        elif text == closing:
            depth -= 1
            if depth == 0:
                return k
    return -1


def arguments(tokens: Sequence[Token], code: list[int], open_at: int, close_at: int) -> list[tuple[int, int]]:
    """The top-level arguments between brackets, as ``(first, last)`` positions in ``code``."""
    args: list[tuple[int, int]] = []
    depth = 0
    first = open_at + 1
    for k in range(open_at + 1, close_at):
        text = tokens[code[k]].text
        if text in "([{":
            depth += 1
        elif text in ")]}":
            depth -= 1
        elif text == "," and depth == 0:
            args.append((first, k - 1))
            first = k + 1
    if first <= close_at - 1:
        args.append((first, close_at - 1))
    return args


class Edits:
    """Replacements on the original text, applied together (non-overlapping, by start offset)."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.items: list[tuple[int, int, str]] = []

    def replace(self, start: int, end: int, text: str) -> None:
        self.items.append((start, end, text))

    def apply(self) -> str:
        out, last = [], 0
        for start, end, text in sorted(self.items):
            if start < last:
                continue  # overlapping edit: keep the first, the rest waits for the next pass
            out.append(self.query[last:start])
            out.append(text)
            last = end
        out.append(self.query[last:])
        return "".join(out)


def text_of(tokens: Sequence[Token], code: list[int], first: int, last: int, query: str) -> str:
    return query[tokens[code[first]].start:tokens[code[last]].end]


def split_statements(tokens: Sequence[Token], code: list[int], first: int, last: int) -> list[tuple[int, int]]:
    """Top-level ``;``-separated statements between two positions of ``code`` (empty ones dropped)."""
    out, depth, start = [], 0, first
    for k in range(first, last + 1):
        text = tokens[code[k]].text
        depth += text in "([{"
        depth -= text in ")]}"
        if text == ";" and depth == 0:
            if start <= k - 1:
                out.append((start, k - 1))
            start = k + 1
    if start <= last:
        out.append((start, last))
    return out
