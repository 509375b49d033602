"""``incident_list``'s pages over many workspaces: each workspace is asked for its share of a page of
incidents, filtered and ordered by Sentinel (``$filter``, ``$orderby``, ``$top``), the answers are merged,
those whose rows could still fill the page are read on, and the cursor says where each workspace stopped, so
the next page continues there.

What a page costs does not grow with the incidents the workspaces hold: a workspace is read from where it
stopped (its page's ``$skipToken`` and ``$top``, and how many rows of that page were shown), at most
``limit`` rows, in one request (two when it stopped inside a page that is not its first, or when it is read
on); workspaces none of whose incidents were shown are asked for their first rows again. Nor does it grow
much with the number of workspaces: over many, each is first asked for a few rows (``first_read``), and
only the few whose last row is still among the page's best are asked for more. While the answers arrive,
only the best ``limit`` rows are kept (a bounded heap).
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from sentinelkit import Kit, KitError, Targets, Workspace

from .access import api, collection
from .model import SEVERITY_RANK, row

#: the most incidents Sentinel answers in one page
MAX_TOP = 1000
#: the fewest rows the first round asks of a workspace (see ``first_read``)
FIRST_READ_MIN = 4

#: a workspace's place in its ordered stream: (``$skipToken`` of the server page it is in, the ``$top`` that
#: page was asked with, rows of that page already shown); a ``None`` token: the stream's start (any ``$top``)
Place = tuple[str | None, int, int]
START: Place = (None, 0, 0)
_SKIP_TOKEN = re.compile(r"[?&](?:\$|%24)skiptoken=([^&#]*)", re.IGNORECASE)


@dataclass
class Cursor:
    """Where each workspace stopped. Only workspaces that moved are named: by their index among the targets'
    ids (sorted), which ``targets`` (a digest) pins, with the filter and order (``query``). ``at`` is when the
    first page was asked (epoch seconds): relative times in the filter (``P7D``) mean the same on every page."""

    query: str
    targets: str
    shown: int = 0
    places: dict[int, Place] = field(default_factory=dict)
    done: set[int] = field(default_factory=set)
    at: int = 0

    def encode(self) -> str:
        bits = 0
        for i in self.done:
            bits |= 1 << i
        payload = {"q": self.query, "w": self.targets, "n": self.shown,
                   "p": [[i, *place] for i, place in sorted(self.places.items())],
                   "d": format(bits, "x"), "t": self.at}
        return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, query: str, targets: str) -> Cursor:
        try:
            raw = _payload(text)
            bits = int(raw["d"], 16)
            cursor = cls(str(raw["q"]), str(raw["w"]), int(raw["n"]),
                         {int(i): (token, int(top), int(skip)) for i, token, top, skip in raw["p"]},
                         {i for i in range(bits.bit_length()) if bits >> i & 1}, int(raw.get("t", 0)))
        except (ValueError, KeyError, TypeError) as exc:
            raise KitError(f"cursor {text[:40]!r} is not valid: pass the next_cursor of the previous answer, or omit "
                           "it to start from the first page") from exc
        if cursor.shown < 0 or any(min(i, top, skip) < 0 for i, (_, top, skip) in cursor.places.items()):
            raise KitError(f"cursor {text[:40]!r} points before the first item: pass the next_cursor of the previous "
                           "answer, or omit it to start from the first page")
        if cursor.query != query:
            raise KitError("this cursor belongs to another listing (other filters or order): repeat the call with "
                           "the same filters and order, or omit the cursor to start from the first page")
        if cursor.targets != targets:
            raise KitError("the workspaces of this listing changed since its first page (discovery found others): "
                           "omit the cursor to start again from the first page")
        return cursor


def _payload(text: str) -> Any:
    """What a cursor carries (its base64 padding restored); raises ``ValueError`` when it is not a cursor."""
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def listing_time(cursor: str | None) -> datetime:
    """When the listing began: now for a first page, the first page's time for the next ones (so a filter's
    ``P7D`` resolves to the same time on every page and the cursor's filter still matches). An unreadable
    cursor gives now; ``Cursor.decode`` then says what is wrong with it."""
    if cursor:
        try:
            at = int(_payload(cursor)["t"])
            if at > 0:  # 0: a cursor that did not record it
                return datetime.fromtimestamp(at, UTC)
        except (ValueError, KeyError, TypeError, OverflowError, OSError):
            pass
    return datetime.now(UTC).replace(microsecond=0)


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:12]


def sort_key(order: str) -> tuple[str, bool]:
    """(row field, descending) of a ``$orderby`` clause."""
    path, direction = order.split()
    name = {"properties/createdTimeUtc": "created", "properties/lastModifiedTimeUtc": "updated",
            "properties/severity": "severity", "properties/incidentNumber": "number",
            "properties/title": "title"}[path]
    return name, direction == "desc"


def _value(r: dict[str, Any], name: str) -> Any:
    value = r.get(name)
    if name == "severity":
        return SEVERITY_RANK.get(value or "", -1)
    if name == "title":
        return (value or "").lower()
    if name in ("created", "updated"):
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            return float("-inf")
    return value if value is not None else -1


class _Ranked:
    """A row's place in the merged order (its value, then its workspace, then its place in that workspace's
    stream); compares "worse" as smaller, so that a heap's top is the row to drop first."""

    __slots__ = ("value", "ws", "pos", "desc", "row")

    def __init__(self, value: Any, ws: int, pos: int, desc: bool, r: dict[str, Any]) -> None:
        self.value, self.ws, self.pos, self.desc, self.row = value, ws, pos, desc, r

    def before(self, other: _Ranked) -> bool:
        """Whether this row comes first in the answer."""
        if self.value != other.value:
            return bool(self.value > other.value) if self.desc else bool(self.value < other.value)
        return (self.ws, self.pos) < (other.ws, other.pos)

    def __lt__(self, other: _Ranked) -> bool:
        return other.before(self)


@dataclass
class _Read:
    """What one workspace answered: where it started, the server pages read (their ``$skipToken`` and length)
    and the ``$skipToken`` after the last of them (None: its stream ended there)."""

    start: Place
    pages: list[tuple[str | None, int, int]] = field(default_factory=list)  # ($skipToken, $top, rows)
    more: str | None = None
    top: int = 0
    read: int = 0
    """Rows read past ``start`` (all of them kept when it stopped)."""
    stopped: bool = False
    """A row read was not kept: nothing after it can be on this page."""


def _token(next_link: str | None) -> str | None:
    """The ``$skipToken`` of a ``nextLink`` (found directly: parsing the whole query, filter included, cost a
    listing over 1,000 workspaces a twentieth of its CPU)."""
    if not next_link:
        return None
    found = _SKIP_TOKEN.search(next_link)
    if not found:
        raise KitError("Sentinel answered a page of incidents whose nextLink has no $skipToken; this listing cannot "
                       "continue from it")
    return unquote_plus(found.group(1))


@dataclass
class Merged:
    """A page's rows in order (``rows``), per-workspace ``errors``, and the cursor after them (``after``)."""

    shown: list[_Ranked]
    errors: dict[str, str]
    state: Cursor
    reads: dict[int, _Read]
    targets: int

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [r.row for r in self.shown]

    def after(self, count: int) -> tuple[str | None, int | None]:
        """The next page's cursor once the first ``count`` rows were shown (None at the end), and the total
        (known only at the end)."""
        shown = self.shown[:count]
        state = self.state
        nxt = Cursor(state.query, state.targets, state.shown + len(shown), dict(state.places), set(state.done),
                     state.at)
        for i, read in self.reads.items():
            place = _advance(read, sum(1 for r in shown if r.ws == i))
            if place is None:
                nxt.done.add(i)
                nxt.places.pop(i, None)
            elif place[0] is not None or place[2]:  # (None, any $top, 0) is the stream's start
                nxt.places[i] = place
        if len(nxt.done) == self.targets:
            return None, nxt.shown
        return nxt.encode(), None


def first_read(limit: int, targets: int) -> int:
    """Rows the first round asks of each workspace starting a stream: a share of the page (three times an
    even share, at least ``FIRST_READ_MIN``), not the whole page: over 1,000 workspaces a 25-row page then
    reads 4 rows from each instead of 25. Workspaces whose rows could still fill the page are read on in a
    second round."""
    return min(limit, max(FIRST_READ_MIN, math.ceil(3 * limit / max(targets, 1))))


async def page_incidents(kit: Kit, chosen: Targets, odata: str | None, order: str, *, limit: int,
                         cursor: str | None, began: datetime) -> Merged:
    """Up to ``limit`` incidents of ``chosen`` in ``order``, from where ``cursor`` left each workspace;
    ``began`` is the listing's time (``listing_time``), which ``odata``'s relative times were resolved at.

    Round one asks each workspace for its share of the page (``first_read``); round two reads on only in
    the workspaces whose last row read is still among the best ``limit`` (their next rows might be too):
    one more request each, from the start of their stream with the whole page's ``$top``."""
    ids = sorted(ws.id.lower() for ws in chosen)
    index = {ws_id: i for i, ws_id in enumerate(ids)}
    query, targets = digest(odata, order), digest(ids)
    state = Cursor.decode(cursor, query, targets) if cursor else Cursor(query, targets, at=int(began.timestamp()))
    name, desc = sort_key(order)
    best: list[_Ranked] = []  # the best ``limit`` rows so far; its top is the worst of them
    reads: dict[int, _Read] = {}
    last: dict[int, _Ranked] = {}  # each workspace's last row kept
    params: dict[str, Any] = {"$orderby": order}
    if odata:
        params["$filter"] = odata
    share = first_read(limit, len(ids) - len(state.done))

    def keep(ranked: _Ranked) -> bool:
        """Keep ``ranked`` among the best; False when it comes after all of them (so do the workspace's next)."""
        if len(best) < limit:
            heapq.heappush(best, ranked)
        elif best[0].before(ranked):
            return False
        else:
            heapq.heapreplace(best, ranked)
        last[ranked.ws] = ranked
        return True

    async def read_stream(ws: Workspace, i: int, token: str | None, top: int, skip: int, pos: int, want: int) -> None:
        """Read ``ws``'s stream from page (``token``, ``top``), past its first ``skip`` rows, numbering rows from
        ``pos``, until ``want`` rows were read, a row is not kept or the stream ends."""
        read = reads[i]
        read.top = top
        while True:
            data = await kit.arm(ws).get(collection(ws), api(), cache=False,
                                         params={**params, "$top": top, **({"$skipToken": token} if token else {})},
                                         where=ws.where(resource="incidents", operation="list"))
            items = list(data.get("value") or [])
            read.pages.append((token, top, len(items)))
            read.more = token = _token(data.get("nextLink"))
            for inc in items[skip:]:
                r = row(inc, ws)
                if not keep(_Ranked(_value(r, name), i, pos, desc, r)):
                    read.stopped = True
                    return
                pos += 1
            skip = 0
            if token is None or pos >= want:
                read.read = pos
                return

    async def read_first(ws: Workspace) -> None:
        i = index[ws.id.lower()]
        if i in state.done:
            return
        reads[i] = _Read(state.places.get(i, START))
        token, top, skip = reads[i].start
        if token is None:  # from the start: one request reads past the rows already shown
            await read_stream(ws, i, None, min(MAX_TOP, skip + share), skip, 0, share)
        else:
            await read_stream(ws, i, token, top, skip, 0, limit)

    async def read_on(ws: Workspace) -> None:
        i = index[ws.id.lower()]
        r = reads[i]
        skip = r.start[2]
        if len(r.pages) == 1 and r.pages[0][0] is None:  # the same request with the whole page's $top
            r.pages, r.more = [], None
            await read_stream(ws, i, None, min(MAX_TOP, skip + limit), skip + r.read, r.read, limit)
        else:
            await read_stream(ws, i, r.more, r.top, 0, r.read, limit)

    done = await kit.fan_out(chosen, read_first, label="workspaces")
    failed = {index[ws.id.lower()] for ws, _ in done.errors}

    def needs_more(ws: Workspace) -> bool:
        i = index[ws.id.lower()]
        r = reads.get(i)
        if r is None or i in failed or r.stopped or r.more is None or r.read >= limit:
            return False
        return len(best) < limit or i in last and not best[0].before(last[i])

    second = [ws for ws in chosen if needs_more(ws)]
    if second:
        again = await kit.fan_out(second, read_on, label="workspaces read on", progress=False)
        failed |= {index[ws.id.lower()] for ws, _ in again.errors}
        errors = {**done.error_messages(), **{done.key(ws): str(exc) for ws, exc in again.errors}}
    else:
        errors = done.error_messages()
    for i in failed:  # reported on this page, and left out of the following ones (a new listing tries again)
        reads[i] = _Read(START)
    ranked = sorted((r for r in best if r.ws not in failed), reverse=True)  # best first
    return Merged(_prefixes(ranked), errors, state, reads, len(ids))


def _prefixes(ranked: list[_Ranked]) -> list[_Ranked]:
    """The rows in order, each workspace's only as far as they follow its own stream without a gap (Sentinel
    orders each workspace; a row it placed after one this page leaves out waits for the next page)."""
    expected: dict[int, int] = {}
    out = []
    for r in ranked:
        if r.pos == expected.get(r.ws, 0):
            expected[r.ws] = r.pos + 1
            out.append(r)
    return out


def _advance(read: _Read, taken: int) -> Place | None:
    """Where a workspace stands once ``taken`` more of its rows were shown; ``None`` once it has no more."""
    left = read.start[2] + taken
    for page_token, top, length in read.pages:
        if left < length:
            return page_token, top, left
        left -= length
    return (read.more, read.top, 0) if read.more is not None else None
