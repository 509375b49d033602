"""The emulator's admin API (``/_emulator``): faults, reset, info, and test tokens.

Documented in the package README. It needs no token: the emulator only listens on loopback.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import Fault
from .runtime import runtime


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "BadRequest", "message": message}}, status_code=status)


async def _json(request: Request) -> dict[str, Any] | JSONResponse:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        return _error(400, f"body is not valid JSON: {exc}")
    if not isinstance(data, dict):
        return _error(400, "body must be a JSON object")
    return data


async def add_fault(request: Request) -> Response:
    data = await _json(request)
    if isinstance(data, JSONResponse):
        return data
    rt = runtime(request)
    try:
        fault = Fault.from_json(data)
    except ValueError as exc:  # unknown or mistyped fields, bad regex, bad status, no effect
        return _error(400, f"invalid fault: {exc}")
    if fault.tenant is not None and rt.store.world.tenant(fault.tenant) is None:
        known = ", ".join(t.name for t in rt.store.world.tenants)
        return _error(400, f"invalid fault: no tenant {fault.tenant!r} in this scenario; known: {known}")
    rt.faults.add(fault)
    return JSONResponse(fault.to_json(), status_code=201)


async def list_faults(request: Request) -> Response:
    """The faults in force, with their statistics (``matched``, ``hits``, ``count`` left, ``expires_in_seconds``)."""
    return JSONResponse({"value": [f.to_json() for f in runtime(request).faults.active()]})


async def clear_faults(request: Request) -> Response:
    runtime(request).faults.clear()
    return Response(status_code=204)


async def delete_fault(request: Request) -> Response:
    found = runtime(request).faults.remove(request.path_params["fault_id"])
    return Response(status_code=204 if found else 404)


async def reset(request: Request) -> Response:
    """Back to the scenario's initial state (same identities and secrets); faults cleared."""
    rt = runtime(request)
    rt.store = rt.build_store()
    rt.caches.clear()
    rt.faults.clear()
    rt.traffic.reset()
    rt.changed()
    return Response(status_code=204)


async def append_logs(request: Request) -> Response:
    """Rows into a table of a workspace, as if ingested: ``{"workspace", "table", "rows": [...]}``."""
    from .logs.append import AppendError, append_rows

    data = await _json(request)
    if isinstance(data, JSONResponse):
        return data
    try:
        done = append_rows(runtime(request), data.get("workspace"), data.get("table"), data.get("rows"))
    except AppendError as exc:
        return _error(400, str(exc))
    return JSONResponse(done, status_code=201)


async def set_query_limits(request: Request) -> Response:
    """Lower the query API's answer limits (``{"max_rows", "max_bytes"}``) until the next reset, so that a test
    meets a partial result without a table of 500,000 rows."""
    from .logs.api import LIMITS_KEY
    from .logs.engine import MAX_RESULT_BYTES, MAX_RESULT_ROWS

    data = await _json(request)
    if isinstance(data, JSONResponse):
        return data
    limits = {"max_rows": data.pop("max_rows", MAX_RESULT_ROWS), "max_bytes": data.pop("max_bytes", MAX_RESULT_BYTES)}
    if data or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in limits.values()):
        return _error(400, "give max_rows and/or max_bytes, positive integers (nothing else)")
    runtime(request).caches[LIMITS_KEY] = limits
    return JSONResponse(limits)


async def traffic(request: Request) -> Response:
    """Requests and peak concurrency per ``service:tenant`` since the start or the last reset."""
    return JSONResponse(runtime(request).traffic.to_json())


async def reset_traffic(request: Request) -> Response:
    runtime(request).traffic.reset()
    return Response(status_code=204)


async def info(request: Request) -> Response:
    return JSONResponse(request.app.state.info)


async def issue_token(request: Request) -> Response:
    """A signed token with chosen claims, for tests of expired or wrong-audience tokens, and the stand-in for
    an interactive sign-in: ``{"user": upn, "client_id": the client app}`` gives that user's delegated token
    (``upn``, ``name``, ``scp``), with the app roles the user holds on the audience's app (or ``roles``)."""
    data = await _json(request)
    if isinstance(data, JSONResponse):
        return data
    rt = runtime(request)
    world = rt.store.world
    principal = world.principal_by_client_id(str(data.get("client_id", "")))
    if principal is None:
        return _error(400, "client_id of a known principal is required")
    audience = str(data.get("audience", "https://management.azure.com"))
    app = world.app_for_audience(audience)
    extra: dict[str, Any] = {}
    object_id = principal.other_tenants.get(str(data.get("tenant_id")), principal.object_id)
    tenant_id = str(data.get("tenant_id", principal.tenant_id))
    if data.get("user"):
        user = world.user_by_upn(str(data["user"]))
        if user is None:
            known = ", ".join(u.user_principal_name for u in world.users)
            return _error(400, f"no user {data['user']!r}; known: {known}")
        object_id, tenant_id = user.object_id, str(data.get("tenant_id", user.tenant_id))
        extra.update({"upn": user.user_principal_name, "name": user.display_name, "idtyp": "user",
                      "scp": str(data.get("scp", "user_impersonation"))})
    roles = data.get("roles", app.assignments.get(object_id, []) if app is not None else None)
    if roles:
        extra["roles"] = [str(r) for r in roles]
    if app is not None:
        extra["ver"] = "2.0"
    token = rt.issuer.issue(
        tenant_id=tenant_id,
        object_id=object_id,
        app_id=principal.client_id,
        audience=app.client_id if app is not None else audience,  # v2 tokens of an API: aud is its client id
        lifetime=int(data.get("lifetime", 3599)),
        extra=extra,
    )
    return JSONResponse({"access_token": token})


def routes() -> list[Route]:
    return [
        Route("/_emulator/faults", add_fault, methods=["POST"]),
        Route("/_emulator/faults", list_faults, methods=["GET"]),
        Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
        Route("/_emulator/faults/{fault_id}", delete_fault, methods=["DELETE"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/info", info, methods=["GET"]),
        Route("/_emulator/traffic", traffic, methods=["GET"]),
        Route("/_emulator/traffic", reset_traffic, methods=["DELETE"]),
        Route("/_emulator/token", issue_token, methods=["POST"]),
        Route("/_emulator/logs", append_logs, methods=["POST"]),
        Route("/_emulator/query-limits", set_query_limits, methods=["PUT"]),
    ]
