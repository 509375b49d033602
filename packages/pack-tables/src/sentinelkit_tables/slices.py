"""Time slices of an export: a window cut into disjoint pieces ``[start, end)`` that each hold at most a
given number of rows, so that every query stays under the Log Analytics limits (500,000 rows and 64 MB
per answer) and the server holds one piece at a time.

The plan comes from counting the rows per time bin (one ``summarize`` query), merging neighbouring bins
up to the limit and counting again, finer, inside a bin that holds too many on its own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sentinelkit import KitError

#: bin sizes tried for the row counts, finest first
STEPS = (dt.timedelta(seconds=1), dt.timedelta(seconds=10), dt.timedelta(minutes=1), dt.timedelta(minutes=5),
         dt.timedelta(minutes=15), dt.timedelta(hours=1), dt.timedelta(hours=6), dt.timedelta(days=1),
         dt.timedelta(days=7))
#: at most this many bins per counting query
MAX_BINS = 2000
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$", re.IGNORECASE)

#: (start, end, step) → [(bin start, rows)] in time order
Counter = Callable[[dt.datetime, dt.datetime, dt.timedelta], Awaitable[list[tuple[dt.datetime, int]]]]


@dataclass(frozen=True)
class Slice:
    start: dt.datetime
    end: dt.datetime
    rows: int  # rows counted when the plan was made

    def halves(self) -> tuple[Slice, Slice]:
        middle = self.start + (self.end - self.start) / 2
        return Slice(self.start, middle, self.rows // 2), Slice(middle, self.end, self.rows - self.rows // 2)

    @property
    def divisible(self) -> bool:
        return self.end - self.start > dt.timedelta(microseconds=1)


def parse_instant(text: str, field: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise KitError(f"{field} {text!r} is not a date and time: write ISO 8601, e.g. 2025-01-31T00:00:00Z") from None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def parse_duration(text: str) -> dt.timedelta | None:
    m = _DURATION.match(text.strip())
    if not m or not any(m.groups()):
        return None
    d, h, mi, s = (int(x or 0) for x in m.groups())
    return dt.timedelta(days=d, hours=h, minutes=mi, seconds=s)


def window(start: str | None, end: str | None, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``start`` (ISO 8601, or a duration such as P7D before ``end``) and ``end`` (ISO 8601; default now)."""
    stop = parse_instant(end, "end") if end else now.replace(microsecond=0)
    if not start:
        raise KitError("start is required: an ISO 8601 date and time (2025-01-31T00:00:00Z) or a duration before "
                       "end (P7D = the 7 days before end)")
    span = parse_duration(start)
    begin = stop - span if span is not None else parse_instant(start, "start")
    if begin >= stop:
        raise KitError(f"start ({begin:%Y-%m-%d %H:%M:%S}) must be before end ({stop:%Y-%m-%d %H:%M:%S} UTC)")
    return begin, stop


def kql_time(value: dt.datetime) -> str:
    return f"datetime({value:%Y-%m-%dT%H:%M:%S.%fZ})"


def iso(value: dt.datetime) -> str:
    return f"{value:%Y-%m-%dT%H:%M:%S.%f}".rstrip("0").rstrip(".") + "Z"


def step_for(span: dt.timedelta) -> dt.timedelta:
    return next((s for s in STEPS if span / s <= MAX_BINS), STEPS[-1])


async def plan(count: Counter, start: dt.datetime, end: dt.datetime, max_rows: int) -> list[Slice]:
    """Slices of ``[start, end)``, each holding at most ``max_rows`` of the rows counted (unless one second
    alone holds more: such a slice is split further when it is fetched). They are contiguous, so that rows
    ingested after the count still fall in exactly one slice; none when the window holds no rows."""
    found = await _slices(count, start, end, max_rows)
    return [Slice(found[i - 1].end if i else start, end if i == len(found) - 1 else s.end, s.rows)
            for i, s in enumerate(found)]


async def _slices(count: Counter, start: dt.datetime, end: dt.datetime, max_rows: int) -> list[Slice]:
    step = step_for(end - start)
    out: list[Slice] = []
    current: Slice | None = None
    for bin_start, rows in await count(start, end, step):
        lo, hi = max(bin_start, start), min(bin_start + step, end)  # the service's bin: no alignment assumed
        if rows > max_rows:
            if current is not None:
                out.append(current)
                current = None
            finer = step > STEPS[0] and hi - lo > STEPS[0]
            out += await _slices(count, lo, hi, max_rows) if finer else [Slice(lo, hi, rows)]
        elif current is not None and current.rows + rows <= max_rows:
            current = Slice(current.start, hi, current.rows + rows)
        else:
            if current is not None:
                out.append(current)
            current = Slice(lo, hi, rows)
    if current is not None:
        out.append(current)
    return out
