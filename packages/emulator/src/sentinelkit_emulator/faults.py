"""Fault injection: latency, throttling (429 + Retry-After), 5xx and hangs, by route, tenant and count.

Faults are matched per request against the path (a regular expression searched in it), the
method, the service (``arm``, ``logs``, ``identity``) and the tenant that owns the target (the
subscription's or workspace's tenant, or the tenant in a token URL: with Lighthouse every token
comes from the managing tenant, so the *target's* tenant is what "this customer is down" means).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .runtime import Runtime

_STATUS_CODES = {
    429: ("TooManyRequests", "The request is being throttled. Retry after the interval in the Retry-After header."),
    500: ("InternalServerError", "Encountered internal server error. Please try again."),
    502: ("BadGateway", "The gateway did not receive a valid response from the upstream server."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please try again later."),
    504: ("GatewayTimeout", "The gateway did not receive a response within the specified time period."),
}


@dataclass
class Fault:
    """One injected fault. ``count`` is how many more requests it applies to (None: until removed)."""

    path: str | None = None
    method: str | None = None
    service: str | None = None
    tenant: str | None = None
    latency_ms: int = 0
    status: int | None = None
    retry_after: float | None = None
    hang_seconds: float | None = None
    message: str | None = None
    count: int | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    hits: int = 0

    def __post_init__(self) -> None:
        if self.path is not None:
            try:
                re.compile(self.path)
            except re.error as exc:
                raise ValueError(f"path is not a valid regular expression: {exc}") from exc
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if self.service is not None and self.service not in ("arm", "logs", "identity"):
            raise ValueError("service must be one of arm, logs, identity")
        if not (self.latency_ms or self.status or self.hang_seconds):
            raise ValueError("a fault needs latency_ms, status or hang_seconds")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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

    def take(self, method: str, path: str, service: str, tenant_id: str | None, tenant_names: set[str]) -> list[Fault]:
        """The faults that apply to this request; each one's count is consumed."""
        matched = []
        for fault in self.faults:
            if fault.method and fault.method.upper() != method:
                continue
            if fault.service and fault.service != service:
                continue
            if fault.path and not re.search(fault.path, path, re.IGNORECASE):
                continue
            if fault.tenant and fault.tenant.lower() not in tenant_names:
                continue
            if fault.count is not None:
                if fault.count <= 0:
                    continue
                fault.count -= 1
            fault.hits += 1
            matched.append(fault)
        self.faults = [f for f in self.faults if f.count is None or f.count > 0]
        return matched


def service_of(path: str) -> str:
    if path.startswith("/v1/"):
        return "logs"
    if re.match(r"^/[^/]+/(oauth2|v2\.0|discovery|\.well-known)/", path):
        return "identity"
    return "arm"


def target_tenant(rt: Runtime, path: str, service: str) -> str | None:
    """The tenant that owns what the request addresses."""
    world = rt.store.world
    if service == "identity":
        tenant = world.tenant(path.split("/")[1])
        return tenant.id if tenant else None
    if service == "logs":
        m = re.match(r"^/v1/workspaces/([^/]+)", path)
        return _workspace_tenants(rt).get(m.group(1).lower()) if m else None
    m = re.match(r"^/subscriptions/([^/]+)", path, re.IGNORECASE)
    if m:
        sub = world.subscription(m.group(1))
        return sub.tenant_id if sub else None
    return None


def _workspace_tenants(rt: Runtime) -> dict[str, str]:
    """customerId (lower) -> owning tenant id, rebuilt when the store changes."""
    cached = rt.caches.get("workspace_tenants")
    if cached is not None and cached[0] is rt.store and cached[1] == rt.store.version:
        return cached[2]
    mapping: dict[str, str] = {}
    for res in rt.store.all():
        if res.get("type") == "Microsoft.OperationalInsights/workspaces":
            sub = rt.store.world.subscription(res["id"].split("/")[2])
            customer_id = str(res.get("properties", {}).get("customerId", "")).lower()
            if sub and customer_id:
                mapping[customer_id] = sub.tenant_id
    rt.caches["workspace_tenants"] = (rt.store, rt.store.version, mapping)
    return mapping


class FaultMiddleware:
    """ASGI middleware applying the fault book to every request except the admin API."""

    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator") or not self.rt.faults.faults:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        service = service_of(path)
        tenant_id = target_tenant(self.rt, path, service)
        names: set[str] = set()
        if tenant_id:
            tenant = self.rt.store.world.tenant(tenant_id)
            if tenant:
                names = {tenant.id.lower(), tenant.name.lower(), tenant.domain.lower()}
        faults = self.rt.faults.take(scope["method"], path, service, tenant_id, names)
        latency = sum(f.latency_ms for f in faults)
        if latency:
            await asyncio.sleep(latency / 1000)
        failing = next((f for f in faults if f.status or f.hang_seconds), None)
        if failing is None:
            await self.app(scope, receive, send)
            return
        if failing.hang_seconds:
            await asyncio.sleep(failing.hang_seconds)
        status = failing.status or 504
        await _send_error(send, service, status, failing)


async def _send_error(send: Send, service: str, status: int, fault: Fault) -> None:
    code, default_message = _STATUS_CODES.get(status, ("InjectedFault", "Injected fault."))
    message = fault.message or default_message
    if service == "identity":
        body: dict[str, Any] = {"error": "temporarily_unavailable", "error_description": f"AADSTS90033: {message}"}
    else:
        body = {"error": {"code": code, "message": message}}
    headers = [(b"content-type", b"application/json; charset=utf-8")]
    if fault.retry_after is not None:
        headers.append((b"retry-after", str(fault.retry_after).removesuffix(".0").encode()))
    payload = json.dumps(body).encode()
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
