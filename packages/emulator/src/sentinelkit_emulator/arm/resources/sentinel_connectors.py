"""Data connectors (the Microsoft first-party kinds the health checks look at), validated per kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...store import Resource
from ..kinds import Ctx, register
from .sentinel_common import PROVIDER, SentinelKind, invalid, properties_of, req_enum, req_str

CONNECTOR_TYPE = f"{PROVIDER}/dataConnectors"
STATES = ("Enabled", "Disabled")
#: kind -> (the id it is scoped by, the data types it must list)
CONNECTOR_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "AzureActiveDirectory": ("tenantId", ("alerts",)),
    "AzureAdvancedThreatProtection": ("tenantId", ("alerts",)),
    "MicrosoftDefenderAdvancedThreatProtection": ("tenantId", ("alerts",)),
    "MicrosoftCloudAppSecurity": ("tenantId", ("alerts",)),
    "MicrosoftThreatProtection": ("tenantId", ("incidents",)),
    "AzureSecurityCenter": ("subscriptionId", ("alerts",)),
    "Office365": ("tenantId", ("exchange", "sharePoint", "teams")),
    "ThreatIntelligence": ("tenantId", ("indicators",)),
    "MicrosoftThreatIntelligence": ("tenantId", ()),
    "PremiumMicrosoftDefenderForThreatIntelligence": ("tenantId", ()),
    "AmazonWebServicesCloudTrail": ("", ()),
    "RestApiPoller": ("", ()),
}


def normalize_connector(kind: str, props: Mapping[str, Any], tenant_id: str) -> dict[str, Any]:
    """Validate a connector's properties for its kind; tenant-scoped kinds must name the workspace's tenant."""
    scope_key, data_types = CONNECTOR_KINDS[kind]
    out = dict(props)
    if scope_key:
        value = req_str(props, scope_key)
        if scope_key == "tenantId" and tenant_id and str(value).lower() != tenant_id.lower():
            raise invalid("properties.tenantId", f"'{value}' is not the workspace's tenant ({tenant_id}); a "
                          "connector can only connect its own tenant")
    types = props.get("dataTypes")
    if data_types and not isinstance(types, dict):
        raise invalid("properties.dataTypes", f"required object with {', '.join(data_types)} not found")
    for name in data_types:
        entry = types.get(name) if isinstance(types, dict) else None
        if not isinstance(entry, dict):
            raise invalid(f"properties.dataTypes.{name}", "required object {state} not found")
        entry["state"] = req_enum(entry, "state", STATES, f"properties.dataTypes.{name}")
    return out


@register
class DataConnectorKind(SentinelKind):
    type_name = CONNECTOR_TYPE
    template = "{sentinel}/dataConnectors/{dataConnectorId}"
    operation = f"{PROVIDER}/dataConnectors"

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        kind = req_enum(body, "kind", tuple(CONNECTOR_KINDS), where="")
        assert kind is not None
        if existing is not None and existing.get("kind") != kind:
            raise invalid("kind", f"the kind of an existing connector cannot change ('{existing.get('kind')}')")
        sub = ctx.store.world.subscription(ctx.params["subscriptionId"])
        props = normalize_connector(kind, properties_of(body), sub.tenant_id if sub else "")
        return {"kind": kind, "properties": props}
