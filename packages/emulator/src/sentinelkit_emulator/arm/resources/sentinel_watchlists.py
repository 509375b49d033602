"""Watchlists and their items. A PUT with CSV ``rawContent`` creates the items in one go; deleting a
watchlist is a long-running operation in recent api-versions (202 + Azure-AsyncOperation).

Every change is also written to the workspace's ``Watchlist`` table, as Sentinel does: one row per
watchlist or item and change, with ``_DTItemType`` (``watchlist`` / ``watchlist-item``) and
``_DTItemStatus`` (``Create`` / ``Update`` / ``Delete``). ``_GetWatchlist`` reads the latest state of
each item (see ``logs/functions.py``).
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.responses import Response

from ...store import Resource, Store, new_etag
from ..kinds import Ctx, register
from .sentinel_common import (
    PROVIDER,
    SentinelKind,
    invalid,
    iso,
    now_iso,
    parse_duration,
    properties_of,
    req_duration,
    req_enum,
    req_int,
    req_str,
)
from .sentinel_incidents import workspace_of

WATCHLIST_TYPE = f"{PROVIDER}/Watchlists"
ITEM_TYPE = f"{PROVIDER}/Watchlists/WatchlistItems"
SOURCE_TYPES = ("Local", "AzureStorage")
CSV = "text/csv"
#: the Log Analytics table Sentinel writes watchlist changes to
LOG_TABLE = "Watchlist"
#: from this api-version on, Watchlists_Delete answers 202 + Azure-AsyncOperation (older ones 200)
ASYNC_DELETE_FROM = "2025-07-01"


def user_info(ctx: Ctx) -> dict[str, Any]:
    """The caller as Sentinel's UserInfo (objectId, email, name)."""
    return {"objectId": ctx.caller.object_id, "email": None, "name": ctx.caller_name()}


def tenant_of(ctx: Ctx) -> str:
    sub = ctx.store.world.subscription(ctx.params["subscriptionId"])
    return sub.tenant_id if sub else ""


def parse_csv(props: Mapping[str, Any], search_key: str) -> list[dict[str, str]]:
    """The rows of a watchlist's CSV ``rawContent`` as dicts keyed by the header."""
    content_type = str(props.get("contentType") or "")
    if content_type.lower() != CSV:
        raise invalid("properties.contentType", f"'{content_type}' is not supported; rawContent must be '{CSV}'")
    skip = req_int(props, "numberOfLinesToSkip", required=False, low=0, high=1000) or 0
    lines = str(props["rawContent"]).splitlines()[skip:]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = reader.fieldnames or []
    if search_key not in header:
        raise invalid("properties.itemsSearchKey", f"'{search_key}' is not a column of rawContent (columns: "
                      f"{', '.join(header) or 'none'})")
    return [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]


def item_resource(watchlist_id: str, item_id: str, values: Mapping[str, Any], tenant_id: str, when: str,
                  who: Mapping[str, Any]) -> Resource:
    return {
        "id": f"{watchlist_id}/watchlistItems/{item_id}",
        "name": item_id,
        "type": ITEM_TYPE,
        "etag": new_etag(),
        "properties": {
            "watchlistItemType": "watchlist-item",
            "watchlistItemId": item_id,
            "tenantId": tenant_id,
            "isDeleted": False,
            "created": when,
            "updated": when,
            "createdBy": dict(who),
            "updatedBy": dict(who),
            "itemsKeyValue": dict(values),
            "entityMapping": {},
        },
    }


def _ttl(watchlist: Mapping[str, Any], created: str) -> str | None:
    duration = (watchlist.get("properties") or {}).get("defaultDuration")
    if not duration or not created:
        return None
    span = parse_duration(str(duration))
    if span is None:
        return None
    start = datetime.fromisoformat(created.replace("Z", "+00:00"))
    return iso(start + span)


def watchlist_log_row(watchlist: Mapping[str, Any], item: Mapping[str, Any] | None, status: str, when: str
                      ) -> dict[str, Any]:
    """One row of the ``Watchlist`` table: a change (``Create``/``Update``/``Delete``) of the watchlist
    itself (``item`` None) or of one of its items."""
    wp = watchlist.get("properties") or {}
    ip = (item or {}).get("properties") or {}
    values = dict(ip.get("itemsKeyValue") or {})
    key = str(wp.get("itemsSearchKey") or "")
    source = ip if item is not None else wp
    created = str(source.get("created") or when)
    return {
        "TimeGenerated": when, "_DTTimestamp": when,
        "AzureTenantId": wp.get("tenantId"),
        "WatchlistId": wp.get("watchlistId"), "WatchlistName": wp.get("displayName"),
        "WatchlistAlias": wp.get("watchlistAlias") or watchlist.get("name"),
        "Source": wp.get("source"), "Provider": wp.get("provider"), "Notes": wp.get("description"),
        "Tags": json.dumps(wp.get("labels") or []), "DefaultDuration": wp.get("defaultDuration"),
        "CreatedBy": source.get("createdBy"), "UpdatedBy": source.get("updatedBy"),
        "CreatedTimeUTC": created, "LastUpdatedTimeUTC": str(source.get("updated") or when),
        "TimeToLive": _ttl(watchlist, created),
        "_DTItemType": "watchlist-item" if item is not None else "watchlist",
        "_DTItemStatus": status,
        "_DTItemId": str(ip.get("watchlistItemId") or (item or {}).get("name")) if item is not None
        else wp.get("watchlistId"),
        "WatchlistItemId": str(ip.get("watchlistItemId") or (item or {}).get("name")) if item is not None else None,
        "WatchlistItem": values if item is not None else None,
        "SearchKey": str(values.get(key, "")) if item is not None else key,
        "EntityMapping": ip.get("entityMapping") if item is not None else None,
    }


def log_watchlist(store: Store, watchlist: Mapping[str, Any], items: list[Mapping[str, Any] | None], status: str,
                  when: str | None = None) -> None:
    """Append changes of ``watchlist`` (``None`` in ``items``: the watchlist itself) to its workspace's
    ``Watchlist`` table."""
    workspace = store.get(workspace_of(str(watchlist["id"])))
    if workspace is None or not items:
        return
    stamp = when or now_iso()
    store.append_logs(workspace["properties"]["customerId"], LOG_TABLE,
                      [watchlist_log_row(watchlist, item, status, stamp) for item in items])


def live_log_items(store: Store, watchlist: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The latest ``Watchlist`` row of each item of ``watchlist`` not deleted, by item id."""
    workspace = store.get(workspace_of(str(watchlist["id"])))
    if workspace is None:
        return {}
    alias = str((watchlist.get("properties") or {}).get("watchlistAlias") or watchlist.get("name")).lower()
    latest: dict[str, dict[str, Any]] = {}
    for row in store.workspace_logs(workspace["properties"]["customerId"]).get(LOG_TABLE, []):
        if row.get("_DTItemType") == "watchlist-item" and str(row.get("WatchlistAlias") or "").lower() == alias:
            latest[str(row["_DTItemId"])] = row
    return {k: v for k, v in latest.items() if v.get("_DTItemStatus") != "Delete"}


def normalize_watchlist(props: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the fields a client sets on a watchlist (stored form, without audit fields)."""
    labels = props.get("labels")
    if labels is not None and not (isinstance(labels, list) and all(isinstance(v, str) for v in labels)):
        raise invalid("properties.labels", "expected an array of strings")
    req_duration(props, "defaultDuration", required=False)
    return {
        "displayName": req_str(props, "displayName"),
        "provider": req_str(props, "provider"),
        "source": req_str(props, "source", required=False),
        "sourceType": req_enum(props, "sourceType", SOURCE_TYPES, required=False) or "Local",
        "description": req_str(props, "description", required=False),
        "labels": labels or [],
        "defaultDuration": props.get("defaultDuration"),
        "itemsSearchKey": req_str(props, "itemsSearchKey"),
        "contentType": props.get("contentType"),
        "numberOfLinesToSkip": props.get("numberOfLinesToSkip", 0),
    }


@register
class WatchlistKind(SentinelKind):
    type_name = WATCHLIST_TYPE
    template = "{sentinel}/watchlists/{watchlistAlias}"
    operation = f"{PROVIDER}/watchlists"

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        raw = properties_of(body)
        props = normalize_watchlist(raw)
        prev = (existing or {}).get("properties", {})
        if prev and prev.get("itemsSearchKey") != props["itemsSearchKey"]:
            raise invalid("properties.itemsSearchKey", "cannot change on an existing watchlist")
        now, who = now_iso(), user_info(ctx)
        props.update({
            "watchlistId": prev.get("watchlistId") or str(uuid.uuid4()),
            "watchlistAlias": ctx.name,
            "watchlistType": "watchlist",
            "tenantId": tenant_of(ctx),
            "isDeleted": False,
            "created": prev.get("created", now),
            "updated": now,
            "createdBy": prev.get("createdBy", who),
            "updatedBy": who,
            "uploadStatus": "Complete",
            "provisioningState": "Succeeded",
        })
        out: Resource = {"properties": props}
        if raw.get("rawContent"):
            # handed to after_write, which creates the items and drops this transient key
            out["_items"] = parse_csv(raw, props["itemsSearchKey"])
        return out

    def after_write(self, ctx: Ctx, resource: Resource, existing: Resource | None) -> None:
        rows = resource.pop("_items", None)
        log_watchlist(ctx.store, resource, [None], "Update" if existing else "Create")
        if rows is None:
            return
        replaced = ctx.store.children(f"{resource['id']}/watchlistItems")
        for old in replaced:
            ctx.store.delete(old["id"])
        log_watchlist(ctx.store, resource, list(replaced), "Delete")
        now, who, tenant = now_iso(), user_info(ctx), tenant_of(ctx)
        created = [ctx.store.put(item_resource(resource["id"], str(uuid.uuid4()), row, tenant, now, who))
                   for row in rows]
        log_watchlist(ctx.store, resource, list(created), "Create", now)

    def after_delete(self, ctx: Ctx, resource: Resource) -> None:
        """The watchlist and every item it still had are deleted in the ``Watchlist`` table too."""
        gone = [{"name": item_id, "properties": {"watchlistItemId": item_id,
                                                 "itemsKeyValue": row.get("WatchlistItem") or {}}}
                for item_id, row in live_log_items(ctx.store, resource).items()]
        log_watchlist(ctx.store, resource, [None, *gone], "Delete")

    def delete_response(self, ctx: Ctx, resource: Resource) -> Response:
        if ctx.api_version[:10] < ASYNC_DELETE_FROM:
            return super().delete_response(ctx, resource)
        op_id = str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        ctx.store.operations[op_id] = {"status": "Succeeded", "resource_id": resource["id"], "startTime": stamp,
                                       "endTime": stamp, "polls_left": 0}
        location = (ctx.parent() or {}).get("location", "westeurope")
        url = (f"{ctx.rt.base_url}/subscriptions/{ctx.params['subscriptionId']}/providers/{PROVIDER}/locations/"
               f"{location}/operationStatuses/{op_id}?api-version={ctx.api_version}")
        return Response(status_code=202, headers={"Azure-AsyncOperation": url, "Location": url, "Retry-After": "0"})


@register
class WatchlistItemKind(SentinelKind):
    type_name = ITEM_TYPE
    template = "{sentinel}/watchlists/{watchlistAlias}/watchlistItems/{watchlistItemId}"
    parent_template = "{sentinel}/watchlists/{watchlistAlias}"
    parent_type = WATCHLIST_TYPE
    operation = f"{PROVIDER}/watchlists/watchlistItems"

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        props = properties_of(body)
        values = props.get("itemsKeyValue")
        if not isinstance(values, dict) or not values:
            raise invalid("properties.itemsKeyValue", "required non-empty object of column -> value")
        watchlist = ctx.parent() or {}
        key = watchlist.get("properties", {}).get("itemsSearchKey")
        if key and key not in values:
            raise invalid("properties.itemsKeyValue", f"the watchlist's search key column '{key}' is missing")
        prev = (existing or {}).get("properties", {})
        now, who = now_iso(), user_info(ctx)
        stored = item_resource(watchlist.get("id", ""), ctx.name, values, tenant_of(ctx), now, who)["properties"]
        stored.update({"created": prev.get("created", now), "createdBy": prev.get("createdBy", who),
                       "entityMapping": props.get("entityMapping") or prev.get("entityMapping") or {}})
        return {"properties": stored}

    def after_write(self, ctx: Ctx, resource: Resource, existing: Resource | None) -> None:
        watchlist = ctx.parent()
        if watchlist is not None:
            log_watchlist(ctx.store, watchlist, [resource], "Update" if existing else "Create")

    def after_delete(self, ctx: Ctx, resource: Resource) -> None:
        watchlist = ctx.parent()
        if watchlist is not None:
            log_watchlist(ctx.store, watchlist, [resource], "Delete")
