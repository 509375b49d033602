"""Subscription-wide list operations (``/subscriptions/{s}/providers/{NS}/{type}``).

The generic router lists one parent collection; ARM's subscription-level lists gather every
resource group. Each kind that has one calls :func:`add_subscription_list` once at import time.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from ... import authz
from ...runtime import Runtime
from ...store import Resource
from ...tokens import Caller
from ..kinds import Ctx, ResourceKind, kinds
from ..router import page, require_api_version, special

#: extra filter over the collected resources (e.g. workbooks' ``category``); may raise ArmError
ListFilter = Callable[[Ctx, list[Resource]], list[Resource]]


def resources_of_type(ctx: Ctx, type_name: str, prefix: str) -> list[Resource]:
    """Stored resources of ``type_name`` whose id starts with ``prefix`` (case-insensitive)."""
    p = prefix.rstrip("/").lower() + "/"
    return [r for r in ctx.store.of_type(type_name) if r["id"].lower().startswith(p)]


def add_subscription_list(kind_cls: type[ResourceKind], provider_path: str, extra: ListFilter | None = None) -> None:
    """Serve ``GET /subscriptions/{s}/providers/{provider_path}`` for the registered ``kind_cls``."""
    pattern = rf"^/subscriptions/(?P<subscriptionId>[^/]+)/providers/{re.escape(provider_path)}$"

    @special("GET", pattern)
    async def _list(request: Request, rt: Runtime, caller: Caller, params: dict[str, str]) -> Response:
        kind = next(k for k in kinds() if type(k) is kind_cls)
        version = require_api_version(request, kind.api_versions, kind.type_name)
        scope = f"/subscriptions/{params['subscriptionId']}"
        authz.check_access(rt.store.world, caller, scope, "read", kind.permission(False))
        path = "/" + request.url.path.strip("/")
        ctx = Ctx(request, rt, caller, kind, dict(params), version, path, None)
        items = resources_of_type(ctx, kind.type_name, scope)
        items.sort(key=lambda r: r["id"].lower())
        if extra is not None:
            items = extra(ctx, items)
        return page(request, rt, [kind.render(ctx, r) for r in items], kind.page_size)
