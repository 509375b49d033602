"""Azure Monitor data collection: rules (DCR), endpoints (DCE) and rule associations (DCRA).

Follows ``dataCollectionRules_API.json``, ``dataCollectionEndpoints_API.json`` and
``dataCollectionRuleAssociations_API.json`` (2024-03-11). Rule validation is in
:mod:`.monitor_dcr_checks`. Associations hang under any resource (``{resourceUri}``), typically
virtual machines that need not exist in the store; they are listed by resource (generic), by rule
and by endpoint (special routes below).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import authz
from ...errors import ArmError
from ...runtime import Runtime
from ...store import Resource
from ...tokens import Caller
from ..kinds import Ctx, ResourceKind, kinds, register
from ..router import page, require_api_version, special
from .monitor_dcr_checks import Problems, canonical_kind, check_rule
from .sub_lists import add_subscription_list, resources_of_type
from .tracked import properties_of, resolve_location, resolve_tags

#: api-versions of Microsoft.Insights data collection (the service lists these in api-supported-versions).
DCR_API_VERSIONS = frozenset(
    {"2019-11-01-preview", "2021-04-01", "2021-09-01-preview", "2022-06-01", "2023-03-11", "2024-03-11"}
)
DCE_KINDS = ("Linux", "Windows")
NETWORK_ACCESS = ("Enabled", "Disabled", "SecuredByPerimeter")
RG_PROVIDER = "{resourceGroup}/providers/Microsoft.Insights"


def endpoint_host(name: str, immutable_id: str, location: str) -> str:
    """``{name}-{4 chars}.{region}-1``: the host prefix Azure Monitor gives a DCE or a Direct DCR."""
    return f"{name.lower()}-{immutable_id[-4:]}.{location}-1"


def patch_tags_identity(body: dict[str, Any], existing: Resource) -> Resource:
    """``ResourceForUpdate``: a PATCH may only change tags and identity."""
    out = {k: copy.deepcopy(v) for k, v in existing.items() if k not in ("id", "name", "type", "etag", "systemData")}
    out["tags"] = resolve_tags(body, existing, replace=False)
    if isinstance(body.get("identity"), dict):
        out["identity"] = body["identity"]
    return out


def _enum(value: Any, allowed: tuple[str, ...], field: str) -> str:
    for option in allowed:
        if isinstance(value, str) and option.lower() == value.lower():
            return option
    raise ArmError(400, "InvalidPayload", f"'{field}' value '{value}' is invalid. Allowed values are: "
                   f"{', '.join(allowed)}.")


@register
class DataCollectionRuleKind(ResourceKind):
    type_name = "Microsoft.Insights/dataCollectionRules"
    template = RG_PROVIDER + "/dataCollectionRules/{dataCollectionRuleName}"
    api_versions = DCR_API_VERSIONS
    operation = "Microsoft.Insights/dataCollectionRules"
    methods = frozenset({"GET", "PUT", "PATCH", "DELETE"})
    system_data = True

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        location = resolve_location(ctx, body, existing)
        kind = canonical_kind(body.get("kind"))
        props = copy.deepcopy(properties_of(body))
        for read_only in ("immutableId", "endpoints", "metadata", "provisioningState", "ingestionQuotas"):
            props.pop(read_only, None)
        check_rule(ctx.store, props, kind, location)
        old = (existing or {}).get("properties", {})
        immutable_id = old.get("immutableId") or "dcr-" + uuid.uuid4().hex
        out_props: dict[str, Any] = {"immutableId": immutable_id, **props}
        if kind == "Direct":
            host = endpoint_host(ctx.name, immutable_id, location)
            out_props["endpoints"] = {"logsIngestion": f"https://{host}.ingest.monitor.azure.com",
                                      "metricsIngestion": f"https://{host}.metrics.ingest.monitor.azure.com"}
        out_props["provisioningState"] = "Succeeded"
        resource: Resource = {"location": location, "tags": resolve_tags(body, existing)}
        if kind:
            resource["kind"] = kind
        if isinstance(body.get("identity"), dict):
            resource["identity"] = body["identity"]
        resource["properties"] = out_props
        return resource

    def patch(self, ctx: Ctx, body: dict[str, Any], existing: Resource) -> Resource:
        return patch_tags_identity(body, existing)


@register
class DataCollectionEndpointKind(ResourceKind):
    type_name = "Microsoft.Insights/dataCollectionEndpoints"
    template = RG_PROVIDER + "/dataCollectionEndpoints/{dataCollectionEndpointName}"
    api_versions = DCR_API_VERSIONS - {"2019-11-01-preview"}
    operation = "Microsoft.Insights/dataCollectionEndpoints"
    methods = frozenset({"GET", "PUT", "PATCH", "DELETE"})
    system_data = True

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        location = resolve_location(ctx, body, existing)
        props = properties_of(body)
        old = (existing or {}).get("properties", {})
        immutable_id = old.get("immutableId") or "dce-" + uuid.uuid4().hex
        acls = props.get("networkAcls") or old.get("networkAcls") or {}
        if not isinstance(acls, dict):
            raise ArmError(400, "InvalidPayload", "'networkAcls' must be an object.")
        access = _enum(acls.get("publicNetworkAccess") or "Enabled", NETWORK_ACCESS, "networkAcls.publicNetworkAccess")
        host = endpoint_host(ctx.name, immutable_id, location)
        out_props: dict[str, Any] = {
            "immutableId": immutable_id,
            "configurationAccess": {"endpoint": f"https://{host}.handler.control.monitor.azure.com"},
            "logsIngestion": {"endpoint": f"https://{host}.ingest.monitor.azure.com"},
            "metricsIngestion": {"endpoint": f"https://{host}.metrics.ingest.monitor.azure.com"},
            "networkAcls": {"publicNetworkAccess": access},
            "provisioningState": "Succeeded",
        }
        if isinstance(props.get("description"), str):
            out_props["description"] = props["description"]
        resource: Resource = {"location": location, "tags": resolve_tags(body, existing)}
        if body.get("kind") is not None:
            resource["kind"] = _enum(body["kind"], DCE_KINDS, "kind")
        if isinstance(body.get("identity"), dict):
            resource["identity"] = body["identity"]
        resource["properties"] = out_props
        return resource

    def patch(self, ctx: Ctx, body: dict[str, Any], existing: Resource) -> Resource:
        return patch_tags_identity(body, existing)


@register
class DataCollectionRuleAssociationKind(ResourceKind):
    type_name = "Microsoft.Insights/dataCollectionRuleAssociations"
    template = "{resourceUri}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{associationName}"
    api_versions = DCR_API_VERSIONS
    operation = "Microsoft.Insights/dataCollectionRuleAssociations"
    methods = frozenset({"GET", "PUT", "DELETE"})
    system_data = True

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        props = properties_of(body, required=True)
        rule_id, endpoint_id = props.get("dataCollectionRuleId"), props.get("dataCollectionEndpointId")
        problems = Problems()
        if bool(rule_id) == bool(endpoint_id):
            problems.add("InvalidAssociation", "Exactly one of 'dataCollectionRuleId' and 'dataCollectionEndpointId' "
                         "must be set.", "properties")
        elif endpoint_id and ctx.name != "configurationAccessEndpoint":
            problems.add("InvalidAssociationName", "An association with a data collection endpoint must be named "
                         f"'configurationAccessEndpoint', not '{ctx.name}'.", "name")
        for field, value, what in (("dataCollectionRuleId", rule_id, "Data collection rule"),
                                   ("dataCollectionEndpointId", endpoint_id, "Data collection endpoint")):
            if value and (not isinstance(value, str) or ctx.store.get(value) is None):
                problems.add(f"Invalid{field[0].upper()}{field[1:]}", f"{what} '{value}' was not found.",
                             f"properties.{field}")
        problems.raise_if_any("Data collection rule association")
        out: dict[str, Any] = {}
        if isinstance(props.get("description"), str):
            out["description"] = props["description"]
        if rule_id:
            out["dataCollectionRuleId"] = ctx.store.get(rule_id)["id"]
        if endpoint_id:
            out["dataCollectionEndpointId"] = ctx.store.get(endpoint_id)["id"]
        out["provisioningState"] = "Succeeded"
        return {"properties": out}


add_subscription_list(DataCollectionRuleKind, "Microsoft.Insights/dataCollectionRules")
add_subscription_list(DataCollectionEndpointKind, "Microsoft.Insights/dataCollectionEndpoints")

_RG_PREFIX = r"^/subscriptions/(?P<subscriptionId>[^/]+)/resourceGroups/(?P<resourceGroupName>[^/]+)"


async def _associations_of(request: Request, rt: Runtime, caller: Caller, params: dict[str, str],
                           target_cls: type[ResourceKind], field: str) -> Response:
    """Associations whose ``field`` names the rule or endpoint in the path (404 if that is missing)."""
    assoc = next(k for k in kinds() if type(k) is DataCollectionRuleAssociationKind)
    target = next(k for k in kinds() if type(k) is target_cls)
    version = require_api_version(request, assoc.api_versions, assoc.type_name)
    target_id = "/" + request.url.path.strip("/").rsplit("/", 1)[0]
    authz.check_access(rt.store.world, caller, target_id, "read", assoc.permission(False))
    rg_id = f"/subscriptions/{params['subscriptionId']}/resourceGroups/{params['resourceGroupName']}"
    if rt.store.get(rg_id) is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{params['resourceGroupName']}' could not be "
                       "found.")
    ctx = Ctx(request, rt, caller, target, params, version, target_id, target_id)
    if rt.store.get(target_id) is None:
        raise target.not_found(ctx)
    items = [r for r in resources_of_type(ctx, assoc.type_name, "/subscriptions")
             if str(r.get("properties", {}).get(field, "")).lower() == target_id.lower()]
    items.sort(key=lambda r: r["id"].lower())
    ctx.kind = assoc
    return page(request, rt, [assoc.render(ctx, r) for r in items], assoc.page_size)


@special("GET", _RG_PREFIX + r"/providers/Microsoft\.Insights/dataCollectionRules/(?P<dataCollectionRuleName>[^/]+)"
         r"/associations$")
async def _list_by_rule(request: Request, rt: Runtime, caller: Caller, params: dict[str, str]) -> Response:
    return await _associations_of(request, rt, caller, params, DataCollectionRuleKind, "dataCollectionRuleId")


@special("GET", _RG_PREFIX + r"/providers/Microsoft\.Insights/dataCollectionEndpoints"
         r"/(?P<dataCollectionEndpointName>[^/]+)/associations$")
async def _list_by_endpoint(request: Request, rt: Runtime, caller: Caller, params: dict[str, str]) -> Response:
    return await _associations_of(request, rt, caller, params, DataCollectionEndpointKind, "dataCollectionEndpointId")
