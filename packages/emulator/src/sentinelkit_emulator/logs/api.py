"""``GET``/``POST /v1/workspaces/{workspaceId}/query``: the Log Analytics query API's front door.

Authentication and authorisation follow the service: a token for ``https://api.loganalytics.io``,
read access on the workspace (own role or an Azure Lighthouse delegation), else 403
``InsufficientAccessError`` (a token of another tenant that does not delegate the workspace sees no
data). The KQL itself runs in a worker thread (:mod:`.engine`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..auth import authenticate
from ..authz import check_access
from ..errors import ArmError
from ..runtime import Runtime, runtime
from ..tokens import LOGS_AUDIENCES, Caller
from .engine import (
    DEFAULT_TIMEOUT,
    MAX_TIMEOUT,
    QueryApiError,
    bad_argument,
    engine_for,
    workspace_ids_by_customer_id,
)

QUERY_PERMISSION = "Microsoft.OperationalInsights/workspaces/query/read"
#: ``runtime.caches`` key of the answer limits the admin API set (``{"max_rows", "max_bytes"}``)
LIMITS_KEY = "logs.limits"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def routes() -> list[Route]:
    return [Route("/v1/workspaces/{workspaceId}/query", query_endpoint, methods=["GET", "POST"])]


def workspace_not_found() -> QueryApiError:
    return QueryApiError(404, "WorkspaceNotFoundError", "Workspace could not be found")


def insufficient_access() -> QueryApiError:
    return QueryApiError(
        403, "InsufficientAccessError",
        "The provided credentials have insufficient access to perform the requested operation",
    )


def resolve_workspace(rt: Runtime, key: str) -> tuple[str, str] | None:
    """A workspace by ``customerId``, ARM resource id or name -> ``(ARM id, customerId)``."""
    by_customer = workspace_ids_by_customer_id(rt.store, rt.caches)
    k = key.strip().lower()
    if k in by_customer:
        return by_customer[k], k
    for customer_id, arm_id in by_customer.items():
        if k.rstrip("/") == arm_id.lower() or k == arm_id.rsplit("/", 1)[-1].lower():
            return arm_id, customer_id
    return None


def authorize(rt: Runtime, caller: Caller, workspace_id: str) -> None:
    """Raise the query API's 403 unless ``caller`` may read ``workspace_id`` (own role or delegation)."""
    try:
        check_access(rt.store.world, caller, workspace_id, "read", QUERY_PERMISSION)
    except ArmError as exc:
        if exc.status == 404:
            raise workspace_not_found() from exc
        raise insufficient_access() from exc


def parse_prefer(header: str) -> dict[str, str]:
    """``Prefer: include-statistics=true, include-render=true, wait=600`` -> dict (names lower-cased)."""
    prefs = {}
    for item in re.split(r"[,;]", header or ""):
        name, _, value = item.strip().partition("=")
        if name:
            prefs[name.strip().lower()] = value.strip().strip('"').lower()
    return prefs


async def _read_request(request: Request) -> tuple[str, str | None, list[str]]:
    """(query, timespan, additional workspaces) from the query string (GET) or the JSON body (POST)."""
    if request.method == "GET":
        params = request.query_params
        extra = [w for w in (params.get("workspaces") or "").split(",") if w.strip()]
        query = params.get("query")
        if not query:
            raise bad_argument("MissingQuery", "The 'query' query-string parameter is required.")
        return query, params.get("timespan") or None, extra
    raw = await request.body()
    if not raw.strip():
        raise bad_argument("MissingBody", "The request body is empty: POST a JSON object such as "
                                          '{"query": "Heartbeat | take 10", "timespan": "PT1H"}.')
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_argument("InvalidJson", f"The request body is not valid JSON ({exc}).") from exc
    if not isinstance(body, dict):
        raise bad_argument("InvalidBody", "The request body must be a JSON object with a 'query' property.")
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise bad_argument("MissingQuery", "The 'query' property is required and must be a non-empty string.")
    timespan = body.get("timespan")
    if timespan is not None and not isinstance(timespan, str):
        raise bad_argument("InvalidTimespan", "The 'timespan' property must be an ISO 8601 interval string.")
    extra = body.get("workspaces") or []
    if isinstance(extra, str):
        extra = [w for w in extra.split(",") if w.strip()]
    if not isinstance(extra, list) or not all(isinstance(w, str) for w in extra):
        raise bad_argument("InvalidWorkspaces", "The 'workspaces' property must be a list of workspace ids.")
    return query, timespan or None, extra


def authenticate_query(request: Request) -> Caller:
    """The caller, or the query API's refusal: 401 without a token, 403 for a bad or foreign-audience one."""
    try:
        return authenticate(request, LOGS_AUDIENCES)
    except ArmError as exc:
        if exc.code in ("InvalidAuthenticationToken", "InvalidAuthenticationTokenAudience"):
            raise QueryApiError(403, exc.code, exc.message) from exc
        raise


async def query_endpoint(request: Request) -> JSONResponse:
    caller = authenticate_query(request)
    rt = runtime(request)
    key = request.path_params["workspaceId"]
    if not _GUID.match(key):
        raise QueryApiError(404, "PathNotFoundError", "The requested path does not exist")
    query, timespan, extra = await _read_request(request)
    # from here on no await until the snapshot: a reset cannot swap the store in between
    primary = resolve_workspace(rt, key)
    if primary is None:
        raise workspace_not_found()
    authorize(rt, caller, primary[0])
    workspaces = [primary]
    for name in extra:
        found = resolve_workspace(rt, name)
        if found is None:
            raise bad_argument("WorkspaceNotFoundError",
                               f"Workspace '{name}' in 'workspaces' could not be found.")
        authorize(rt, caller, found[0])
        if found[1] not in {cid for _, cid in workspaces}:
            workspaces.append(found)

    prefer = parse_prefer(request.headers.get("prefer", ""))
    try:
        timeout = float(prefer.get("wait") or DEFAULT_TIMEOUT)
    except ValueError:
        timeout = DEFAULT_TIMEOUT
    timeout = min(max(timeout, 1.0), float(MAX_TIMEOUT))

    engine = engine_for(rt.caches)
    snapshot = engine.snapshot(rt.store, workspaces)  # reads the store: stays on the event loop
    result = await asyncio.to_thread(
        engine.run,
        snapshot,
        query,
        timespan=timespan,
        now=dt.datetime.now(dt.UTC),
        timeout=timeout,
        include_statistics=prefer.get("include-statistics") == "true",
        include_render=prefer.get("include-render") == "true",
        **rt.caches.get(LIMITS_KEY, {}),  # lowered through the admin API for tests (reset restores them)
    )
    headers: dict[str, str] = {}
    applied = [f"{k}={v}" for k, v in prefer.items() if k in ("include-statistics", "include-render", "wait")]
    if applied:
        headers["Preference-Applied"] = ",".join(applied)
    return JSONResponse(result.body, headers=headers)
