"""Assembles the Starlette application: Entra ID, admin API, Log Analytics query API and ARM."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import admin
from .arm import router as arm_router
from .arm.resources import load_all
from .errors import ArmError
from .identity import entra
from .logs import api as logs_api
from .middleware import ConnectionHandle, FaultMiddleware, TrafficMiddleware
from .runtime import Runtime

log = logging.getLogger("sentinelkit_emulator")


class RequestIdMiddleware:
    """Adds the ids ARM returns on every response (clients log them as correlation ids)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        correlation = headers.get(b"x-ms-correlation-request-id") or str(uuid.uuid4()).encode()
        request_id = str(uuid.uuid4()).encode()

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (b"x-ms-request-id", request_id),
                    (b"x-ms-correlation-request-id", correlation),
                    (b"x-ms-routing-request-id", b"EMULATOR:" + request_id),
                ]
            await send(message)

        await self.app(scope, receive, send_with_ids)


async def _arm_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ArmError)
    return exc.response()


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"error": {"code": "InternalServerError", "message": f"The emulator failed: {type(exc).__name__}: {exc}"}},
        status_code=500,
    )


def build_app(rt: Runtime, info: dict[str, Any]) -> ASGIApp:
    load_all()

    routes = [
        *admin.routes(),
        *entra.routes(),
        *logs_api.routes(),
        Route("/{path:path}", arm_router.handle, methods=["GET", "PUT", "PATCH", "DELETE", "POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={ArmError: _arm_error, Exception: _unexpected},
    )
    app.state.runtime = rt
    app.state.info = info
    return ConnectionHandle(RequestIdMiddleware(TrafficMiddleware(FaultMiddleware(app, rt), rt)))
