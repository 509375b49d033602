"""The ASGI layers that count and disturb requests before the app sees them (not the admin API).

``app`` stacks them as ``ConnectionHandle(RequestIdMiddleware(TrafficMiddleware(FaultMiddleware(app))))``:
traffic counts requests held by injected latency, and injected errors still carry ARM's request ids.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults import Fault
from .runtime import Runtime
from .targets import target_of
from .traffic import TrafficStats

_RESET_KEY = "sentinelkit.reset_connection"

_STATUS_CODES = {
    429: ("TooManyRequests", "The request is being throttled. Retry after the interval in the Retry-After header."),
    500: ("InternalServerError", "Encountered internal server error. Please try again."),
    502: ("BadGateway", "The gateway did not receive a valid response from the upstream server."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please try again later."),
    504: ("GatewayTimeout", "The gateway did not receive a response within the specified time period."),
}


def _is_traced(scope: Scope) -> bool:
    return scope["type"] == "http" and not scope["path"].startswith("/_emulator")


class ConnectionHandle:
    """Puts a way to reset the request's connection into its scope, for lost answers.

    ASGI gives an app no way to drop a connection without answering. uvicorn's ``send`` is a method
    of its request cycle, which holds the connection's transport: this outermost layer, which gets
    that ``send`` unwrapped, takes the transport from it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if _is_traced(scope) and isinstance(transport, asyncio.WriteTransport):
            scope[_RESET_KEY] = lambda: _reset(transport)
        await self.app(scope, receive, send)


def _reset(transport: asyncio.WriteTransport) -> None:
    """Close at once with a TCP reset (SO_LINGER 0): what a client sees when a network drops its answer."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class TrafficMiddleware:
    """Counts every request under ``service:tenant`` (the short name of the tenant it targets)."""

    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_traced(scope):
            await self.app(scope, receive, send)
            return
        target = target_of(self.rt, scope)
        key = f"{target.service}:{target.tenant.name if target.tenant else '-'}"
        stats = self.rt.traffic
        stats.started(key)
        if target.service == "arm":
            _record_api_version(stats, scope)
        try:
            await self.app(scope, receive, send)
        finally:
            stats.finished(key)


def _record_api_version(stats: TrafficStats, scope: Scope) -> None:
    version = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("api-version", [""])[0]
    if not version:
        return
    agent = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"user-agent"), "")
    client = agent.split(" ", 1)[0].split("/", 1)[0] or "unknown"
    stats.called(client, scope["path"], version)


class FaultMiddleware:
    """Applies the fault book to every request."""

    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_traced(scope) or not self.rt.faults.faults:
            await self.app(scope, receive, send)
            return
        target = target_of(self.rt, scope)
        effects = self.rt.faults.take(scope["method"], scope["path"], target.service, target.names)
        if effects.latency_ms:
            await asyncio.sleep(effects.latency_ms / 1000)
        if effects.answer is not None:
            if effects.answer.hang_seconds:
                await asyncio.sleep(effects.answer.hang_seconds)
            await _send_error(send, target.service, effects.answer)
        elif effects.loss is not None:
            await self._lose_answer(scope, receive, send, effects.loss)
        else:
            await self.app(scope, receive, send)

    async def _lose_answer(self, scope: Scope, receive: Receive, send: Send, fault: Fault) -> None:
        """Let the app do the work (a write takes effect), then drop its answer or send it late."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        if fault.drop_response:
            reset: Callable[[], None] | None = scope.get(_RESET_KEY)
            if reset is None:
                raise RuntimeError("drop_response needs the connection's transport, which only uvicorn gives")
            reset()
            # return once uvicorn has seen the connection go, or it complains that nothing was answered
            await asyncio.wait_for(_disconnected(receive), timeout=5)
            return
        assert fault.delay_response_seconds is not None
        await asyncio.sleep(fault.delay_response_seconds)
        for message in held:
            await send(message)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_error(send: Send, service: str, fault: Fault) -> None:
    status = fault.status or 504
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
