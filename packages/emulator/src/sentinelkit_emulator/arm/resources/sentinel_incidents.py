"""Incidents and what hangs under them: comments, relations (alerts, entities, bookmarks) and tasks.

Like the real service, every change to an incident (or its comments, tasks and alert links) appends a
row to the workspace's ``SecurityIncident`` table, built by :func:`incident_log_row`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from starlette.responses import JSONResponse, Response

from ...errors import ArmError, bad_request
from ...model import World
from ...store import LogRow, Resource
from ..kinds import Ctx, register
from ..odata import parse_datetime
from .sentinel_common import (
    PORTAL,
    PROVIDER,
    SEVERITIES,
    SentinelKind,
    caller_client_info,
    find_user,
    invalid,
    now_iso,
    properties_of,
    req_enum,
    req_str,
)
from .sentinel_entities import ENTITY_TYPE, entities_metadata, entities_of_alerts, related, run_playbook_body

INCIDENT_TYPE = f"{PROVIDER}/incidents"
STATUSES = ("New", "Active", "Closed")
CLASSIFICATIONS = ("Undetermined", "TruePositive", "BenignPositive", "FalsePositive")
CLASSIFICATION_REASONS = ("SuspiciousActivity", "SuspiciousButExpected", "IncorrectAlertLogic", "InaccurateData")
#: which reasons go with which classification (the portal's pairs; Undetermined takes none)
REASONS_BY_CLASSIFICATION = {
    "Undetermined": (),
    "TruePositive": ("SuspiciousActivity",),
    "BenignPositive": ("SuspiciousButExpected",),
    "FalsePositive": ("IncorrectAlertLogic", "InaccurateData"),
}
TASK_STATUSES = ("New", "Completed")
OWNER_TYPES = ("Unknown", "User", "Group")
SEVERITY_RANK = {"informational": 0, "low": 1, "medium": 2, "high": 3}
PROVIDER_NAME = "Azure Sentinel"
MAX_COMMENT_LENGTH = 30000
UNASSIGNED: dict[str, Any] = {
    "objectId": None, "email": None, "assignedTo": None, "userPrincipalName": None, "ownerType": "Unknown",
}
#: what runs after an incident is created, ``hook(store, incident_id)`` (sentinel_automation adds its runner)
ON_INCIDENT_CREATED: list[Callable[[Any, str], object]] = []
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# -- shape and validation -------------------------------------------------------------------------
def normalize_owner(world: World, raw: Any) -> dict[str, Any]:
    """An owner given by any of objectId/UPN/email/name, completed from the directory; {} = unassigned."""
    if raw is None:
        return dict(UNASSIGNED)
    if not isinstance(raw, dict):
        raise invalid("properties.owner", "expected an object")
    fields = {k: raw.get(k) for k in ("objectId", "email", "assignedTo", "userPrincipalName")}
    if not any(fields.values()):
        return dict(UNASSIGNED)
    if fields["objectId"] and not _GUID_RE.match(str(fields["objectId"])):
        raise invalid("properties.owner.objectId", f"'{fields['objectId']}' is not a GUID")
    user = find_user(world, raw)
    if user is not None:
        return {
            "objectId": user.object_id, "email": user.email, "assignedTo": user.display_name,
            "userPrincipalName": user.user_principal_name, "ownerType": "User",
        }
    if fields["objectId"]:  # a principal the directory does not list (e.g. a group): keep what was sent
        owner_type = req_enum(raw, "ownerType", OWNER_TYPES, "properties.owner", required=False) or "Unknown"
        return {**fields, "ownerType": owner_type}
    raise invalid("properties.owner", "no user in the directory matches the given userPrincipalName/email/"
                  "assignedTo; give owner.objectId")


def normalize_labels(raw: Any, previous: Iterable[Mapping[str, Any]] = ()) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid("properties.labels", "expected an array of {labelName}")
    kinds = {str(p.get("labelName", "")).lower(): p.get("labelType", "User") for p in previous}
    labels: dict[str, dict[str, str]] = {}
    for i, label in enumerate(raw):
        name = label.get("labelName") if isinstance(label, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise invalid(f"properties.labels[{i}].labelName", "required non-empty string")
        labels.setdefault(name.lower(), {"labelName": name, "labelType": kinds.get(name.lower(), "User")})
    return list(labels.values())


def _activity_time(props: Mapping[str, Any], key: str) -> str | None:
    value = props.get(key)
    if value is None:
        return None
    if parse_datetime(value) is None:
        raise invalid(f"properties.{key}", f"'{value}' is not an ISO 8601 date-time")
    return value


def normalize_incident(props: Mapping[str, Any], world: World, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate the fields a client sets and return them in stored form (read-only fields excluded)."""
    status = req_enum(props, "status", STATUSES)
    classification = req_enum(props, "classification", CLASSIFICATIONS, required=False)
    reason = req_enum(props, "classificationReason", CLASSIFICATION_REASONS, required=False)
    if status == "Closed" and classification is None:
        raise bad_request(
            "Classification is required when closing an incident: set properties.classification "
            f"({', '.join(CLASSIFICATIONS)}) together with status 'Closed'."
        )
    if classification and reason and reason not in REASONS_BY_CLASSIFICATION[classification]:
        allowed = ", ".join(REASONS_BY_CLASSIFICATION[classification]) or "none"
        raise invalid("properties.classificationReason",
                      f"'{reason}' does not go with classification '{classification}' (allowed: {allowed})")
    description = props.get("description")
    if description is not None and not isinstance(description, str):
        raise invalid("properties.description", "expected a string")
    prev = previous or {}
    return {
        "title": req_str(props, "title"),
        "description": description,
        "severity": req_enum(props, "severity", SEVERITIES),
        "status": status,
        "classification": classification,
        "classificationReason": reason,
        "classificationComment": req_str(props, "classificationComment", required=False),
        "owner": normalize_owner(world, props.get("owner")),
        "labels": normalize_labels(props.get("labels"), prev.get("labels", ())),
        "firstActivityTimeUtc": _activity_time(props, "firstActivityTimeUtc") or prev.get("firstActivityTimeUtc"),
        "lastActivityTimeUtc": _activity_time(props, "lastActivityTimeUtc") or prev.get("lastActivityTimeUtc"),
    }


def incident_counter(workspace_id: str) -> str:
    """The store counter that numbers a workspace's incidents."""
    return f"incidents:{workspace_id.lower()}"


def workspace_of(resource_id: str) -> str:
    """The workspace id a Sentinel resource id lives under."""
    cut = resource_id.lower().find("/providers/microsoft.securityinsights")
    return resource_id[:cut] if cut > 0 else resource_id


# -- derived data ----------------------------------------------------------------------------------
def incident_alerts(store: Any, incident_id: str) -> list[Resource]:
    return related(store, incident_id, ["SecurityAlert"])


def incident_entities(store: Any, incident_id: str) -> list[Resource]:
    """Entities of the incident's alerts plus entities related to the incident directly."""
    direct = [e for e in related(store, incident_id) if e.get("kind") not in ("SecurityAlert", "Bookmark")]
    seen = {e["id"].lower(): e for e in entities_of_alerts(store, incident_alerts(store, incident_id))}
    for entity in direct:
        seen.setdefault(entity["id"].lower(), entity)
    return list(seen.values())


def additional_data(store: Any, incident: Resource, alerts: list[Resource] | None = None) -> dict[str, Any]:
    alerts = incident_alerts(store, incident["id"]) if alerts is None else alerts
    bookmarks = [r for r in store.children(f"{incident['id']}/relations")
                 if r["properties"].get("relatedResourceKind") == "Bookmark"]
    tactics: list[str] = []
    for alert in alerts:
        tactics += [t for t in alert["properties"].get("tactics", []) if t not in tactics]
    return {
        "alertsCount": len(alerts),
        "bookmarksCount": len(bookmarks),
        "commentsCount": len(store.children(f"{incident['id']}/comments")),
        "alertProductNames": sorted({a["properties"].get("productName") for a in alerts} - {None}),
        "tactics": tactics,
    }


# -- the SecurityIncident table ---------------------------------------------------------------------
def incident_log_row(
    incident: Resource,
    workspace: Resource,
    *,
    alerts: Iterable[Resource] = (),
    comments: Iterable[Resource] = (),
    tasks: Iterable[Resource] = (),
    additional: Mapping[str, Any] | None = None,
    previous: Mapping[str, Any] | None = None,
    modified_by: str = "",
    when: str | None = None,
) -> LogRow:
    """One ``SecurityIncident`` row describing ``incident`` as it is now (columns as Log Analytics names them).

    ``previous`` is the incident's last row, so that ClosedTime and FirstModifiedTime carry over;
    ``when`` is the change's time when it is not the incident's own lastModifiedTimeUtc (e.g. a new
    comment). Times are ISO strings; dynamic columns are Python lists/dicts.
    """
    p = incident["properties"]
    prev = previous or {}
    modified = when or p.get("lastModifiedTimeUtc")
    closed = None
    if p.get("status") == "Closed":
        closed = prev.get("ClosedTime") if prev.get("Status") == "Closed" else modified
    alert_list = list(alerts)
    return {
        "TimeGenerated": modified,
        "IncidentName": incident["name"],
        "IncidentNumber": p.get("incidentNumber"),
        "Title": p.get("title"),
        "Description": p.get("description") or "",
        "Severity": p.get("severity"),
        "Status": p.get("status"),
        "Classification": p.get("classification") or "",
        "ClassificationReason": p.get("classificationReason") or "",
        "ClassificationComment": p.get("classificationComment") or "",
        "Owner": {k: (p.get("owner") or {}).get(k) for k in ("objectId", "email", "assignedTo", "userPrincipalName")},
        "ProviderName": p.get("providerName", PROVIDER_NAME),
        "ProviderIncidentId": p.get("providerIncidentId") or str(p.get("incidentNumber")),
        "FirstActivityTime": p.get("firstActivityTimeUtc"),
        "LastActivityTime": p.get("lastActivityTimeUtc"),
        "FirstModifiedTime": prev.get("FirstModifiedTime") or (modified if prev else None),
        "LastModifiedTime": modified,
        "CreatedTime": p.get("createdTimeUtc"),
        "ClosedTime": closed,
        "AlertIds": [a["name"] for a in alert_list],
        "BookmarkIds": [],
        "Comments": [
            {"message": c["properties"]["message"], "createdTimeUtc": c["properties"]["createdTimeUtc"],
             "author": c["properties"].get("author")} for c in comments
        ],
        "Tasks": [
            {"taskId": t["name"], "title": t["properties"]["title"], "status": t["properties"]["status"],
             "createdTimeUtc": t["properties"].get("createdTimeUtc")} for t in tasks
        ],
        "Labels": [dict(label) for label in p.get("labels", [])],
        "IncidentUrl": p.get("incidentUrl"),
        "AdditionalData": dict(additional or {}),
        "ModifiedBy": modified_by,
        "SourceSystem": "Azure",
        "RelatedAnalyticRuleIds": list(p.get("relatedAnalyticRuleIds", [])),
        "TenantId": workspace["properties"]["customerId"],
        "Type": "SecurityIncident",
    }


def _last_row(rows: list[LogRow], incident_name: str) -> LogRow | None:
    for row in reversed(rows):
        if row.get("IncidentName") == incident_name:
            return row
    return None


def log_incident(store: Any, incident: Resource, modified_by: str, when: str | None = None) -> None:
    """Append the incident's current state to its workspace's SecurityIncident table."""
    workspace = store.get(workspace_of(incident["id"]))
    if workspace is None:
        return
    customer_id = workspace["properties"]["customerId"]
    alerts = incident_alerts(store, incident["id"])
    rows = store.workspace_logs(customer_id).get("SecurityIncident", [])
    row = incident_log_row(
        incident,
        workspace,
        alerts=alerts,
        comments=store.children(f"{incident['id']}/comments"),
        tasks=store.children(f"{incident['id']}/tasks"),
        additional=additional_data(store, incident, alerts),
        previous=_last_row(rows, incident["name"]),
        modified_by=modified_by,
        when=when,
    )
    store.append_logs(customer_id, "SecurityIncident", [row])


# -- kinds ----------------------------------------------------------------------------------------
@register
class IncidentKind(SentinelKind):
    """Incidents_List/Get/CreateOrUpdate/Delete and the POST list actions."""

    type_name = INCIDENT_TYPE
    template = "{sentinel}/incidents/{incidentId}"
    operation = f"{PROVIDER}/incidents"
    odata = True
    default_order = (("properties/createdTimeUtc", True),)
    order_ranks: ClassVar[dict[str, dict[str, int]]] = {"properties/severity": SEVERITY_RANK}
    actions: ClassVar[dict[str, tuple[str, bool]]] = {
        "alerts": ("list_alerts", False),
        "entities": ("list_entities", False),
        "bookmarks": ("list_bookmarks", False),
        "runPlaybook": ("run_playbook", True),
    }

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        prev = (existing or {}).get("properties", {})
        props = normalize_incident(properties_of(body), ctx.store.world, prev)
        now = now_iso()
        number = prev.get("incidentNumber") or ctx.store.next_counter(incident_counter(workspace_of(ctx.item_id or "")))
        props.update(
            {
                "createdTimeUtc": prev.get("createdTimeUtc", now),
                "lastModifiedTimeUtc": now,
                "incidentNumber": number,
                "incidentUrl": f"{PORTAL}{ctx.item_id}",
                "providerName": prev.get("providerName", PROVIDER_NAME),
                "providerIncidentId": prev.get("providerIncidentId", str(number)),
                "relatedAnalyticRuleIds": prev.get("relatedAnalyticRuleIds", []),
            }
        )
        props["firstActivityTimeUtc"] = props["firstActivityTimeUtc"] or props["createdTimeUtc"]
        props["lastActivityTimeUtc"] = props["lastActivityTimeUtc"] or props["createdTimeUtc"]
        return {"properties": props}

    def render(self, ctx: Ctx, resource: Resource) -> dict[str, Any]:
        out = super().render(ctx, resource)
        out["properties"]["additionalData"] = additional_data(ctx.store, resource)
        return out

    def after_write(self, ctx: Ctx, resource: Resource, existing: Resource | None) -> None:
        log_incident(ctx.store, resource, ctx.caller_name())
        if existing is None:  # Sentinel runs the workspace's "incident created" automation rules next
            for hook in ON_INCIDENT_CREATED:
                hook(ctx.store, resource["id"])

    def _incident(self, ctx: Ctx) -> Resource:
        incident = ctx.store.get(ctx.item_id or "")
        if incident is None:
            raise self.not_found(ctx)
        return incident

    async def list_alerts(self, ctx: Ctx) -> Response:
        incident = self._incident(ctx)
        return JSONResponse({"value": incident_alerts(ctx.store, incident["id"])})

    async def list_entities(self, ctx: Ctx) -> Response:
        entities = incident_entities(ctx.store, self._incident(ctx)["id"])
        return JSONResponse({"entities": entities, "metaData": entities_metadata(entities)})

    async def list_bookmarks(self, ctx: Ctx) -> Response:
        incident = self._incident(ctx)
        return JSONResponse({"value": related(ctx.store, incident["id"], ["Bookmark"])})

    async def run_playbook(self, ctx: Ctx) -> Response:
        self._incident(ctx)
        await run_playbook_body(ctx)
        return Response(status_code=204)


class IncidentChildKind(SentinelKind):
    """Something under an incident. Changing it leaves the incident resource (and its etag) alone but,
    as in Sentinel, writes a new SecurityIncident row (Comments, Tasks, AlertIds change)."""

    parent_template = "{sentinel}/incidents/{incidentId}"
    parent_type = INCIDENT_TYPE

    def _touch_incident(self, ctx: Ctx) -> None:
        incident = ctx.parent()
        if incident is not None:
            log_incident(ctx.store, incident, ctx.caller_name(), when=now_iso())

    def after_write(self, ctx: Ctx, resource: Resource, existing: Resource | None) -> None:
        self._touch_incident(ctx)

    def after_delete(self, ctx: Ctx, resource: Resource) -> None:
        self._touch_incident(ctx)


@register
class IncidentCommentKind(IncidentChildKind):
    type_name = f"{PROVIDER}/incidents/comments"
    template = "{sentinel}/incidents/{incidentId}/comments/{incidentCommentId}"
    operation = f"{PROVIDER}/incidents/comments"
    odata = True
    default_order = (("properties/createdTimeUtc", False),)

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        message = req_str(properties_of(body), "message")
        assert message is not None
        if len(message) > MAX_COMMENT_LENGTH:
            raise invalid("properties.message", f"{len(message)} characters; at most {MAX_COMMENT_LENGTH} allowed")
        prev = (existing or {}).get("properties", {})
        now = now_iso()
        return {
            "properties": {
                "message": message,
                "createdTimeUtc": prev.get("createdTimeUtc", now),
                "lastModifiedTimeUtc": now,
                "author": prev.get("author") or caller_client_info(ctx),
            }
        }


@register
class IncidentRelationKind(IncidentChildKind):
    type_name = f"{PROVIDER}/incidents/relations"
    template = "{sentinel}/incidents/{incidentId}/relations/{relationName}"
    operation = f"{PROVIDER}/incidents/relations"
    odata = True

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        target_id = req_str(properties_of(body), "relatedResourceId")
        assert target_id is not None
        target = ctx.store.get(target_id)
        same_workspace = workspace_of(target_id).lower() == workspace_of(ctx.item_id or "").lower()
        if target is None or not same_workspace:
            raise ArmError(400, "BadRequest", f"The related resource '{target_id}' was not found in this workspace; "
                           "relate an existing alert, entity or bookmark of the same workspace.")
        return {
            "properties": {
                "relatedResourceId": target["id"],
                "relatedResourceName": target["name"],
                "relatedResourceType": target.get("type", ENTITY_TYPE),
                "relatedResourceKind": target.get("kind"),
            }
        }


@register
class IncidentTaskKind(IncidentChildKind):
    type_name = f"{PROVIDER}/incidents/tasks"
    template = "{sentinel}/incidents/{incidentId}/tasks/{incidentTaskId}"
    operation = f"{PROVIDER}/incidents/tasks"

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        props = properties_of(body)
        prev = (existing or {}).get("properties", {})
        now = now_iso()
        who = caller_client_info(ctx)
        return {
            "properties": {
                "title": req_str(props, "title"),
                "description": req_str(props, "description", required=False),
                "status": req_enum(props, "status", TASK_STATUSES),
                "createdTimeUtc": prev.get("createdTimeUtc", now),
                "lastModifiedTimeUtc": now,
                "createdBy": prev.get("createdBy") or props.get("createdBy") or who,
                "lastModifiedBy": props.get("lastModifiedBy") or who,
            }
        }
