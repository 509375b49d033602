"""Traffic statistics per target tenant: requests served and the most requests in flight at once.

Lets clients' tests check, without timing anything, that they bound their concurrency per tenant
(e.g. "never more than 4 requests at a time to one customer") while the emulator injects latency.
Plain state, like ``faults``: ``middleware.TrafficMiddleware`` does the counting.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


class TrafficStats:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()

    def started(self, key: str) -> None:
        self.requests[key] += 1
        self.in_flight[key] += 1
        self.max_in_flight[key] = max(self.max_in_flight[key], self.in_flight[key])

    def finished(self, key: str) -> None:
        self.in_flight[key] -= 1

    def reset(self) -> None:
        self.requests.clear()
        self.max_in_flight.clear()
        self.max_in_flight.update({k: v for k, v in self.in_flight.items() if v})

    def to_json(self) -> dict[str, Any]:
        return {"requests": dict(self.requests), "max_in_flight": dict(self.max_in_flight)}
