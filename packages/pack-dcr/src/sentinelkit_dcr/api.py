"""ARM addresses of Azure Monitor data collection (one place to move the api-version)."""

from __future__ import annotations

#: dataCollectionRules / dataCollectionEndpoints / dataCollectionRuleAssociations (GA 2024-03-11)
VERSION = "2024-03-11"
PROVIDER = "Microsoft.Insights"
RULES = "dataCollectionRules"
ENDPOINTS = "dataCollectionEndpoints"
ASSOCIATIONS = "dataCollectionRuleAssociations"
#: rule kinds that are used without associations (Logs Ingestion API, workspace transformations)
UNASSOCIATED_KINDS = frozenset({"direct", "workspacetransforms"})
#: properties the service fills in; never sent back, never exported
READ_ONLY_PROPS = ("immutableId", "endpoints", "metadata", "provisioningState", "ingestionQuotas",
                   "configurationAccess", "logsIngestion", "metricsIngestion", "failoverConfiguration",
                   "privateLinkScopedResources")


def rg_id(subscription_id: str, resource_group: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"


def item_id(subscription_id: str, resource_group: str, collection: str, name: str) -> str:
    return f"{rg_id(subscription_id, resource_group)}/providers/{PROVIDER}/{collection}/{name}"


def sub_collection(subscription_id: str, collection: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/{PROVIDER}/{collection}"


def parts(arm_id: str) -> dict[str, str]:
    """``/subscriptions/s/resourceGroups/g/providers/NS/type/name`` → subscription, resource_group, name."""
    p = arm_id.strip("/").split("/")
    out = {"name": p[-1]}
    low = [x.lower() for x in p]
    if "subscriptions" in low:
        out["subscription_id"] = p[low.index("subscriptions") + 1]
    if "resourcegroups" in low:
        out["resource_group"] = p[low.index("resourcegroups") + 1]
    return out


def short(arm_id: str | None) -> str | None:
    """The last segment of an ARM id (a name a person recognises)."""
    return arm_id.rstrip("/").rsplit("/", 1)[-1] if arm_id else None
