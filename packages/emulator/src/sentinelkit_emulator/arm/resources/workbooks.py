"""Azure Monitor workbooks (``workbooks_API.json`` 2023-06-01), as Microsoft Sentinel saves them.

Lists require ``category`` (Sentinel uses ``sentinel``) and omit ``serializedData`` unless
``canFetchContent=true``; the resource-group list can filter by ``sourceId`` (the workspace id for
Sentinel workbooks) and both by ``tags``. Names are GUIDs and ``kind`` is ``shared``. Every write
keeps the previous version as a revision (``{workbook}/revisions/{revisionId}``); restoring one is a PUT
of its content (the service has no restore action). Content above ``MAX_SERIALIZED_BYTES`` is refused
with 413 ``RequestEntityTooLarge`` "The workbook length is too large.", as the service answers (the
limit is not documented; public reports put it at 2 MB: hashicorp/terraform-provider-azurerm#24452,
Azure/Azure-Sentinel#9455).
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from ...errors import ArmError
from ...store import Resource
from ..kinds import Ctx, ResourceKind, register, utc_now
from .sub_lists import add_subscription_list
from .tracked import nested_not_found, properties_of, resolve_location, resolve_tags

WORKBOOK_API_VERSIONS = frozenset(
    {"2015-05-01", "2018-06-17-preview", "2020-10-20", "2021-03-08", "2021-08-01", "2022-04-01", "2023-06-01"}
)
WORKBOOK_TYPE = "microsoft.insights/workbooks"
_UPDATABLE = ("displayName", "serializedData", "category", "tags", "description")
#: the largest ``serializedData`` (UTF-8 bytes) the emulator stores
MAX_SERIALIZED_BYTES = 2 * 1024 * 1024


def _bool_param(ctx: Ctx, name: str) -> bool | None:
    value = ctx.query.get(name)
    return None if value is None else value.lower() == "true"


def filter_workbooks(ctx: Ctx, items: list[Resource]) -> list[Resource]:
    """Workbooks_ListBy*: ``category`` is required; ``sourceId`` and ``tags`` narrow the list."""
    category = ctx.query.get("category")
    if not category:
        raise ArmError(400, "BadRequest", "The 'category' query parameter is required (for example "
                       "'category=workbook' or 'category=sentinel').")
    out = [w for w in items if str(w.get("properties", {}).get("category", "")).lower() == category.lower()]
    source = ctx.query.get("sourceId")
    if source:
        out = [w for w in out if str(w["properties"].get("sourceId", "")).lower() == source.lower()]
    wanted = [t for t in (ctx.query.get("tags") or "").split(",") if t]
    if wanted:
        out = [w for w in out if all(t in (w["properties"].get("tags") or []) for t in wanted)]
    return out


def _check_serialized(data: Any) -> str:
    if not isinstance(data, str):
        raise ArmError(400, "BadRequest", "'serializedData' must be a string containing the workbook's JSON.")
    if len(data.encode("utf-8")) > MAX_SERIALIZED_BYTES:
        raise ArmError(413, "RequestEntityTooLarge", "The workbook length is too large.")
    try:
        json.loads(data)
    except ValueError as exc:
        raise ArmError(400, "BadRequest", f"'serializedData' is not valid JSON: {exc}.") from exc
    return data


@register
class WorkbookKind(ResourceKind):
    type_name = WORKBOOK_TYPE
    template = "{resourceGroup}/providers/Microsoft.Insights/workbooks/{resourceName}"
    api_versions = WORKBOOK_API_VERSIONS
    operation = "Microsoft.Insights/workbooks"
    methods = frozenset({"GET", "PUT", "PATCH", "DELETE"})
    system_data = True

    def not_found(self, ctx: Ctx) -> ArmError:
        return ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.Insights/workbooks/{ctx.name}' under "
                        f"resource group '{ctx.params['resourceGroupName']}' was not found. For more details please "
                        "go to https://aka.ms/ARMResourceNotFoundFix")

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        try:
            uuid.UUID(ctx.name)
        except ValueError as exc:
            raise ArmError(400, "BadRequest", f"The workbook resource name '{ctx.name}' is invalid: it must be a "
                           "GUID.") from exc
        location = resolve_location(ctx, body, existing)
        kind = body.get("kind", "shared")
        if kind != "shared":
            raise ArmError(400, "BadRequest", f"Workbook kind '{kind}' is not supported; the only valid value is "
                           "'shared'.")
        props = properties_of(body, required=True)
        for field in ("displayName", "category"):
            if not isinstance(props.get(field), str) or not props[field].strip():
                raise ArmError(400, "BadRequest", f"The workbook property '{field}' is required.")
        out: dict[str, Any] = {
            "displayName": props["displayName"],
            "serializedData": _check_serialized(props.get("serializedData")),
            "version": props.get("version") or "Notebook/1.0",
            "category": props["category"],
            "sourceId": props.get("sourceId") or ctx.query.get("sourceId") or "",
        }
        for key in ("description", "storageUri"):
            if isinstance(props.get(key), str):
                out[key] = props[key]
        out["tags"] = list(props.get("tags") or [])
        return self._finish(ctx, location, resolve_tags(body, existing), out, existing)

    def patch(self, ctx: Ctx, body: dict[str, Any], existing: Resource) -> Resource:
        """WorkbookUpdateParameters: tags plus a few properties; the rest stays."""
        props = properties_of(body)
        out = copy.deepcopy(existing["properties"])
        for key in _UPDATABLE:
            if key in props and props[key] is not None:
                out[key] = _check_serialized(props[key]) if key == "serializedData" else props[key]
        if ctx.query.get("sourceId"):
            out["sourceId"] = ctx.query["sourceId"]
        return self._finish(ctx, existing["location"], resolve_tags(body, existing, replace=False), out, existing)

    def _finish(self, ctx: Ctx, location: str, tags: dict[str, str], props: dict[str, Any],
                existing: Resource | None) -> Resource:
        props["timeModified"] = utc_now()
        props["userId"] = ctx.caller.object_id
        props["revision"] = uuid.uuid4().hex
        resource: Resource = {"location": location, "tags": tags, "kind": "shared", "properties": props}
        if existing is not None and isinstance(existing.get("identity"), dict):
            resource["identity"] = existing["identity"]
        return resource

    def after_write(self, ctx: Ctx, resource: Resource, existing: Resource | None) -> None:
        revision = copy.deepcopy(resource)
        rev_id = resource["properties"]["revision"]
        revision.update({"id": f"{resource['id']}/revisions/{rev_id}", "name": rev_id, "type": REVISION_TYPE})
        revision.pop("etag", None)
        ctx.store.put(revision)

    def render(self, ctx: Ctx, resource: Resource) -> dict[str, Any]:
        out = copy.deepcopy(resource)
        fetch = _bool_param(ctx, "canFetchContent")
        if (ctx.item_id is None and not fetch) or fetch is False:
            out.get("properties", {}).pop("serializedData", None)
        return out

    def list_items(self, ctx: Ctx) -> list[Resource]:
        return filter_workbooks(ctx, super().list_items(ctx))


REVISION_TYPE = "microsoft.insights/workbooks/revisions"


@register
class WorkbookRevisionKind(ResourceKind):
    """Workbooks_RevisionsList / Workbooks_RevisionGet: read-only snapshots kept by each write."""

    type_name = REVISION_TYPE
    template = "{resourceGroup}/providers/Microsoft.Insights/workbooks/{resourceName}/revisions/{revisionId}"
    api_versions = WORKBOOK_API_VERSIONS - {"2015-05-01", "2018-06-17-preview", "2020-10-20"}
    operation = "Microsoft.Insights/workbooks/revisions"
    parent_template = "{resourceGroup}/providers/Microsoft.Insights/workbooks/{resourceName}"
    parent_type = "Microsoft.Insights/workbooks"
    methods = frozenset({"GET"})
    has_etag = False

    def not_found(self, ctx: Ctx) -> ArmError:
        return nested_not_found(ctx, "resourceName", "Microsoft.Insights/workbooks", "revisions")

    def list_items(self, ctx: Ctx) -> list[Resource]:
        items = super().list_items(ctx)
        return sorted(items, key=lambda r: r["properties"].get("timeModified", ""), reverse=True)


add_subscription_list(WorkbookKind, "Microsoft.Insights/workbooks", filter_workbooks)
