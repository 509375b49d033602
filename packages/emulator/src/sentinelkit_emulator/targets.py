"""Which service a request is for and which tenant owns what it addresses.

The owning tenant is the subscription's or workspace's tenant, or the tenant in a token URL: with
Lighthouse every token comes from the managing tenant, so the target's tenant is what "this
customer" means for fault matching and traffic counting alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from starlette.types import Scope

from .model import Tenant
from .runtime import Runtime

_SCOPE_KEY = "sentinelkit.target"


@dataclass(frozen=True)
class Target:
    service: str  # arm, logs or identity
    tenant: Tenant | None
    #: the tenant's id, short name and domain, lower-case (what a fault's ``tenant`` may say)
    names: frozenset[str] = field(default=frozenset())


def target_of(rt: Runtime, scope: Scope) -> Target:
    """The request's target, worked out once per request and kept in its scope."""
    cached = scope.get(_SCOPE_KEY)
    if isinstance(cached, Target):
        return cached
    path = scope["path"]
    service = service_of(path)
    tenant_id = target_tenant(rt, path, service)
    tenant = rt.store.world.tenant(tenant_id) if tenant_id else None
    names = frozenset({tenant.id.lower(), tenant.name.lower(), tenant.domain.lower()}) if tenant else frozenset()
    target = Target(service, tenant, names)
    scope[_SCOPE_KEY] = target
    return target


def service_of(path: str) -> str:
    if path.startswith("/v1/"):
        return "logs"
    if re.match(r"^/[^/]+/(oauth2|v2\.0|discovery|\.well-known)/", path):
        return "identity"
    return "arm"


def target_tenant(rt: Runtime, path: str, service: str) -> str | None:
    """The id of the tenant that owns what the request addresses."""
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
        known: dict[str, str] = cached[2]
        return known
    mapping: dict[str, str] = {}
    for res in rt.store.of_type("Microsoft.OperationalInsights/workspaces"):
        sub = rt.store.world.subscription(res["id"].split("/")[2])
        customer_id = str(res.get("properties", {}).get("customerId", "")).lower()
        if sub and customer_id:
            mapping[customer_id] = sub.tenant_id
    rt.caches["workspace_tenants"] = (rt.store, rt.store.version, mapping)
    return mapping
