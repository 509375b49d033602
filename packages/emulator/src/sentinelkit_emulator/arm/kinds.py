"""Resource kinds: how one ARM resource type is addressed, versioned, validated and listed.

A kind is declared once with a path template; the router matches requests against every kind and
calls the generic handlers below, which a kind customises by overriding a few methods
(``build``, ``list_items``, ``after_write``, ``actions``...). Kinds are registered with
:func:`register` at import time of their module (see ``arm/resources/``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from ..errors import ArmError, not_found
from ..store import Resource, new_etag

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..tokens import Caller

#: Macros usable in templates, expanded before compiling.
MACROS = {
    "{subscription}": "/subscriptions/{subscriptionId}",
    "{resourceGroup}": "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
    "{workspace}": "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}",
    "{sentinel}": "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}/providers/Microsoft.SecurityInsights",
}


def expand(template: str) -> str:
    for macro, value in MACROS.items():
        template = template.replace(macro, value)
    return template


def compile_template(template: str) -> re.Pattern[str]:
    """``/a/{x}/b`` -> a case-insensitive regex with named groups; ``{resourceUri}`` spans segments."""
    parts = []
    for segment in expand(template).strip("/").split("/"):
        m = re.fullmatch(r"\{(\w+)\}", segment)
        if m and m.group(1) == "resourceUri":
            parts.append(r"(?P<resourceUri>subscriptions/[^/]+(?:/[^/]+)*?)")
        elif m:
            parts.append(rf"(?P<{m.group(1)}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$", re.IGNORECASE)


def utc_now() -> str:
    """ARM's timestamp format (UTC, 7 fractional digits like .NET, trailing Z)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


@dataclass
class Ctx:
    """One ARM request, parsed."""

    request: Request
    rt: Runtime
    caller: Caller
    kind: ResourceKind
    params: dict[str, str]  # template captures (subscriptionId, workspaceName, ... and the item name)
    api_version: str
    collection_id: str  # canonical path of the collection
    item_id: str | None  # canonical path of the item (None for list requests)

    @property
    def store(self):  # noqa: ANN201 - Store; kept untyped to avoid an import cycle
        return self.rt.store

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    @property
    def name(self) -> str:
        return self.params[self.kind.name_param]

    @property
    def parent_id(self) -> str:
        """The resource this kind hangs under (e.g. the workspace for a Sentinel incident)."""
        return self.kind.parent_id(self.params)

    def parent(self) -> Resource | None:
        return self.store.get(self.parent_id) if self.parent_id else None

    def caller_name(self) -> str:
        principal = self.store.world.principal_by_client_id(self.caller.app_id)
        return principal.name if principal else self.caller.app_id


class ResourceKind:
    """Generic behaviour for one ARM resource type. Subclass and set the class attributes."""

    #: the ``type`` field ARM returns, e.g. ``Microsoft.SecurityInsights/Incidents``
    type_name: ClassVar[str]
    #: item path template using MACROS and ``{param}`` placeholders; the last one is the name
    template: ClassVar[str]
    api_versions: ClassVar[frozenset[str]]
    #: RBAC operation prefix used in 403 messages, e.g. ``Microsoft.SecurityInsights/incidents``
    operation: ClassVar[str] = ""
    #: template of the parent resource that must exist (e.g. ``{workspace}``); "" for none
    parent_template: ClassVar[str] = ""
    #: human type name of the parent for 404 messages
    parent_type: ClassVar[str] = ""
    methods: ClassVar[frozenset[str]] = frozenset({"GET", "PUT", "DELETE"})
    listable: ClassVar[bool] = True
    page_size: ClassVar[int] = 100
    #: Sentinel style: the etag travels in the body and is compared on PUT
    body_etag: ClassVar[bool] = False
    #: whether resources carry an etag at all
    has_etag: ClassVar[bool] = True
    etag_quoted: ClassVar[bool] = True
    system_data: ClassVar[bool] = False
    #: POST actions on an item: action name -> (method name on this class, needs write)
    actions: ClassVar[dict[str, tuple[str, bool]]] = {}
    #: status of DELETE on an existing resource
    delete_status: ClassVar[int] = 200
    #: whether the router answers ResourceGroupNotFound for a missing resource group first
    checks_resource_group: ClassVar[bool] = True
    #: set to the provider namespace (e.g. ``Microsoft.OperationalInsights``) to make PUT long-running
    lro_provider: ClassVar[str] = ""
    #: methods that are long-running when ``lro_provider`` is set (Log Analytics tables: PUT and PATCH)
    lro_methods: ClassVar[frozenset[str]] = frozenset({"PUT"})
    #: status of a PUT that creates (SavedSearches_CreateOrUpdate only declares 200)
    create_status: ClassVar[int] = 201
    #: status of DELETE on a missing resource
    delete_missing_status: ClassVar[int] = 204
    #: whether PUT/PATCH need a body (an optional body reads as {}, e.g. Sentinel onboarding states)
    body_required: ClassVar[bool] = True

    def __init__(self) -> None:
        self.item_re = compile_template(self.template)
        collection = expand(self.template).rsplit("/", 1)[0]
        self.collection_re = compile_template(collection)
        self.name_param = re.findall(r"\{(\w+)\}", self.template)[-1]
        self._parent_re = compile_template(self.parent_template) if self.parent_template else None

    # -- addressing ----------------------------------------------------------------------------
    def parent_id(self, params: dict[str, str]) -> str:
        if not self.parent_template:
            return ""
        return fill(self.parent_template, params)

    def permission(self, write: bool, action: str | None = None) -> str:
        if action:
            return f"{self.operation}/{action}/action"
        return f"{self.operation}/{'write' if write else 'read'}"

    # -- hooks a kind overrides --------------------------------------------------------------------
    def check_parent(self, ctx: Ctx) -> None:
        """404 when the parent (e.g. the workspace) does not exist. Override for extra rules."""
        if self.parent_template and ctx.parent() is None:
            parent_name = ctx.parent_id.rsplit("/", 1)[-1]
            raise not_found(self.parent_type, parent_name, ctx.params.get("resourceGroupName"))

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        """Validate a PUT body and return the resource to store (without id/name/type/etag)."""
        return {k: v for k, v in body.items() if k in ("properties", "kind", "location", "tags", "sku")}

    def patch(self, ctx: Ctx, body: dict[str, Any], existing: Resource) -> Resource:
        """Merge a PATCH body into the existing resource (ARM merge-patch semantics)."""
        merged = copy.deepcopy(existing)
        merge_patch(merged, body)
        return self.build(ctx, merged, existing)

    def after_write(self, ctx: Ctx, resource: Resource, existing: Resource | None) -> None:
        """Side effects of a successful write (e.g. a SecurityIncident log row)."""

    def before_delete(self, ctx: Ctx, resource: Resource) -> None:
        """Raise to refuse a delete (e.g. Azure tables of a workspace can't be deleted)."""

    def after_delete(self, ctx: Ctx, resource: Resource) -> None:
        """Side effects of a delete."""

    def delete_response(self, ctx: Ctx, resource: Resource) -> Response:
        """The answer to a successful DELETE (override e.g. for 202 + Azure-AsyncOperation)."""
        return Response(status_code=self.delete_status)

    def list_items(self, ctx: Ctx) -> list[Resource]:
        """The resources a list request returns, before paging. Override for $filter etc."""
        return ctx.store.children(ctx.collection_id)

    def render(self, ctx: Ctx, resource: Resource) -> dict[str, Any]:
        """What a GET returns for a stored resource."""
        return clone(resource)

    def not_found(self, ctx: Ctx) -> ArmError:
        return not_found(self.type_name, ctx.name, ctx.params.get("resourceGroupName"))

    # -- generic operations ---------------------------------------------------------------------
    def stamp(self, ctx: Ctx, resource: Resource, existing: Resource | None) -> Resource:
        """Fill id/name/type/etag/systemData the way ARM does."""
        assert ctx.item_id is not None
        out: Resource = {"id": ctx.item_id, "name": ctx.name, "type": self.type_name}
        out.update(resource)
        if self.has_etag:
            out["etag"] = new_etag(self.etag_quoted)
        if self.system_data:
            now = utc_now()
            who = ctx.caller_name()
            created = (existing or {}).get("systemData", {})
            out["systemData"] = {
                "createdBy": created.get("createdBy", who),
                "createdByType": created.get("createdByType", "Application"),
                "createdAt": created.get("createdAt", now),
                "lastModifiedBy": who,
                "lastModifiedByType": "Application",
                "lastModifiedAt": now,
            }
        return out


def fill(template: str, params: dict[str, str]) -> str:
    """Expand a template with captured parameters (keeping the caller's casing)."""
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], expand(template))


def clone(value: Any) -> Any:
    """A deep copy of a JSON body (dicts, lists, scalars): what ``copy.deepcopy`` does for it, several times
    faster (no memo: JSON has no shared or cyclic parts). Lists answer many of these per request."""
    if type(value) is dict:
        return {k: clone(v) for k, v in value.items()}
    if type(value) is list:
        return [clone(v) for v in value]
    return value


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """RFC 7396 merge patch, in place."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


_KINDS: list[ResourceKind] = []


def register(cls: type[ResourceKind]) -> type[ResourceKind]:
    """Class decorator: make a kind routable."""
    _KINDS.append(cls())
    # most specific (longest) templates first so that nested kinds win over their parents
    _KINDS.sort(key=lambda k: -len(expand(k.template).split("/")))
    return cls


def kinds() -> list[ResourceKind]:
    return list(_KINDS)
