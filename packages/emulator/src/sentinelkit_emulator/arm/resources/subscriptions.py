"""Subscriptions, tenants, resource groups and Azure Lighthouse delegations.

Subscriptions and tenants come from the world (identity data), not from stored resources: what a
caller sees depends on its token (own tenant + subscriptions delegated to it through Lighthouse).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ... import authz
from ...errors import ArmError
from ...model import Subscription
from ...runtime import Runtime
from ...tokens import Caller
from ..kinds import Ctx, ResourceKind, register
from ..router import page, require_api_version, special

SUBSCRIPTION_API_VERSIONS = frozenset(
    {"2016-06-01", "2018-06-01", "2019-06-01", "2019-11-01", "2020-01-01", "2021-01-01", "2022-01-01", "2022-12-01"}
)
RESOURCE_GROUP_API_VERSIONS = frozenset(
    {"2019-10-01", "2020-06-01", "2020-10-01", "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-11-01",
     "2025-04-01"}
)
MANAGED_SERVICES_API_VERSIONS = frozenset({"2019-06-01", "2019-09-01", "2020-02-01-preview", "2022-01-01-preview",
                                           "2022-10-01"})


def subscription_body(rt: Runtime, sub: Subscription) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub.id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [{"tenantId": t} for t in authz.managed_by_tenants(rt.store.world, sub)],
        "subscriptionId": sub.id,
        "tenantId": sub.tenant_id,
        "displayName": sub.display_name,
        "state": sub.state,
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


@special("GET", r"^/subscriptions$")
async def list_subscriptions(request: Request, rt: Runtime, caller: Caller, _: dict[str, str]) -> Response:
    require_api_version(request, SUBSCRIPTION_API_VERSIONS, "Microsoft.Resources/subscriptions")
    subs = authz.visible_subscriptions(rt.store.world, caller)
    return page(request, rt, [subscription_body(rt, s) for s in subs], 100)


@special("GET", r"^/subscriptions/(?P<subscriptionId>[^/]+)$")
async def get_subscription(request: Request, rt: Runtime, caller: Caller, p: dict[str, str]) -> Response:
    require_api_version(request, SUBSCRIPTION_API_VERSIONS, "Microsoft.Resources/subscriptions")
    sub_id = p["subscriptionId"]
    authz.check_access(rt.store.world, caller, f"/subscriptions/{sub_id}", "read", "Microsoft.Resources/subscriptions/read")
    sub = rt.store.world.subscription(sub_id)
    assert sub is not None  # check_access raised otherwise
    return JSONResponse(subscription_body(rt, sub))


@special("GET", r"^/tenants$")
async def list_tenants(request: Request, rt: Runtime, caller: Caller, _: dict[str, str]) -> Response:
    """The caller's own tenant (Home) and the customer tenants projected to it by Lighthouse."""
    require_api_version(request, SUBSCRIPTION_API_VERSIONS, "Microsoft.Resources/tenants")
    world = rt.store.world
    rows = []
    home = world.tenant(caller.tenant_id)
    projected = {
        s.tenant_id for s in authz.visible_subscriptions(world, caller) if s.tenant_id != caller.tenant_id
    }
    for tenant, category in [(home, "Home")] + [(world.tenant(t), "ProjectedBy") for t in sorted(projected)]:
        if tenant is None:
            continue
        rows.append(
            {
                "id": f"/tenants/{tenant.id}",
                "tenantId": tenant.id,
                "tenantCategory": category,
                "countryCode": "GB",
                "displayName": tenant.display_name,
                "domains": [tenant.domain],
                "defaultDomain": tenant.domain,
                "tenantType": "AAD",
            }
        )
    return page(request, rt, rows, 100)


@register
class ResourceGroupKind(ResourceKind):
    type_name = "Microsoft.Resources/resourceGroups"
    template = "{subscription}/resourceGroups/{resourceGroupName}"
    api_versions = RESOURCE_GROUP_API_VERSIONS
    operation = "Microsoft.Resources/subscriptions/resourceGroups"
    methods = frozenset({"GET", "PUT", "PATCH", "DELETE"})
    has_etag = False
    checks_resource_group = False

    def build(self, ctx: Ctx, body: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
        location = body.get("location") or (existing or {}).get("location")
        if not location:
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        return {
            "location": location,
            "tags": body.get("tags", {}),
            "properties": {"provisioningState": "Succeeded"},
        }

    def not_found(self, ctx: Ctx) -> ArmError:
        return ArmError(404, "ResourceGroupNotFound", f"Resource group '{ctx.name}' could not be found.")


@register
class RegistrationDefinitionKind(ResourceKind):
    """Lighthouse offers on a customer subscription (read here; the scenario creates them)."""

    type_name = "Microsoft.ManagedServices/registrationDefinitions"
    template = "{subscription}/providers/Microsoft.ManagedServices/registrationDefinitions/{registrationDefinitionId}"
    api_versions = MANAGED_SERVICES_API_VERSIONS
    operation = "Microsoft.ManagedServices/registrationDefinitions"
    methods = frozenset({"GET"})
    has_etag = False


@register
class RegistrationAssignmentKind(ResourceKind):
    type_name = "Microsoft.ManagedServices/registrationAssignments"
    template = "{subscription}/providers/Microsoft.ManagedServices/registrationAssignments/{registrationAssignmentId}"
    api_versions = MANAGED_SERVICES_API_VERSIONS
    operation = "Microsoft.ManagedServices/registrationAssignments"
    methods = frozenset({"GET"})
    has_etag = False

    def render(self, ctx: Ctx, resource: dict[str, Any]) -> dict[str, Any]:
        out = super().render(ctx, resource)
        if ctx.query.get("$expandRegistrationDefinition", "").lower() == "true":
            definition = ctx.store.get(out["properties"]["registrationDefinitionId"])
            if definition is not None:
                out["properties"]["registrationDefinition"] = {
                    "properties": definition["properties"],
                    "id": definition["id"],
                    "type": definition["type"],
                    "name": definition["name"],
                }
        return out
