"""Traffic statistics per target tenant: requests served and the most requests in flight at once.

Lets clients' tests check, without timing anything, that they bound their concurrency per tenant
(e.g. "never more than 4 requests at a time to one customer") while the emulator injects latency.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .faults import service_of, target_tenant
from .runtime import Runtime


class TrafficStats:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()

    def reset(self) -> None:
        self.requests.clear()
        self.max_in_flight.clear()
        self.max_in_flight.update({k: v for k, v in self.in_flight.items() if v})

    def to_json(self) -> dict[str, Any]:
        return {"requests": dict(self.requests), "max_in_flight": dict(self.max_in_flight)}


class TrafficMiddleware:
    """Counts every request (except the admin API) under the short name of the tenant it targets."""

    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        service = service_of(path)
        tenant_id = target_tenant(self.rt, path, service)
        tenant = self.rt.store.world.tenant(tenant_id) if tenant_id else None
        key = f"{service}:{tenant.name if tenant else '-'}"
        stats = self.rt.traffic
        stats.requests[key] += 1
        stats.in_flight[key] += 1
        stats.max_in_flight[key] = max(stats.max_in_flight[key], stats.in_flight[key])
        try:
            await self.app(scope, receive, send)
        finally:
            stats.in_flight[key] -= 1
