"""Entities: security alerts and the accounts, hosts, IPs, URLs and files they name.

Sentinel creates these (rules, connectors); clients only read them. They are stored as real resources
at ``{sentinel}/entities/{id}`` and linked by relations (incident -> alert, alert -> entity) so that
an incident's alerts, its entities and the log rows about them always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from starlette.responses import Response

from ...errors import bad_request
from ...store import Resource
from ..kinds import Ctx, register
from ..router import read_json
from .sentinel_common import PROVIDER, SentinelKind

ENTITY_TYPE = f"{PROVIDER}/Entities"
RELATION_TYPE = f"{PROVIDER}/entities/relations"
ENTITY_KINDS = (
    "Account", "Host", "File", "AzureResource", "CloudApplication", "DnsResolution", "FileHash", "Ip", "Malware",
    "Process", "RegistryKey", "RegistryValue", "SecurityGroup", "Url", "IoTDevice", "SecurityAlert", "Bookmark",
    "MailCluster", "MailMessage", "Mailbox", "SubmissionMail",
)


def entity_id(sentinel: str, name: str) -> str:
    return f"{sentinel}/Entities/{name}"


def relation_body(owner_id: str, name: str, related: Resource, type_name: str) -> Resource:
    """A relation from ``owner_id`` (incident or alert) to another Sentinel resource."""
    return {
        "id": f"{owner_id}/relations/{name}",
        "name": name,
        "type": type_name,
        "properties": {
            "relatedResourceId": related["id"],
            "relatedResourceName": related["name"],
            "relatedResourceType": related["type"],
            "relatedResourceKind": related.get("kind"),
        },
    }


def related(store: Any, owner_id: str, kinds: Iterable[str] | None = None) -> list[Resource]:
    """Resources that ``owner_id``'s relations point to (optionally only of some kinds), in relation order."""
    wanted = {k.lower() for k in kinds} if kinds is not None else None
    out = []
    for rel in store.children(f"{owner_id}/relations"):
        props = rel.get("properties", {})
        if wanted is not None and str(props.get("relatedResourceKind") or "").lower() not in wanted:
            continue
        target = store.get(props.get("relatedResourceId", ""))
        if target is not None:
            out.append(target)
    return out


def entities_of_alerts(store: Any, alerts: Iterable[Resource]) -> list[Resource]:
    """The distinct entities the given alerts name."""
    seen: dict[str, Resource] = {}
    for alert in alerts:
        for entity in related(store, alert["id"]):
            seen.setdefault(entity["id"].lower(), entity)
    return list(seen.values())


def entities_metadata(entities: Iterable[Resource]) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for entity in entities:
        counts[entity["kind"]] = counts.get(entity["kind"], 0) + 1
    return [{"entityKind": kind, "count": n} for kind, n in sorted(counts.items())]


async def run_playbook_body(ctx: Ctx) -> dict[str, Any]:
    """The manual-trigger body both runPlaybook actions take; the playbook itself is not run."""
    body = await read_json(ctx.request)
    app = body.get("logicAppsResourceId")
    if not isinstance(app, str) or "/providers/microsoft.logic/workflows/" not in app.lower():
        raise bad_request("Invalid data model. [logicAppsResourceId: required; the ARM id of a Logic App "
                          "(…/providers/Microsoft.Logic/workflows/{name})]")
    return body


@register
class EntityKind(SentinelKind):
    """Entities_Get / Entities_List (preview) and Entities_RunPlaybook; read-only otherwise."""

    type_name = ENTITY_TYPE
    template = "{sentinel}/entities/{entityId}"
    operation = f"{PROVIDER}/entities"
    methods = frozenset({"GET"})
    has_etag = False
    body_etag = False
    actions: ClassVar[dict[str, tuple[str, bool]]] = {"runPlaybook": ("run_playbook", True)}

    async def run_playbook(self, ctx: Ctx) -> Response:
        if ctx.item_id is None or ctx.store.get(ctx.item_id) is None:
            raise self.not_found(ctx)
        await run_playbook_body(ctx)
        return Response(status_code=204)


@register
class EntityRelationKind(SentinelKind):
    """EntitiesRelations_List / EntityRelations_GetRelation (preview): what an alert names."""

    type_name = RELATION_TYPE
    template = "{sentinel}/entities/{entityId}/relations/{relationName}"
    parent_template = "{sentinel}/entities/{entityId}"
    parent_type = ENTITY_TYPE
    operation = f"{PROVIDER}/entities/relations"
    methods = frozenset({"GET"})
    has_etag = False
    body_etag = False
    odata = True
