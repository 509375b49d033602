"""Serving streamable HTTP: uvicorn with read timeouts, idle MCP sessions closed, optional stateless mode.

uvicorn has a keep-alive timeout between requests but none while it waits for a request: a client that
opens a connection and sends half its headers (or a body shorter than its Content-Length) holds the
connection, and its memory, for ever. ``TimedH11Protocol`` gives a request ``header_timeout`` seconds for
its headers and ``body_timeout`` for its body, then closes the connection. MCP sessions left idle are
closed after ``[http] session_idle_timeout`` (the mcp SDK's ``session_idle_timeout``; its default is 30
minutes). ``[http] stateless = true`` keeps no session at all, for replicas behind a load balancer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .log import logger


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for reading each request (see the module docstring)."""

    header_timeout = 10.0
    body_timeout = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._read_timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Arm the deadline of the phase the request is in (headers, body), or none once it has arrived."""
        state = self.conn.their_state
        phase = "headers" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase == self._phase:
            return
        self._cancel()
        self._phase = phase
        if phase is not None:
            limit = self.header_timeout if phase == "headers" else self.body_timeout
            self._read_timer = self.loop.call_later(limit, self._expired, phase)

    def _cancel(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        self._phase = None

    def _expired(self, phase: str) -> None:
        self._read_timer = None
        if self._phase != phase or self.transport.is_closing():
            return
        if phase == "headers" and self.cycle is not None and not self.cycle.response_complete:
            self._phase = None  # between requests while a response is still being sent: not a slow client
            return
        logger().warning("http_client_too_slow", phase=phase, client=f"{self.client[0]}:{self.client[1]}"
                         if self.client else None, hint=f"no complete request {phase} in time; connection closed")
        self.transport.close()


def protocol(header_timeout: float, body_timeout: float) -> type[TimedH11Protocol]:
    """The protocol class uvicorn builds per connection, with these deadlines."""
    return type("TimedH11Protocol", (TimedH11Protocol,), {"header_timeout": header_timeout,
                                                          "body_timeout": body_timeout})


def run_http(mcp: Any, settings: Any, host: str, port: int, middleware: list[Any]) -> None:
    """``mcp`` on http://host:port/mcp until interrupted, with the read timeouts, the idle-session timeout and
    ``[http] stateless`` of ``settings``."""
    import fastmcp

    http = settings.http
    fastmcp.settings.http_session_idle_timeout = http.session_idle_timeout
    mcp.run(transport="http", host=host, port=port, show_banner=False, middleware=middleware,
            stateless_http=http.stateless,
            uvicorn_config={"log_config": None,  # uvicorn's records go through our handler too
                            "http": protocol(http.header_timeout, http.body_timeout)})
