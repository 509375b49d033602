"""The service's own KPIs, with no external system: per tool and tenant, calls, success rate, error rate,
average, p50 and p95 latency, over the last hour and since start; thresholds (error rate above 5 %,
average response above 3 s, configurable) marked when breached. Also, per target tenant, Azure requests
by status, 429s and the time waited on Retry-After; the read cache's hit ratio; open confirmations.

A call counts once for the tool ("all tenants") and once per tenant it targeted: there it is an error if
the call failed or every workspace of that tenant failed, partial if some did. Outcomes: ``error`` and
``failed`` are errors; ``partial`` and ``refused`` (a policy's decision) neither success nor error; every
other outcome (answers, writes applied, previews, dry runs, declined confirmations) is a success.

``server_stats`` reads a runtime's ``Stats``; the server also writes them to ``<stats_dir>/<pid>.json``
(``StatsFile``), which ``sentinelkit stats`` reads: another process cannot ask a stdio server.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from .confirmations import OpenConfirmations

if TYPE_CHECKING:
    import asyncio

    from ..call import Outcome, ToolCall

SUCCESS = "success"
ERROR = "error"
PARTIAL = "partial"
ERROR_OUTCOMES = frozenset({"error", "failed"})
NEITHER_OUTCOMES = frozenset({"partial", "refused"})
#: the "last hour" window, in minutes kept
WINDOW_MINUTES = 60
_GAMMA = 1.02
_LOG_GAMMA = math.log(_GAMMA)
FORMAT_VERSION = 1


def result_of(outcome: str) -> str:
    if outcome in ERROR_OUTCOMES:
        return ERROR
    return PARTIAL if outcome in NEITHER_OUTCOMES else SUCCESS


class Sketch:
    """Latencies in logarithmic buckets (±1 % relative error): percentiles in bounded space, mergeable."""

    def __init__(self, buckets: dict[int, int] | None = None) -> None:
        self.buckets: dict[int, int] = buckets or {}

    def add(self, seconds: float) -> None:
        index = math.ceil(math.log(max(seconds * 1000.0, 0.001)) / _LOG_GAMMA)
        self.buckets[index] = self.buckets.get(index, 0) + 1

    def merge(self, other: Sketch) -> None:
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count

    def quantile_ms(self, q: float) -> float | None:
        """The ``q`` quantile (nearest rank) in milliseconds, ``None`` when empty."""
        total = sum(self.buckets.values())
        if not total:
            return None
        rank, seen = max(1, math.ceil(q * total)), 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return 2 * _GAMMA ** index / (_GAMMA + 1)
        return None  # pragma: no cover - the loop always reaches the rank


@dataclass
class Cell:
    """Tool calls of one key in one window."""

    calls: int = 0
    succeeded: int = 0
    errors: int = 0
    seconds: float = 0.0
    sketch: Sketch = field(default_factory=Sketch)

    def add(self, result: str, seconds: float) -> None:
        self.calls += 1
        self.succeeded += result == SUCCESS
        self.errors += result == ERROR
        self.seconds += seconds
        self.sketch.add(seconds)

    def merge(self, other: Cell) -> None:
        self.calls += other.calls
        self.succeeded += other.succeeded
        self.errors += other.errors
        self.seconds += other.seconds
        self.sketch.merge(other.sketch)

    def summary(self, thresholds: dict[str, float]) -> dict[str, Any]:
        if not self.calls:
            return {"calls": 0}
        error_rate = self.errors / self.calls
        average = self.seconds / self.calls
        breached = []
        if error_rate > thresholds["error_rate"]:
            breached.append("error_rate")
        if average > thresholds["avg_response_seconds"]:
            breached.append("avg_response")
        return {"calls": self.calls, "success_rate": round(self.succeeded / self.calls, 4),
                "error_rate": round(error_rate, 4), "avg_ms": round(average * 1000, 1),
                "p50_ms": _ms(self.sketch.quantile_ms(0.5)), "p95_ms": _ms(self.sketch.quantile_ms(0.95)),
                "breached": breached}

    def to_json(self) -> list[Any]:
        return [self.calls, self.succeeded, self.errors, self.seconds, {str(k): v for k, v in self.sketch.buckets.items()}]

    @classmethod
    def from_json(cls, data: list[Any]) -> Cell:
        calls, succeeded, errors, seconds, buckets = data
        return cls(int(calls), int(succeeded), int(errors), float(seconds),
                   Sketch({int(k): int(v) for k, v in buckets.items()}))


@dataclass
class AzureCell:
    """Azure request attempts towards one tenant in one window."""

    by_status: dict[int, int] = field(default_factory=dict)
    throttled: int = 0
    waited: float = 0.0

    def add(self, by_status: dict[int, int], throttled: int, waited: float) -> None:
        for status, count in by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + count
        self.throttled += throttled
        self.waited += waited

    def merge(self, other: AzureCell) -> None:
        self.add(other.by_status, other.throttled, other.waited)

    def summary(self) -> dict[str, Any]:
        return {"requests": sum(self.by_status.values()), "throttled": self.throttled,
                "retry_after_wait_seconds": round(self.waited, 3),
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())}}

    def to_json(self) -> list[Any]:
        return [{str(k): v for k, v in self.by_status.items()}, self.throttled, self.waited]

    @classmethod
    def from_json(cls, data: list[Any]) -> AzureCell:
        by_status, throttled, waited = data
        return cls({int(k): int(v) for k, v in by_status.items()}, int(throttled), float(waited))


class _Cell(Protocol):
    def merge(self, other: Any) -> None: ...


C = TypeVar("C", bound=_Cell)


class Windowed(Generic[C]):
    """A cell since start, and one per minute for the last hour."""

    def __init__(self, factory: Callable[[], C]) -> None:
        self.factory: Callable[[], C] = factory
        self.total: C = factory()
        self.minutes: dict[int, C] = {}

    def at(self, minute: int) -> Iterator[C]:
        """The cells to add to: since start, and this minute's (older minutes are dropped)."""
        if minute not in self.minutes:
            for old in [m for m in self.minutes if m <= minute - WINDOW_MINUTES]:
                del self.minutes[old]
            self.minutes[minute] = self.factory()
        yield self.total
        yield self.minutes[minute]

    def last_hour(self, minute: int) -> C:
        cell = self.factory()
        for m, part in self.minutes.items():
            if m > minute - WINDOW_MINUTES:
                cell.merge(part)
        return cell


class Stats:
    """The KPIs of one server (see the module docstring)."""

    def __init__(self, *, error_rate: float = 0.05, avg_response_seconds: float = 3.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.thresholds = {"error_rate": error_rate, "avg_response_seconds": avg_response_seconds}
        self._clock = clock
        self.started = clock()
        self.calls: dict[tuple[str, str, str | None], Windowed[Cell]] = {}
        self.azure: dict[str, Windowed[AzureCell]] = {}
        self.cache_hits = 0
        self.cache_misses = 0
        self.confirmations = OpenConfirmations()
        self.version = 0
        """Counts recordings: the stats file is written again only when it moved."""

    def record_call(self, call: ToolCall, outcome: Outcome, seconds: float) -> None:
        minute = int(self._clock() // 60)
        result = result_of(outcome)
        for tenant, tenant_result in [(None, result), *per_tenant(call, result).items()]:
            key = (call.tool, call.pack, tenant)
            if key not in self.calls:
                self.calls[key] = Windowed(Cell)
            for cell in self.calls[key].at(minute):
                cell.add(tenant_result, seconds)
        tally = call.tally
        for tenant, by_status in tally.requests.items():
            if tenant not in self.azure:
                self.azure[tenant] = Windowed(AzureCell)
            for azure in self.azure[tenant].at(minute):
                azure.add(by_status, tally.throttled.get(tenant, 0), tally.waited.get(tenant, 0.0))
        self.cache_hits += tally.cache_hits
        self.cache_misses += tally.cache_misses
        self.confirmations.update(call, outcome)
        self.version += 1

    def report(self, *, tool: str | None = None, tenant: str | None = None) -> dict[str, Any]:
        """The KPIs as ``server_stats`` and ``sentinelkit stats`` show them, optionally for one tool or tenant."""
        now = self._clock()
        minute = int(now // 60)
        rows: list[dict[str, Any]] = []
        for (name, pack, who), windowed in sorted(self.calls.items(), key=lambda kv: (kv[0][0], kv[0][2] or "")):
            if (tool and name != tool) or (tenant and who is not None and who.lower() != tenant.lower()):
                continue
            rows.append({"tool": name, "pack": pack, "tenant": who,
                         "last_hour": windowed.last_hour(minute).summary(self.thresholds),
                         "since_start": windowed.total.summary(self.thresholds)})
        breaches = [f"{row['tool']} ({row['tenant'] or 'all tenants'}), {window.replace('_', ' ')}: "
                    + ", ".join(_describe(b, row[window], self.thresholds) for b in row[window]["breached"])
                    for row in rows for window in ("last_hour", "since_start") if row[window].get("breached")]
        azure = [{"tenant": name, "last_hour": windowed.last_hour(minute).summary(),
                  "since_start": windowed.total.summary()}
                 for name, windowed in sorted(self.azure.items()) if not tenant or name.lower() == tenant.lower()]
        lookups = self.cache_hits + self.cache_misses
        return {"started": _iso(self.started), "uptime_seconds": round(now - self.started),
                "thresholds": dict(self.thresholds), "breaches": breaches, "tools": rows, "azure": azure,
                "cache": {"hits": self.cache_hits, "misses": self.cache_misses,
                          "hit_ratio": round(self.cache_hits / lookups, 4) if lookups else None},
                "confirmations_open": self.confirmations.count()}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION, "started": self.started, "thresholds": self.thresholds,
            "calls": [[tool, pack, tenant, w.total.to_json(), {str(m): c.to_json() for m, c in w.minutes.items()}]
                      for (tool, pack, tenant), w in self.calls.items()],
            "azure": [[tenant, w.total.to_json(), {str(m): c.to_json() for m, c in w.minutes.items()}]
                      for tenant, w in self.azure.items()],
            "cache": [self.cache_hits, self.cache_misses], "confirmations_open": self.confirmations.count(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], clock: Callable[[], float] = time.time) -> Stats:
        """Stats another process wrote (``StatsFile``), to report them here."""
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unknown stats format {data.get('format')!r}")
        stats = cls(**data["thresholds"], clock=clock)
        stats.started = float(data["started"])
        for tool, pack, tenant, total, minutes in data["calls"]:
            calls: Windowed[Cell] = Windowed(Cell)
            calls.total = Cell.from_json(total)
            calls.minutes = {int(m): Cell.from_json(c) for m, c in minutes.items()}
            stats.calls[(tool, pack, tenant)] = calls
        for tenant, total, minutes in data["azure"]:
            azure: Windowed[AzureCell] = Windowed(AzureCell)
            azure.total = AzureCell.from_json(total)
            azure.minutes = {int(m): AzureCell.from_json(c) for m, c in minutes.items()}
            stats.azure[tenant] = azure
        stats.cache_hits, stats.cache_misses = data["cache"]
        stats.confirmations.fixed = int(data["confirmations_open"])
        return stats


def per_tenant(call: ToolCall, result: str) -> dict[str | None, str]:
    """How the call went for each tenant it targeted (see the module docstring)."""
    targets: dict[str, int] = {}
    for ws in call.targets:
        targets[ws.tenant_label] = targets.get(ws.tenant_label, 0) + 1
    failed: dict[str, int] = {}
    for tenant, _ in call.failures:
        failed[tenant] = failed.get(tenant, 0) + 1
    out: dict[str | None, str] = {}
    for tenant in sorted({*targets, *failed}):
        if result == ERROR or (not failed):
            out[tenant] = result
        elif failed.get(tenant, 0) >= targets.get(tenant, 0):
            out[tenant] = ERROR
        else:
            out[tenant] = PARTIAL if failed.get(tenant) else SUCCESS
    return out


def _describe(breach: str, summary: dict[str, Any], thresholds: dict[str, float]) -> str:
    if breach == "error_rate":
        return f"error rate {summary['error_rate']:.1%} > {thresholds['error_rate']:.0%}"
    return f"average response {summary['avg_ms'] / 1000:.2f} s > {thresholds['avg_response_seconds']:g} s"


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- the stats file ----------------------------------------------------------------------------
class StatsFile:
    """Keeps ``<directory>/<pid>.json`` up to date for ``sentinelkit stats``: written at most every
    ``interval`` seconds after calls (nothing runs while the server is idle), removed when it stops."""

    def __init__(self, stats: Stats, directory: Path, *, interval: float, server: dict[str, Any]) -> None:
        self.stats = stats
        self.path = directory / f"{os.getpid()}.json"
        self.interval = interval
        self.server = server
        self._pending: asyncio.TimerHandle | None = None
        self._written = -1
        self.error: str | None = None

    def touch(self) -> None:
        """A call ended: write within ``interval`` seconds (on the running event loop)."""
        if self._pending is not None or self.error is not None:
            return
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.write()
            return
        self._pending = loop.call_later(self.interval, self._flush)

    def _flush(self) -> None:
        self._pending = None
        self.write()

    def write(self) -> None:
        if self.stats.version == self._written or self.error is not None:
            return
        data = {"server": {**self.server, "pid": os.getpid()}, "written": time.time(), "stats": self.stats.to_json()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, separators=(",", ":"))
            os.replace(temporary, self.path)
            self._written = self.stats.version
        except OSError as exc:  # the KPIs stay in server_stats; say once why the file is missing
            from ..log import logger

            self.error = f"{self.path}: {exc.strerror or exc}"
            logger().warning("stats_file_not_written", path=str(self.path), error=self.error,
                             hint="set [telemetry] stats_dir to a writable folder; server_stats still answers")

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        try:
            self.path.unlink()
        except OSError:
            pass


def running_servers(directory: Path) -> list[dict[str, Any]]:
    """The stats files of servers that are still running (their process exists), newest first."""
    found = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            pid = int(data["server"]["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _alive(pid):
            found.append(data)
    return sorted(found, key=lambda d: -float(d.get("written", 0)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
