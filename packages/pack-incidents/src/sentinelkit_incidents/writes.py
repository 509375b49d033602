"""Incident writes: update, close, assign, comment. Each reads the incident now, shows exactly what
changes, confirms through the core, and writes with the etag it read (``If-Match``)."""

from __future__ import annotations

import uuid
from typing import Any

from sentinelkit import (
    ADDITIVE,
    DESTRUCTIVE,
    BadRequestError,
    Kit,
    KitError,
    NotFoundError,
    PreconditionFailedError,
    Workspace,
    clip,
    tool,
)

from . import access
from .changes import Change, before_after, owner_body
from .model import DEFAULT_FIELDS, row

#: the longest comment Sentinel accepts (characters)
MAX_COMMENT = 30_000
ROW_KEY = {"classificationReason": "classification_reason", "classificationComment": "classification_comment"}


def compact(incident: dict[str, Any], ws: Workspace, *extra: str) -> dict[str, Any]:
    full = row(incident, ws)
    return {k: full[k] for k in (*DEFAULT_FIELDS, *extra, "etag")}


async def change_one(kit: Kit, workspace: str, incident_id: str, change: Change, action: str,
                     etag: str | None = None) -> dict[str, Any]:
    """Read → diff → confirm → PUT with If-Match. Changes nothing when the incident already is so."""
    ws = await kit.workspace(workspace)
    incident = await access.find(kit, ws, incident_id)
    access.expect_etag(incident, ws, etag)
    old = access.base_props(incident)
    new = change.apply(old)
    diff = before_after(incident.get("properties") or {}, new)
    shown = [ROW_KEY.get(k, k) for k in diff if ROW_KEY.get(k, k) not in DEFAULT_FIELDS]
    if not diff:
        return {"changed": False, "incident": compact(incident, ws),
                "message": f"{access.label(incident)} already is so; nothing was written"}
    where = f"{access.label(incident)} in workspace {ws.label} (tenant {ws.tenant or ws.tenant_id})"
    reopens = old.get("status") == "Closed" and new.get("status") != "Closed"
    summary = f"{action} {where}" + (f"; this reopens it and clears its classification "
                                     f"({old.get('classification')})" if reopens else "")
    await kit.confirm_change(summary, clip({"incident": compact(incident, ws), "changes": diff}), removes=reopens)
    result = await access.write(kit, ws, incident, new, action=action)
    return clip({"changed": True, "incident": compact(result or incident, ws, *shown), "changes": diff})


@tool(ADDITIVE, title="Update an incident", can_remove=True)
async def incident_update(
    kit: Kit,
    workspace: str,
    incident_id: str,
    severity: str | None = None,
    status: str | None = None,
    title: str | None = None,
    description: str | None = None,
    labels_add: list[str] | None = None,
    labels_remove: list[str] | None = None,
    etag: str | None = None,
) -> dict[str, Any]:
    """Change an incident's severity, status (New/Active), title, description or labels.

    The incident is written with the version it was read at: if someone else changed it meanwhile,
    nothing is overwritten and the answer says what they changed. To close, use incident_close.

    Args:
        workspace: Workspace alias, name or ARM id.
        incident_id: The incident number (e.g. 42) or its GUID name.
        severity: High, Medium, Low or Informational.
        status: New or Active (reopens a closed incident and clears its classification).
        title: New title.
        description: New description.
        labels_add: Labels to add (kept once, whatever their case).
        labels_remove: Labels to remove.
        etag: The etag incident_get showed; when given, the update is refused if the incident changed since.
    """
    if status and status.strip().lower() == "closed":
        raise KitError("to close an incident use incident_close: it needs a classification and asks for confirmation")
    change = Change(status=status, severity=severity, title=title, description=description,
                    labels_add=list(labels_add or []), labels_remove=list(labels_remove or [])).validate()
    return await change_one(kit, workspace, incident_id, change, "update", etag)


@tool(DESTRUCTIVE, title="Close an incident")
async def incident_close(
    kit: Kit,
    workspace: str,
    incident_id: str,
    classification: str,
    classification_reason: str | None = None,
    comment: str | None = None,
    etag: str | None = None,
) -> dict[str, Any]:
    """Close an incident with a classification (asks for confirmation first).

    Without a client that can ask the user, the answer is a preview to repeat with confirm=true.

    Args:
        workspace: Workspace alias, name or ARM id.
        incident_id: The incident number (e.g. 42) or its GUID name.
        classification: TruePositive, BenignPositive, FalsePositive or Undetermined.
        classification_reason: TruePositive → SuspiciousActivity; BenignPositive → SuspiciousButExpected; FalsePositive → IncorrectAlertLogic or InaccurateData. Filled in when only one fits.
        comment: Closing comment (the incident's classification comment).
        etag: The etag incident_get showed; when given, closing is refused if the incident changed since.
    """
    change = Change(classification=classification, classification_reason=classification_reason,
                    classification_comment=comment).validate()
    return await change_one(kit, workspace, incident_id, change, "close", etag)


@tool(ADDITIVE, title="Assign an incident")
async def incident_assign(kit: Kit, workspace: str, incident_id: str, owner: str | None = None,
                          etag: str | None = None) -> dict[str, Any]:
    """Assign an incident to an analyst, or unassign it.

    Args:
        workspace: Workspace alias, name or ARM id.
        incident_id: The incident number (e.g. 42) or its GUID name.
        owner: The analyst's UPN, email or Entra object id; empty (or "unassigned") to remove the owner.
        etag: The etag incident_get showed; when given, the change is refused if the incident changed since.
    """
    change = Change(owner=owner_body(owner)).validate()
    try:
        return await change_one(kit, workspace, incident_id, change, "assign", etag)
    except BadRequestError as exc:  # the owner is all this call changes: Sentinel refused it
        raise exc.with_message(f"{exc} Sentinel could not resolve owner {owner!r}: check the UPN/email, or pass "
                               "the user's Entra object id.") from None


@tool(ADDITIVE, title="Comment on an incident")
async def incident_comment_add(kit: Kit, workspace: str, incident_id: str, message: str,
                               comment_id: str | None = None) -> dict[str, Any]:
    """Add a comment to an incident; safe to retry.

    The same message on the same incident gets the same comment id, so a repeated call never posts
    it twice.

    Args:
        workspace: Workspace alias, name or ARM id.
        incident_id: The incident number (e.g. 42) or its GUID name.
        message: The comment (plain text or simple HTML, up to 30,000 characters).
        comment_id: A GUID of your choice for the comment; by default one derived from the incident and message.
    """
    if not message or not message.strip():
        raise KitError("message is empty: give the comment's text")
    if len(message) > MAX_COMMENT:
        raise KitError(f"message has {len(message):,} characters; Sentinel keeps at most {MAX_COMMENT:,} per comment. "
                       "Shorten it or split it into several comments; nothing was written")
    if comment_id is not None and not _is_guid(comment_id):
        raise KitError(f"comment_id {comment_id!r} is not a GUID; leave it out to derive one from the message")
    ws = await kit.workspace(workspace)
    incident = await access.find(kit, ws, incident_id)
    cid = comment_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{incident['id'].lower()}\n{message}"))
    path = f"{access.collection(ws)}/{incident['name']}/comments/{cid}"
    number = (incident.get("properties") or {}).get("incidentNumber")
    where = ws.where(resource=f"incident {number} comment {cid}", operation="add")
    arm = kit.arm(ws)
    try:
        existing = await arm.get(path, access.api(), cache=False, where=where)
    except NotFoundError:
        existing = None
    about = {"incident": {"id": incident["name"], "number": number, "title": (incident.get("properties") or {}).get("title")},
             "workspace": ws.label, "tenant": ws.tenant or ws.tenant_id, "comment_id": cid}
    if existing:
        if (existing.get("properties") or {}).get("message") == message:
            return {**about, "added": False, "message": "this comment is already on the incident (a retried call); "
                                                        "nothing was written"}
        raise KitError(f"comment {cid} on {access.label(incident)} in workspace {ws.label} already holds another "
                       "message; choose another comment_id or leave it out")
    await kit.confirm_change(f"add a comment to {access.label(incident)} in workspace {ws.label}",
                             clip({"comment_id": cid, "message": message}))
    try:
        result = await arm.put(path, access.api(), {"properties": {"message": message}}, where=where, create_only=True)
    except PreconditionFailedError:  # created meanwhile: a concurrent call with the same message, or our retry
        kit.report_outcome("no_change", "the comment was already on the incident when it was written")
        return {**about, "added": False, "message": "this comment is on the incident already (added by a concurrent "
                                                    "or retried request); nothing more was written"}
    author = ((result or {}).get("properties") or {}).get("author") or {}
    return {**about, "added": True, "created": ((result or {}).get("properties") or {}).get("createdTimeUtc"),
            "author": author.get("userPrincipalName") or author.get("name")}


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
