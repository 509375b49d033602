"""Traffic statistics per target tenant: requests served and the most requests in flight at once; and
the api-versions each client called each ARM resource type at.

Lets clients' tests check, without timing anything, that they bound their concurrency per tenant
(e.g. "never more than 4 requests at a time to one customer") while the emulator injects latency, and
that one client never calls one resource type at two api-versions. Plain state, like ``faults``:
``middleware.TrafficMiddleware`` does the counting.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any


class TrafficStats:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        #: client (User-Agent product) → ARM resource type → api-versions it was called at
        self.api_versions: defaultdict[str, defaultdict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def called(self, client: str, path: str, api_version: str) -> None:
        """Record an ARM request's api-version under its client and resource type."""
        self.api_versions[client][resource_type(path)].add(api_version)

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
        self.api_versions.clear()

    def to_json(self) -> dict[str, Any]:
        return {"requests": dict(self.requests), "max_in_flight": dict(self.max_in_flight),
                "in_flight": {k: v for k, v in self.in_flight.items() if v},
                "api_versions": {client: {t: sorted(v) for t, v in sorted(types.items())}
                                 for client, types in self.api_versions.items()}}


def resource_type(path: str) -> str:
    """An ARM path's resource type, names dropped (``/subscriptions/s/resourceGroups/g/providers/NS/t/n/c/m``
    → ``NS/t/c``; a nested ``providers/NS2`` restarts it: extension resources are typed by their own provider)."""
    parts = [p for p in path.strip("/").split("/") if p]
    out: list[str] = []
    container = "/"
    i = 0
    while i < len(parts):
        low = parts[i].lower()
        if low in ("subscriptions", "resourcegroups", "tenants"):
            container = parts[i]
            i += 2
        elif low == "providers" and i + 1 < len(parts):
            out = [parts[i + 1]]
            i += 2
        else:
            out.append(parts[i])
            i += 2  # a type segment, then its name
    return "/".join(out) or container
