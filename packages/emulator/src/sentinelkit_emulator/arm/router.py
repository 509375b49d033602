"""The ARM front door: authenticate, find the resource kind, check api-version, access and parents,
then run the generic operation (list/get/put/patch/delete/action) the kind customises.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import authz
from ..auth import authenticate
from ..errors import ArmError, bad_request
from ..runtime import Runtime, runtime
from ..store import Resource
from ..tokens import ARM_AUDIENCES, Caller
from .kinds import Ctx, ResourceKind, kinds

SpecialHandler = Callable[[Request, Runtime, Caller, dict[str, str]], Awaitable[Response]]
_SPECIAL: list[tuple[str, re.Pattern[str], SpecialHandler]] = []

_API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-alpha|-beta|-privatepreview)?$")
MAX_BODY_BYTES = 4 * 1024 * 1024  # ARM refuses request bodies over 4 MB


def special(method: str, pattern: str) -> Callable[[SpecialHandler], SpecialHandler]:
    """Register a handler for an ARM path that is not a stored resource (subscriptions, tenants...)."""

    def deco(fn: SpecialHandler) -> SpecialHandler:
        _SPECIAL.append((method, re.compile(pattern, re.IGNORECASE), fn))
        return fn

    return deco


def require_api_version(request: Request, supported: frozenset[str], type_name: str, location: str = "") -> str:
    """ARM's checks on ``api-version``: present, well-formed, supported by the resource type."""
    version = request.query_params.get("api-version")
    if not version:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if not _API_VERSION_RE.match(version):
        raise ArmError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are "
            f"'{','.join(sorted(supported, reverse=True))}'.",
        )
    if version not in supported:
        raise ArmError(
            400,
            "NoRegisteredProviderFound",
            f"No registered resource provider found for location '{location or 'westeurope'}' and API version "
            f"'{version}' for type '{type_name.split('/', 1)[-1]}'. The supported api-versions are "
            f"'{', '.join(sorted(supported, reverse=True))}'. The supported locations are "
            "'eastus, westeurope, northeurope, uksouth'.",
        )
    return version


async def read_json(request: Request, *, required: bool = True) -> dict[str, Any]:
    """Parse a JSON object body, answering ARM's 400s for empty, oversized or malformed content."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ArmError(413, "RequestEntityTooLarge", "The request content size exceeds the 4 MB limit.")
    if not raw.strip():
        if required:
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                           "deserialized: 'The request body is empty; a JSON object is required.'.")
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArmError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid and could not be deserialized: '{exc}'.",
        ) from exc
    if not isinstance(data, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                       f"deserialized: 'expected a JSON object, got {type(data).__name__}'.")
    return data


def page(request: Request, rt: Runtime, items: list[dict[str, Any]], size: int,
         render: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> JSONResponse:
    """One page of a list, with an absolute ``nextLink`` carrying a ``$skipToken``; ``render`` (if given)
    turns the stored items of that page, and only those, into what the list returns."""
    token = request.query_params.get("$skipToken") or request.query_params.get("$skiptoken")
    offset = 0
    if token:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
        except (ValueError, KeyError, TypeError) as exc:
            raise bad_request(f"The skip token '{token}' is invalid.", "InvalidSkipToken") from exc
    window = items[offset : offset + size]
    body: dict[str, Any] = {"value": [render(item) for item in window] if render else window}
    if offset + size < len(items):
        nxt = base64.urlsafe_b64encode(json.dumps({"o": offset + size}).encode()).decode()
        query = [(k, v) for k, v in request.query_params.multi_items() if k.lower() != "$skiptoken"]
        query.append(("$skipToken", nxt))
        body["nextLink"] = f"{rt.base_url}{request.url.path}?{urlencode(query)}"
    return JSONResponse(body)


def finalize_operations(rt: Runtime) -> None:
    """Complete long-running operations whose time has come, even if nobody polls them."""
    now = time.monotonic()
    for op in rt.store.operations.values():
        if op["status"] == "InProgress" and op.get("done_at", now) <= now:
            _complete(rt, op)


def _complete(rt: Runtime, op: dict[str, Any]) -> None:
    op["status"] = "Succeeded"
    op["endTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    resource = rt.store.get(op["resource_id"])
    if resource is not None:
        resource.setdefault("properties", {})["provisioningState"] = "Succeeded"
        rt.store.put(resource)
    rt.changed()


def start_operation(ctx: Ctx, resource: Resource, provider: str, location: str) -> Response:
    """Answer 202 for a long-running PUT the way ARM does (Azure-AsyncOperation + Location)."""
    op_id = str(uuid.uuid4())
    ctx.store.operations[op_id] = {
        "status": "InProgress",
        "resource_id": resource["id"],
        "startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "polls_left": 1,
        "done_at": time.monotonic() + 2.0,
    }
    sub = ctx.params["subscriptionId"]
    url = (
        f"{ctx.rt.base_url}/subscriptions/{sub}/providers/{provider}/locations/{location}"
        f"/operationStatuses/{op_id}?api-version={ctx.api_version}"
    )
    return Response(
        status_code=202,
        headers={"Azure-AsyncOperation": url, "Location": url, "Retry-After": "0"},
    )


@special("GET", r"^/subscriptions/(?P<subscriptionId>[^/]+)/providers/(?P<ns>[^/]+)/locations/(?P<loc>[^/]+)"
         r"/operation(?:Statuses|Results)/(?P<op>[^/]+)$")
async def _operation_status(request: Request, rt: Runtime, caller: Caller, p: dict[str, str]) -> Response:
    authz.check_access(rt.store.world, caller, f"/subscriptions/{p['subscriptionId']}", "read",
                       f"{p['ns']}/locations/operationStatuses/read")
    op = rt.store.operations.get(p["op"])
    if op is None:
        raise ArmError(404, "OperationNotFound", f"The operation '{p['op']}' could not be found.")
    if op["status"] == "InProgress":
        if op["polls_left"] > 0:
            op["polls_left"] -= 1
        else:
            _complete(rt, op)
    body = {"id": request.url.path, "name": p["op"], "status": op["status"], "startTime": op["startTime"]}
    if "endTime" in op:
        body["endTime"] = op["endTime"]
    return JSONResponse(body, headers={"Retry-After": "0"})


def _match(path: str) -> tuple[ResourceKind, dict[str, str], bool] | None:
    """Find the kind for a path: (kind, captured params, is_item)."""
    for kind in kinds():
        m = kind.item_re.match(path)
        if m:
            return kind, m.groupdict(), True
        m = kind.collection_re.match(path)
        if m and kind.listable:
            return kind, m.groupdict(), False
    return None


def _unknown_path(path: str, request: Request) -> ArmError:
    m = re.search(r"/providers/([^/]+)/([^/]+)", path, re.IGNORECASE)
    if m:
        version = request.query_params.get("api-version", "")
        return ArmError(
            400,
            "InvalidResourceType",
            f"The resource type '{m.group(2)}' could not be found in the namespace '{m.group(1)}' "
            f"for api version '{version}'.",
        )
    return ArmError(404, "NotFound", f"The requested resource '{path}' was not found.")


async def handle(request: Request) -> Response:
    """Entry point for every ARM request."""
    rt = runtime(request)
    caller = authenticate(request, ARM_AUDIENCES)
    path = "/" + request.url.path.strip("/")
    method = request.method.upper()
    if rt.store.operations:
        finalize_operations(rt)

    for sp_method, pattern, fn in _SPECIAL:
        m = pattern.match(path)
        if m and sp_method == method:
            return await fn(request, rt, caller, m.groupdict())

    action: str | None = None
    found = _match(path)
    if found is None and method == "POST":
        base, _, action = path.rpartition("/")
        found = _match(base)
        if found is not None:
            path = base
    if found is None:
        raise _unknown_path(path, request)
    kind, params, is_item = found
    if action is not None and (not is_item or action.lower() not in {a.lower() for a in kind.actions}):
        raise _unknown_path(path + "/" + action, request)

    api_version = require_api_version(request, kind.api_versions, kind.type_name)
    collection_id = path if not is_item else path.rsplit("/", 1)[0]
    ctx = Ctx(request, rt, caller, kind, params, api_version, collection_id, path if is_item else None)

    if action is not None:
        action_name = next(a for a in kind.actions if a.lower() == action.lower())
        handler_name, needs_write = kind.actions[action_name]
        _authorize(ctx, path, needs_write, kind.permission(needs_write, action_name))
        _check_parents(ctx)
        return await getattr(kind, handler_name)(ctx)

    if not is_item:
        if method != "GET":
            raise _method_not_allowed(method)
        _authorize(ctx, path, False, kind.permission(False))
        _check_parents(ctx)
        return page(request, rt, kind.list_items(ctx), list_page_size(ctx), lambda r: kind.render(ctx, r))

    if method not in kind.methods:
        raise _method_not_allowed(method)
    write = method != "GET"
    _authorize(ctx, path, write, kind.permission(write) if method != "DELETE" else f"{kind.operation}/delete")
    _check_parents(ctx)
    existing = rt.store.get(path)
    if method == "GET":
        if existing is None:
            raise kind.not_found(ctx)
        return JSONResponse(kind.render(ctx, existing))
    if method == "DELETE":
        if existing is None:
            return Response(status_code=kind.delete_missing_status)
        _check_if_match(request, existing)
        kind.before_delete(ctx, existing)
        rt.store.delete(path)
        kind.after_delete(ctx, existing)
        rt.changed()
        return kind.delete_response(ctx, existing)
    body = await read_json(request, required=kind.body_required)
    _check_if_match(request, existing)
    if method == "PATCH":
        if existing is None:
            raise kind.not_found(ctx)
        built = kind.patch(ctx, body, existing)
    else:
        if kind.body_etag and existing is not None and body.get("etag") and existing.get("etag"):
            if body["etag"] != existing["etag"]:
                raise _precondition_failed(existing)
        built = kind.build(ctx, body, existing)
    resource = kind.stamp(ctx, built, existing)
    return _store_write(ctx, resource, existing)


def _store_write(ctx: Ctx, resource: Resource, existing: Resource | None) -> Response:
    lro = ctx.kind.lro_provider if ctx.request.method.upper() in ctx.kind.lro_methods else ""
    if lro:
        resource.setdefault("properties", {})["provisioningState"] = "Updating"
    ctx.store.put(resource)
    ctx.kind.after_write(ctx, resource, existing)
    ctx.rt.changed()
    if lro:
        location = resource.get("location") or (ctx.parent() or {}).get("location", "westeurope")
        return start_operation(ctx, resource, lro, location)
    status = 200 if existing else ctx.kind.create_status
    return JSONResponse(ctx.kind.render(ctx, copy.deepcopy(resource)), status_code=status)


def list_page_size(ctx: Ctx) -> int:
    hook = getattr(ctx.kind, "page_size_for", None)
    return hook(ctx) if hook else ctx.kind.page_size


def _authorize(ctx: Ctx, scope: str, write: bool, action: str) -> None:
    authz.check_access(ctx.store.world, ctx.caller, scope, "write" if write else "read", action)


def _check_parents(ctx: Ctx) -> None:
    rg = ctx.params.get("resourceGroupName")
    if rg is not None and ctx.kind.checks_resource_group:
        rg_id = f"/subscriptions/{ctx.params['subscriptionId']}/resourceGroups/{rg}"
        if ctx.store.get(rg_id) is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    ctx.kind.check_parent(ctx)


def _check_if_match(request: Request, existing: Resource | None) -> None:
    if_match = request.headers.get("if-match")
    if if_match and if_match != "*":
        current = (existing or {}).get("etag")
        if existing is None or current not in (if_match, f'"{if_match.strip(chr(34))}"', if_match.strip('"')):
            raise _precondition_failed(existing)
    if request.headers.get("if-none-match") == "*" and existing is not None:
        raise ArmError(412, "PreconditionFailed", "The resource already exists and 'If-None-Match: *' was sent.")


def _precondition_failed(existing: Resource | None) -> ArmError:
    current = (existing or {}).get("etag")
    return ArmError(
        412,
        "PreconditionFailed",
        "The specified precondition failed: the resource was changed since it was read "
        f"(current etag {current}). Read it again and retry with the new etag.",
    )


def _method_not_allowed(method: str) -> ArmError:
    return ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")
