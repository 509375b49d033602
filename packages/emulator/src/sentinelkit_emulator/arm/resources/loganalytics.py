"""Log Analytics workspaces and saved searches (``Workspaces.json``, ``SavedSearches.json`` 2026-03-01).

Tables live in :mod:`.la_tables`. Workspaces are seeded by the topology seeder; a PUT that creates
one gives it a new ``customerId`` and the Azure tables every workspace has. Saved searches answer
200 on create (the SDK refuses 201), carry Log Analytics' ``W/"datetime'...'"`` etags and keep
function aliases unique per workspace and distinct from its tables' names.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from ...errors import ArmError
from ...store import Resource
from ..kinds import Ctx, ResourceKind, register, utc_now
from .la_tables import add_solution_tables, apply_workspace_retention, invalid
from .sub_lists import add_subscription_list
from .tracked import nested_not_found, properties_of, resolve_location, resolve_tags

#: Log Analytics api-versions seen in Microsoft's SDKs, CLI and portal.
LA_API_VERSIONS = frozenset(
    {"2020-03-01-preview", "2020-08-01", "2020-10-01", "2021-06-01", "2021-12-01-preview", "2022-10-01",
     "2023-09-01", "2025-02-01", "2025-07-01", "2026-03-01"}
)
WORKSPACE_API_VERSIONS = LA_API_VERSIONS | {"2015-11-01-preview"}
SAVED_SEARCH_API_VERSIONS = LA_API_VERSIONS | {"2015-03-20"}

SKUS = ("Free", "Standard", "Premium", "PerNode", "PerGB2018", "Standalone", "CapacityReservation", "LACluster")
#: pricing tiers a workspace created today can't choose
LEGACY_SKUS = frozenset({"Free", "Standard", "Premium", "PerNode", "Standalone"})
CAPACITY_LEVELS = (100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 25000, 50000)
NETWORK_ACCESS = ("Enabled", "Disabled", "SecuredByPerimeter")
RETENTION_RANGE = (30, 730)
FREE_RETENTION_DAYS = 7
_WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$")
_FEATURE_FLAGS = ("enableDataExport", "immediatePurgeDataOn30Days", "enableLogAccessUsingOnlyResourcePermissions",
                  "disableLocalAuth", "dataAuthorizationMode")


def _enum(value: Any, allowed: tuple[str, ...], field: str) -> str:
    for option in allowed:
        if isinstance(value, str) and option.lower() == value.lower():
            return option
    raise invalid(f"'{field}' value '{value}' is invalid. Allowed values are: {', '.join(allowed)}.")


def _next_midnight() -> str:
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return tomorrow.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


@register
class WorkspaceKind(ResourceKind):
    type_name = "Microsoft.OperationalInsights/workspaces"
    template = "{resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}"
    api_versions = WORKSPACE_API_VERSIONS
    operation = "Microsoft.OperationalInsights/workspaces"
    methods = frozenset({"GET", "PUT", "PATCH", "DELETE"})
    system_data = True
    page_size = 100_000  # Workspaces_List* have no nextLink

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        if existing is None and not _WORKSPACE_NAME.match(ctx.name):
            raise invalid(f"Workspace name '{ctx.name}' is invalid. It must be 4 to 63 characters long, contain only "
                          "letters, digits and '-', and start and end with a letter or digit.")
        location = resolve_location(ctx, body, existing)
        props = properties_of(body)
        old = (existing or {}).get("properties", {})
        now = utc_now()
        sku = self._sku(props.get("sku"), old.get("sku"), creating=existing is None, now=now)
        out: dict[str, Any] = {
            "customerId": old.get("customerId") or str(uuid.uuid4()),
            "provisioningState": "Succeeded",
            "sku": sku,
            "retentionInDays": self._retention(props, old, sku["name"]),
            "workspaceCapping": self._capping(props.get("workspaceCapping"), old.get("workspaceCapping")),
            "publicNetworkAccessForIngestion": _enum(
                props.get("publicNetworkAccessForIngestion") or old.get("publicNetworkAccessForIngestion")
                or "Enabled", NETWORK_ACCESS, "publicNetworkAccessForIngestion"),
            "publicNetworkAccessForQuery": _enum(
                props.get("publicNetworkAccessForQuery") or old.get("publicNetworkAccessForQuery") or "Enabled",
                NETWORK_ACCESS, "publicNetworkAccessForQuery"),
            "createdDate": old.get("createdDate") or now,
            "modifiedDate": now,
            "features": self._features(props.get("features"), old.get("features")),
        }
        for key in ("forceCmkForQuery", "defaultDataCollectionRuleResourceId", "replication"):
            if key in props:
                out[key] = props[key]
            elif key in old:
                out[key] = old[key]
        resource: Resource = {"location": location, "tags": resolve_tags(body, existing), "properties": out}
        if isinstance(body.get("identity"), dict):
            resource["identity"] = body["identity"]
        return resource

    def _sku(self, sent: Any, old: Any, *, creating: bool, now: str) -> dict[str, Any]:
        if sent is None:
            return dict(old) if isinstance(old, dict) else {"name": "PerGB2018", "lastSkuUpdate": now}
        if not isinstance(sent, dict):
            raise invalid("'sku' must be an object with a 'name'.")
        name = _enum(sent.get("name"), SKUS, "sku.name")
        if name in LEGACY_SKUS and (creating or (old or {}).get("name") != name):
            raise invalid(f"Pricing tier '{name}' isn't available for this subscription: subscriptions created after "
                          "April 2, 2018 use 'PerGB2018' (or 'CapacityReservation').")
        sku: dict[str, Any] = {"name": name}
        if name == "CapacityReservation":
            level = sent.get("capacityReservationLevel")
            if level not in CAPACITY_LEVELS:
                raise invalid(f"'capacityReservationLevel' {level!r} is invalid. Allowed values are: "
                              f"{', '.join(map(str, CAPACITY_LEVELS))}.")
            sku["capacityReservationLevel"] = level
        changed = not isinstance(old, dict) or old.get("name") != name
        sku["lastSkuUpdate"] = now if changed else old.get("lastSkuUpdate", now)
        return sku

    def _retention(self, props: dict[str, Any], old: dict[str, Any], sku: str) -> int:
        if sku == "Free":
            return FREE_RETENTION_DAYS
        value = props.get("retentionInDays")
        if value is None:
            return int(old.get("retentionInDays") or RETENTION_RANGE[0])
        low, high = RETENTION_RANGE
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise invalid(f"'retentionInDays' value {value!r} is invalid for pricing tier '{sku}': it must be between "
                          f"{low} and {high} days.")
        return value

    def _capping(self, sent: Any, old: Any) -> dict[str, Any]:
        base = dict(old) if isinstance(old, dict) else {"dailyQuotaGb": -1.0}
        if sent is not None:
            if not isinstance(sent, dict):
                raise invalid("'workspaceCapping' must be an object.")
            quota = sent.get("dailyQuotaGb", base.get("dailyQuotaGb", -1.0))
            if isinstance(quota, bool) or not isinstance(quota, (int, float)) or (quota != -1 and quota < 0.023):
                raise invalid(f"'dailyQuotaGb' value {quota!r} is invalid: use -1 for no cap or at least 0.023 GB.")
            base["dailyQuotaGb"] = float(quota)
        base["quotaNextResetTime"] = base.get("quotaNextResetTime") or _next_midnight()
        base.setdefault("dataIngestionStatus", "RespectQuota")
        return base

    def _features(self, sent: Any, old: Any) -> dict[str, Any]:
        features = dict(old) if isinstance(old, dict) else {"legacy": 0, "searchVersion": 1,
                                                          "enableLogAccessUsingOnlyResourcePermissions": True}
        if sent is None:
            return features
        if not isinstance(sent, dict):
            raise invalid("'features' must be an object.")
        for key in _FEATURE_FLAGS:
            if key in sent and sent[key] is not None:
                if not isinstance(sent[key], bool):
                    raise invalid(f"'features.{key}' must be a boolean.")
                features[key] = sent[key]
        if "clusterResourceId" in sent:
            features["clusterResourceId"] = sent["clusterResourceId"]
        return features

    def after_write(self, ctx: Ctx, resource: Resource, existing: Resource | None) -> None:
        if existing is None:
            add_solution_tables(ctx.store, resource, sentinel=False)
        elif existing.get("properties", {}).get("retentionInDays") != resource["properties"]["retentionInDays"]:
            apply_workspace_retention(ctx, resource)


add_subscription_list(WorkspaceKind, "Microsoft.OperationalInsights/workspaces")


# -- saved searches ----------------------------------------------------------------------------------

_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAM = re.compile(
    r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*:\s*(?:string|int|long|real|bool|boolean|datetime|timespan|dynamic|guid|decimal"
    r"|\(\s*\*\s*\)|\([^()]*\))\s*(?:=\s*.+)?$",
    re.IGNORECASE,
)


def la_etag() -> str:
    """Log Analytics' weak etag for saved searches: ``W/"datetime'2026-11-25T17%3A40%3A00.1234567Z'"``."""
    return f"W/\"datetime'{quote(utc_now(), safe='')}'\""


def _split_params(text: str) -> list[str]:
    """Split ``a:string = "x,y", t:(*)`` on top-level commas (not inside quotes or parentheses)."""
    parts, depth, quote_char, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote_char:
            quote_char = "" if ch == quote_char else quote_char
        elif ch in "\"'":
            quote_char = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


@register
class SavedSearchKind(ResourceKind):
    type_name = "Microsoft.OperationalInsights/savedSearches"
    template = "{workspace}/savedSearches/{savedSearchId}"
    api_versions = SAVED_SEARCH_API_VERSIONS
    operation = "Microsoft.OperationalInsights/workspaces/savedSearches"
    parent_template = "{workspace}"
    parent_type = "Microsoft.OperationalInsights/workspaces"
    methods = frozenset({"GET", "PUT", "DELETE"})
    page_size = 100_000  # SavedSearches_ListByWorkspace is not pageable
    create_status = 200
    delete_missing_status = 200

    def not_found(self, ctx: Ctx) -> ArmError:
        return nested_not_found(ctx, "workspaceName", "Microsoft.OperationalInsights/workspaces", "savedSearches")

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        sent_etag = body.get("etag")
        if existing is not None and sent_etag and sent_etag not in ("*", existing.get("etag")):
            raise ArmError(412, "PreconditionFailed", f"The saved search '{ctx.name}' was changed since it was "
                           f"read: its etag is {existing.get('etag')}, the request carried {sent_etag}. Read it again, "
                           "or send '*' to overwrite.")
        props = properties_of(body, required=True)
        for field in ("category", "displayName", "query"):
            if not isinstance(props.get(field), str) or not props[field].strip():
                raise ArmError(400, "BadRequest", f"The saved search property '{field}' is required and must be a "
                               "non-empty string.")
        out: dict[str, Any] = {k: props[k] for k in ("category", "displayName", "query")}
        alias = props.get("functionAlias")
        if alias:
            if not isinstance(alias, str) or not _ALIAS.match(alias):
                raise ArmError(400, "BadRequest", f"Function alias '{alias}' is invalid: it must start with a letter "
                               "or '_' and contain only letters, digits and '_'.")
            self._check_alias_free(ctx, alias)
            out["functionAlias"] = alias
        params = props.get("functionParameters")
        if params:
            if not alias:
                raise ArmError(400, "BadRequest", "'functionParameters' can only be set on a function "
                               "(a saved search with a 'functionAlias').")
            bad = [p.strip() for p in _split_params(str(params)) if not _PARAM.match(p)]
            if bad:
                raise ArmError(400, "BadRequest", f"Function parameter '{bad[0]}' is invalid. Expected "
                               "'name:type' or 'name:type = default', separated by commas.")
            out["functionParameters"] = params
        version = props.get("version", 2)
        if isinstance(version, bool) or not isinstance(version, int) or version not in (1, 2):
            raise ArmError(400, "BadRequest", f"Query language version {version!r} is invalid; the current version "
                           "is 2.")
        out["version"] = version
        tags = props.get("tags")
        if tags is not None:
            if not isinstance(tags, list) or not all(
                isinstance(t, dict) and isinstance(t.get("name"), str) and isinstance(t.get("value"), str)
                for t in tags
            ):
                raise ArmError(400, "BadRequest", "Saved search 'tags' must be a list of {name, value} objects.")
            out["tags"] = tags
        return {"properties": out}

    def _check_alias_free(self, ctx: Ctx, alias: str) -> None:
        from ...logs.schemas import workspace_schemas

        workspace = ctx.parent() or {}
        tables = workspace_schemas(ctx.store, ctx.parent_id, str(workspace.get("properties", {}).get("customerId", "")))
        table = next((name for name in tables if name.lower() == alias.lower()), None)
        if table is not None:
            raise ArmError(400, "BadRequest", f"Function alias '{alias}' is the name of the table '{table}' in "
                           f"workspace '{ctx.params['workspaceName']}': a function cannot have the name of a table. "
                           "Choose another alias.")
        for other in ctx.store.children(ctx.collection_id):
            if other["name"].lower() == ctx.name.lower():
                continue
            if str(other.get("properties", {}).get("functionAlias", "")).lower() == alias.lower():
                raise ArmError(409, "Conflict", f"A function with alias '{alias}' already exists in workspace "
                               f"'{ctx.params['workspaceName']}' (saved search '{other['name']}').")

    def stamp(self, ctx: Ctx, resource: Resource, existing: Resource | None) -> Resource:
        out = super().stamp(ctx, resource, existing)
        out["etag"] = la_etag()
        return out
