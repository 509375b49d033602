"""What a fault is: the requests it matches, what it does to them, and the book of active faults.

A fault matches a request by path (a regular expression searched in it), method, service (``arm``,
``logs``, ``identity``, ``ingestion``) and the tenant that owns the target (with Lighthouse every token comes from
the managing tenant, so the *target's* tenant is what "this customer is down" means). Of the
matching requests it takes a ``fraction`` (drawn from a seeded generator when ``seed`` is given, so
tests replay the same pattern), at most ``count`` of them and only for ``duration_seconds`` after
the first match. What it does: ``latency_ms`` before the request; instead of the service's answer,
an error ``status`` (429 with ``Retry-After``) or a hang; or, after the service has done the work
(a write takes effect), a lost answer: the connection is reset (``drop_response``) or the answer
comes ``delay_response_seconds`` late.

Dependency direction (no cycles): this module and ``traffic`` are plain state and import nothing of
the emulator; ``runtime`` holds them; ``targets`` tells a request's service and owning tenant from
the runtime's store; ``middleware`` applies the book to requests and counts traffic; ``app`` stacks
the layers.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

SERVICES = ("arm", "logs", "identity", "ingestion")
MATCH_FIELDS = ("path", "method", "service", "tenant")

#: field -> (accepted JSON types, what the value must be), for clear errors on bad definitions
_FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "path": ((str,), "a regular expression"),
    "method": ((str,), "an HTTP method such as PUT"),
    "service": ((str,), "one of " + ", ".join(SERVICES)),
    "tenant": ((str,), "a tenant id, short name or domain"),
    "fraction": ((int, float), "a number above 0 and at most 1"),
    "seed": ((int,), "an integer"),
    "count": ((int,), "an integer of at least 1"),
    "duration_seconds": ((int, float), "a number of seconds above 0"),
    "latency_ms": ((int,), "an integer number of milliseconds, 0 or more"),
    "status": ((int,), "an HTTP error status (400-599)"),
    "retry_after": ((int, float), "a number of seconds, 0 or more"),
    "hang_seconds": ((int, float), "a number of seconds above 0"),
    "message": ((str,), "a text"),
    "drop_response": ((bool,), "true or false"),
    "delay_response_seconds": ((int, float), "a number of seconds above 0"),
}


@dataclass
class Fault:
    """One injected fault; build it from the admin API's JSON with :meth:`from_json`."""

    # which requests
    path: str | None = None
    method: str | None = None
    service: str | None = None
    tenant: str | None = None
    # which of them, how many, for how long
    fraction: float = 1.0
    seed: int | None = None
    count: int | None = None  # how many more requests it applies to (None: until removed)
    duration_seconds: float | None = None  # counted from the first matching request
    # what it does
    latency_ms: int = 0
    status: int | None = None
    retry_after: float | None = None
    hang_seconds: float | None = None
    message: str | None = None
    drop_response: bool = False
    delay_response_seconds: float | None = None
    # identity and statistics
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12], init=False)
    matched: int = field(default=0, init=False)  # requests that matched
    hits: int = field(default=0, init=False)  # requests it was applied to
    started: float | None = field(default=None, init=False, repr=False)  # monotonic time of the first match
    _draw: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.path is not None:
            try:
                re.compile(self.path)
            except re.error as exc:
                raise ValueError(f"path is not a valid regular expression: {exc}") from exc
        if self.method is not None:
            if not self.method.isalpha():
                raise ValueError(f"method must be an HTTP method such as PUT, not {self.method!r}")
            self.method = self.method.upper()
        if self.service is not None and self.service not in SERVICES:
            raise ValueError(f"service must be one of {', '.join(SERVICES)}, not {self.service!r}")
        self._check_ranges()
        self._check_effects()
        self._draw = random.Random(self.seed)

    def _check_ranges(self) -> None:
        if not 0 < self.fraction <= 1:
            raise ValueError(f"fraction must be above 0 and at most 1, not {self.fraction!r}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (omit it for a fault that lasts until removed)")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be 0 or more")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must be 0 or more seconds")
        for name in ("duration_seconds", "hang_seconds", "delay_response_seconds"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be above 0 seconds")

    def _check_effects(self) -> None:
        answers = self.status is not None or self.hang_seconds is not None
        loses = self.drop_response or self.delay_response_seconds is not None
        if not (self.latency_ms or answers or loses):
            raise ValueError(
                "a fault needs an effect: latency_ms, status, hang_seconds, drop_response or delay_response_seconds"
            )
        if answers and loses:
            raise ValueError(
                "status/hang_seconds answer instead of the service, drop_response/delay_response_seconds lose "
                "the service's answer: a fault does one or the other (add two faults for both)"
            )
        if self.drop_response and self.delay_response_seconds is not None:
            raise ValueError("drop_response and delay_response_seconds exclude each other: the answer is lost or late")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """A fault from ``{"match": {...}, effect fields...}`` (match fields may also stand at the top)."""
        data = dict(data)
        match = data.pop("match", None) or {}
        if not isinstance(match, dict):
            raise ValueError("match must be an object with some of: " + ", ".join(MATCH_FIELDS))
        unknown = sorted(k for k in match if k not in MATCH_FIELDS)
        if unknown:
            raise ValueError(f"unknown match field(s) {', '.join(unknown)}; known: {', '.join(MATCH_FIELDS)}")
        both = sorted(set(match) & set(data))
        if both:
            raise ValueError(f"{', '.join(both)} given both in match and at the top; give each once")
        fields = {**match, **data}
        unknown = sorted(k for k in fields if k not in _FIELD_TYPES)
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(_FIELD_TYPES)}")
        given = {name: value for name, value in fields.items() if value is not None}  # null: the default
        for name, value in given.items():
            types, meaning = _FIELD_TYPES[name]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise ValueError(f"{name} must be {meaning}, not {value!r}")
        return cls(**given)

    def matches(self, method: str, path: str, service: str, tenant_names: Set[str]) -> bool:
        return (
            (self.method is None or self.method == method)
            and (self.service is None or self.service == service)
            and (self.path is None or re.search(self.path, path, re.IGNORECASE) is not None)
            and (self.tenant is None or self.tenant.lower() in tenant_names)
        )

    def expires_in(self, now: float) -> float | None:
        """Seconds left of ``duration_seconds`` (all of it before the first match); None without one."""
        if self.duration_seconds is None:
            return None
        if self.started is None:
            return self.duration_seconds
        return max(0.0, self.started + self.duration_seconds - now)

    def ended(self, now: float) -> bool:
        return self.count == 0 or self.expires_in(now) == 0.0

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in _FIELD_TYPES}
        left = self.expires_in(time.monotonic() if now is None else now)
        out.update(id=self.id, matched=self.matched, hits=self.hits,
                   expires_in_seconds=None if left is None else round(left, 3))
        return out


@dataclass
class Effects:
    """What the matching faults do to one request, combined."""

    latency_ms: int = 0
    #: answers an error (status or hang) instead of the service
    answer: Fault | None = None
    #: lets the service do the work, then loses its answer (drop or delay)
    loss: Fault | None = None


class FaultBook:
    """The active faults of one emulator."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def remove(self, fault_id: str) -> bool:
        before = len(self.faults)
        self.faults = [f for f in self.faults if f.id != fault_id]
        return len(self.faults) != before

    def active(self) -> list[Fault]:
        """The faults still in force (those used up or expired are dropped first)."""
        self._prune(time.monotonic())
        return list(self.faults)

    def take(self, method: str, path: str, service: str, tenant_names: Set[str]) -> Effects:
        """Apply the book to one request: update each matching fault's statistics and say what happens."""
        now = time.monotonic()
        self._prune(now)
        effects = Effects()
        for fault in self.faults:
            if not fault.matches(method, path, service, tenant_names):
                continue
            fault.matched += 1
            if fault.started is None:
                fault.started = now
            if fault.fraction < 1 and fault._draw.random() >= fault.fraction:
                continue
            fault.hits += 1
            if fault.count is not None:
                fault.count -= 1
            effects.latency_ms += fault.latency_ms
            if effects.answer is None and (fault.status is not None or fault.hang_seconds is not None):
                effects.answer = fault
            if effects.loss is None and (fault.drop_response or fault.delay_response_seconds is not None):
                effects.loss = fault
        self._prune(now)
        return effects

    def _prune(self, now: float) -> None:
        if any(f.ended(now) for f in self.faults):
            self.faults = [f for f in self.faults if not f.ended(now)]
