"""Application Insights components (``components_API.json`` 2020-02-02), workspace-based.

A component gives the instrumentation key and connection string an OpenTelemetry exporter needs; what
the emulator's ingestion endpoint (``appinsights/ingestion.py``) receives for that key lands in the
Log Analytics workspace the component names (``WorkspaceResourceId``), in AppRequests, AppDependencies,
AppTraces, AppExceptions and AppMetrics, as for workspace-based components in Azure. Classic components
(no workspace) were retired by Azure in 2024: a create without ``WorkspaceResourceId`` is refused.

The connection string's ``IngestionEndpoint`` and ``LiveEndpoint`` are the emulator's own address, written
when the component is read (the emulator's port may change between runs of a state file).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from ...errors import ArmError
from ...store import Resource
from ..kinds import Ctx, ResourceKind, register, utc_now
from .sub_lists import add_subscription_list
from .tracked import properties_of, resolve_location, resolve_tags

COMPONENT_TYPE = "Microsoft.Insights/components"
COMPONENT_API_VERSIONS = frozenset({"2015-05-01", "2018-05-01-preview", "2020-02-02", "2020-02-02-preview"})
KINDS = ("web", "ios", "other", "store", "java", "phone")
APPLICATION_TYPES = ("web", "other")
_WORKSPACE_TYPE = "microsoft.operationalinsights/workspaces"


def connection_string(base_url: str, props: dict[str, Any]) -> str:
    """What the portal shows on the component's Overview page, pointing at this emulator."""
    endpoint = base_url.rstrip("/") + "/"
    return (f"InstrumentationKey={props['InstrumentationKey']};IngestionEndpoint={endpoint};"
            f"LiveEndpoint={endpoint};ApplicationId={props['AppId']}")


def component_by_key(store: Any, instrumentation_key: str) -> Resource | None:
    """The component whose instrumentation key this is (case-insensitive), else ``None``."""
    key = instrumentation_key.strip().lower()
    for resource in store.all():
        if str(resource.get("type", "")).lower() == COMPONENT_TYPE.lower() and \
                str(resource.get("properties", {}).get("InstrumentationKey", "")).lower() == key:
            return resource
    return None


@register
class ComponentKind(ResourceKind):
    type_name = COMPONENT_TYPE
    template = "{resourceGroup}/providers/Microsoft.Insights/components/{resourceName}"
    api_versions = COMPONENT_API_VERSIONS
    operation = "Microsoft.Insights/components"
    methods = frozenset({"GET", "PUT", "PATCH", "DELETE"})
    has_etag = False
    create_status = 200

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        location = resolve_location(ctx, body, existing)
        kind = body.get("kind") or (existing or {}).get("kind")
        if kind not in KINDS:
            raise ArmError(400, "BadRequest", f"The component kind '{kind}' is not valid; use one of "
                           f"{', '.join(KINDS)} (\"web\" for a service).")
        props = properties_of(body, required=True)
        application_type = props.get("Application_Type")
        if application_type not in APPLICATION_TYPES:
            raise ArmError(400, "BadRequest", "The property 'Application_Type' is required and must be 'web' or "
                           "'other'.")
        workspace_id = props.get("WorkspaceResourceId") or (existing or {}).get("properties", {}).get(
            "WorkspaceResourceId")
        if not isinstance(workspace_id, str) or not workspace_id:
            raise ArmError(400, "BadRequest", "Classic Application Insights resources are retired: set "
                           "'WorkspaceResourceId' to the ARM id of the Log Analytics workspace that stores the data.")
        workspace = ctx.store.get(workspace_id)
        if workspace is None or str(workspace.get("type", "")).lower() != _WORKSPACE_TYPE:
            raise ArmError(400, "BadRequest", f"The Log Analytics workspace '{workspace_id}' in "
                           "'WorkspaceResourceId' was not found.")
        previous = (existing or {}).get("properties", {})
        out: dict[str, Any] = {
            "ApplicationId": ctx.name,
            "AppId": previous.get("AppId") or str(uuid.uuid4()),
            "Application_Type": application_type,
            "Flow_Type": props.get("Flow_Type") or previous.get("Flow_Type") or "Bluefield",
            "Request_Source": props.get("Request_Source") or previous.get("Request_Source") or "rest",
            "InstrumentationKey": previous.get("InstrumentationKey") or str(uuid.uuid4()),
            "CreationDate": previous.get("CreationDate") or utc_now(),
            "TenantId": ctx.params["subscriptionId"],
            "provisioningState": "Succeeded",
            "SamplingPercentage": props.get("SamplingPercentage", previous.get("SamplingPercentage", 100.0)),
            "RetentionInDays": props.get("RetentionInDays", previous.get("RetentionInDays", 90)),
            "WorkspaceResourceId": workspace["id"],
            "DisableIpMasking": bool(props.get("DisableIpMasking", False)),
            "publicNetworkAccessForIngestion": props.get("publicNetworkAccessForIngestion") or "Enabled",
            "publicNetworkAccessForQuery": props.get("publicNetworkAccessForQuery") or "Enabled",
            "IngestionMode": "LogAnalytics",
        }
        return {"location": location, "kind": kind, "tags": resolve_tags(body, existing), "properties": out}

    def render(self, ctx: Ctx, resource: Resource) -> dict[str, Any]:
        out = copy.deepcopy(resource)
        props = out.get("properties", {})
        props["ConnectionString"] = connection_string(ctx.rt.base_url, props)
        return out


add_subscription_list(ComponentKind, "Microsoft.Insights/components")
