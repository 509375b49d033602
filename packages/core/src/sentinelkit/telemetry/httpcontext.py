"""W3C trace context from HTTP clients: a request's ``traceparent`` (and ``tracestate``) header becomes the
parent of everything the server does for it, so the server's spans continue the client's trace."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

_HEADERS = (b"traceparent", b"tracestate")


class TraceContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        carrier = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers", ())
                   if key in _HEADERS} if scope["type"] == "http" else {}
        if "traceparent" not in carrier:
            await self.app(scope, receive, send)
            return
        from opentelemetry import context, propagate

        token = context.attach(propagate.extract(carrier))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)
