"""Watchlist CSV in and out: parsing with every problem found before anything is written, and writing
that a spreadsheet cannot turn into a formula (CSV injection: ``=cmd|' /C calc'!A0``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sentinelkit import KitError

#: a cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
MAX_PROBLEMS = 10


@dataclass(frozen=True)
class Table:
    """A watchlist's content: columns in order and one dict per row (every value a string)."""

    columns: list[str]
    rows: list[dict[str, str]]


def parse(text: str, search_key: str, *, skip_lines: int = 0, source: str = "the CSV") -> Table:
    """Rows of ``text`` (a header line, then rows), checked: the search-key column exists, every row has
    it filled in and unique (items are addressed by it), no row has more cells than the header."""
    lines = text.lstrip("\ufeff").splitlines()[skip_lines:]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise KitError(f"{source} is empty: give a header line (the column names) and one line per item") from None
    if not any(header):
        raise KitError(f"{source} has an empty header line: its first line must name the columns")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise KitError(f"{source} names the column(s) {', '.join(duplicates)} more than once; column names must be "
                       "unique")
    if search_key not in header:
        close = [h for h in header if h.lower() == search_key.lower()]
        hint = f" (did you mean {close[0]!r}? names are case-sensitive)" if close else ""
        raise KitError(f"{source} has no column {search_key!r}, the watchlist's search key{hint}. Its columns: "
                       f"{', '.join(header)}. Name the search-key column in the header, or pick one of these as "
                       "search_key. Nothing was written.")
    rows: list[dict[str, str]] = []
    problems: list[str] = []
    for number, cells in enumerate(reader, start=skip_lines + 2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            problems.append(f"line {number} has {len(cells)} cells but the header names {len(header)} columns")
            continue
        rows.append({h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)})
        rows[-1]["__line"] = str(number)
    check_rows(rows, search_key, problems, source)
    for row in rows:
        row.pop("__line", None)
    return Table(header, rows)


def from_rows(rows: Sequence[Mapping[str, Any]], search_key: str, *, source: str = "rows") -> Table:
    """A table from row objects (column -> value); columns in first-seen order, values as text."""
    if not rows:
        raise KitError(f"{source}: no rows were given")
    columns: list[str] = []
    out: list[dict[str, str]] = []
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            raise KitError(f"{source}: row {i} is not an object of column -> value")
        columns += [str(c) for c in row if str(c) not in columns]
        out.append({str(k): "" if v is None else str(v) for k, v in row.items()})
        out[-1]["__line"] = f"row {i}"
    if search_key not in columns:
        raise KitError(f"{source}: no row has the search-key column {search_key!r} (columns: {', '.join(columns)}); "
                       "nothing was written")
    problems: list[str] = []
    check_rows(out, search_key, problems, source, label=lambda r: r["__line"])
    for row in out:
        row.pop("__line", None)
        for c in columns:
            row.setdefault(c, "")
    return Table(columns, out)


def check_rows(rows: list[dict[str, str]], search_key: str, problems: list[str], source: str,
               label: Any = lambda r: f"line {r['__line']}") -> None:
    """Refuse empty or repeated search-key values (and earlier ``problems``), naming where they are."""
    seen: dict[str, str] = {}
    for row in rows:
        key = row.get(search_key, "").strip()
        if not key:
            problems.append(f"{label(row)} has no value in the search-key column {search_key!r}")
        elif key.lower() in seen:
            problems.append(f"{label(row)} repeats the search-key value {key!r} of {seen[key.lower()]}")
        else:
            seen[key.lower()] = label(row)
    if problems:
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        why = []
        if any("search-key" in p for p in problems):
            why.append(f"items are found by their search key ({search_key!r}), so each needs its own value")
        if any("cells but the header" in p for p in problems):
            why.append("a cell that holds a comma must be quoted (\"a, b\")")
        raise KitError(f"{source} cannot become a watchlist: {'; '.join(problems[:MAX_PROBLEMS])}{more}. "
                       f"{'; '.join(why).capitalize()}. Fix these rows; nothing was written.")


def to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, neutralize: bool = False) -> str:
    """CSV text (RFC 4180 quoting). ``neutralize`` prefixes every cell a spreadsheet would run as a
    formula with ``'`` (OWASP's advice for CSV injection): for files people open, never for what is
    uploaded to Sentinel, where the value is data and must stay as it is."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(c) if neutralize else c for c in columns])
    for row in rows:
        cells = ["" if row.get(c) is None else str(row.get(c)) for c in columns]
        writer.writerow([safe_cell(c) for c in cells] if neutralize else cells)
    return out.getvalue()


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def chunks(columns: Sequence[str], rows: Sequence[Mapping[str, Any]], limit: int) -> tuple[str, int]:
    """The CSV of the first rows that fit in ``limit`` bytes (UTF-8) and how many rows that is."""
    header = to_csv(columns, [])
    size = len(header.encode())
    count = 0
    for row in rows:
        line = to_csv(columns, [row])[len(header):]
        size += len(line.encode())
        if size > limit:
            break
        count += 1
    return to_csv(columns, rows[:count]), count
