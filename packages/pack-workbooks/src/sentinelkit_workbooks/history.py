"""A workbook's history: the revisions the service keeps, restoring one, and deleting the workbook."""

from __future__ import annotations

from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, NotFoundError, tool

from . import api, content, locate

REVISION_FIELDS = ["revision", "modified", "author", "name", "steps", "size", "current"]


def _revision_row(rev: dict[str, Any], current: str | None) -> dict[str, Any]:
    props = rev.get("properties") or {}
    system = rev.get("systemData") or {}
    data = props.get("serializedData")
    row: dict[str, Any] = {"revision": rev.get("name"), "modified": props.get("timeModified"),
                           "author": system.get("lastModifiedBy") or props.get("userId"),
                           "name": props.get("displayName"), "steps": None,
                           "size": len(data.encode("utf-8")) if isinstance(data, str) else None,
                           "current": rev.get("name") == current, "description": props.get("description")}
    if isinstance(data, str):
        try:
            row["steps"] = sum(1 for _ in content.steps(content.parse(data, where="revision")))
        except KitError:
            row["steps"] = None
    return row


async def _revisions(kit: Kit, ws: Any, resource: dict[str, Any]) -> list[dict[str, Any]]:
    items = await kit.arm(ws).list(f"{api.item(ws, resource['name'])}/revisions", api.VERSION, cache=False,
                                   where=ws.where(resource=f"workbook {locate.display_name(resource)!r}",
                                                  operation="list revisions of"))
    return sorted(items, key=lambda r: str((r.get("properties") or {}).get("timeModified") or ""), reverse=True)


@tool(READ_ONLY, title="List a workbook's revisions")
async def workbook_revisions(kit: Kit, workspace: str, workbook: str, fields: list[str] | None = None,
                             limit: int = 25, cursor: str | None = None) -> dict[str, Any]:
    """List the previous versions Azure keeps of a workbook (every save makes one), newest first, with the
    current one marked; restore one with workbook_restore.

    Args:
        workspace: Workspace the workbook belongs to (alias, name or ARM id).
        workbook: Display name, id (GUID) or ARM id of the workbook.
        fields: Fields per revision (default: revision, modified, author, name, steps, size, current); ["*"] for all.
        limit: Revisions per page.
        cursor: next_cursor of the previous page.
    """
    ws = await kit.workspace(workspace)
    resource = await locate.find(kit, ws, workbook)
    current = (resource.get("properties") or {}).get("revision")
    rows = [_revision_row(r, current) for r in await _revisions(kit, ws, resource)]
    return kit.page(rows, fields=fields, default_fields=REVISION_FIELDS, limit=limit, cursor=cursor, key="revisions",
                    extra={"workbook": locate.display_name(resource), "id": resource["name"], "workspace": ws.label,
                           "current_revision": current})


@tool(ADDITIVE, title="Restore a previous revision of a workbook")
async def workbook_restore(kit: Kit, workspace: str, workbook: str, revision: str,
                           etag: str | None = None) -> dict[str, Any]:
    """Put a workbook back to one of its revisions (see workbook_revisions): its content, name and description
    are saved as the newest version, with the workbook's etag; the version replaced stays in the revisions,
    so a restore can itself be undone.

    Args:
        workspace: Workspace the workbook belongs to (alias, name or ARM id).
        workbook: Display name, id (GUID) or ARM id of the workbook.
        revision: Revision id (see workbook_revisions).
        etag: The etag you read (workbook_get); the restore fails if the workbook changed since. Default: the current one.
    """
    ws = await kit.workspace(workspace)
    resource = await locate.find(kit, ws, workbook)
    name, props = resource["name"], resource.get("properties") or {}
    try:
        old = await kit.arm(ws).get(f"{api.item(ws, name)}/revisions/{revision.strip()}", api.VERSION, cache=False,
                                    where=ws.where(resource=f"revision {revision} of workbook {name}", operation="read"))
    except NotFoundError:
        known = [r.get("name") for r in await _revisions(kit, ws, resource)][:10]
        raise KitError(f"workbook {locate.display_name(resource)!r} of {ws.label} has no revision {revision!r}; its "
                       f"latest are {', '.join(str(k) for k in known) or 'none'} (workbook_revisions)") from None
    old_props = old.get("properties") or {}
    if old.get("name") == props.get("revision") or (
            old_props.get("serializedData") == props.get("serializedData")
            and old_props.get("displayName") == props.get("displayName")):
        return {"action": "unchanged", "workbook": props.get("displayName"), "revision": revision,
                "message": "the workbook already has this revision's content; nothing was written"}
    send = locate.etag_to_send(resource, etag, ws, "written")
    restored_data = old_props.get("serializedData")
    restored = content.parse(restored_data, where=f"revision {revision}")
    body_props = {"displayName": old_props.get("displayName") or props.get("displayName"),
                  "serializedData": restored_data, "version": old_props.get("version") or props.get("version"),
                  "category": props.get("category") or api.CATEGORY, "sourceId": props.get("sourceId"),
                  "tags": list(old_props.get("tags") or props.get("tags") or [])}
    if old_props.get("description") or props.get("description"):
        body_props["description"] = old_props.get("description") or props.get("description")
    tags = {**(resource.get("tags") or {}), "hidden-title": body_props["displayName"]}
    body = {"location": resource["location"], "kind": api.KIND, "tags": tags, "properties": body_props}
    before = sum(1 for _ in content.steps(content.parse(props.get("serializedData"), where="the workbook")))
    after = sum(1 for _ in content.steps(restored))
    await kit.confirm_change(
        f"restore workbook {props.get('displayName')!r} of {ws.label} to revision {revision} "
        f"({old_props.get('timeModified')})",
        {"workbook": name, "revision": revision, "revision_time": old_props.get("timeModified"),
         "display_name": {"now": props.get("displayName"), "restored": body_props["displayName"]},
         "steps": {"now": before, "restored": after}, "replaced_revision": props.get("revision"), "etag": send})
    with locate.stale_etag(resource, ws, "written"):
        saved = await kit.arm(ws).put(api.item(ws, name), api.VERSION, body, etag=send,
                                      where=ws.where(resource=f"workbook {props.get('displayName')!r}", operation="restore"))
    return {"action": "restored", "workbook": body_props["displayName"], "id": name, "workspace": ws.label,
            "from_revision": revision, "replaced_revision": props.get("revision"),
            "revision": ((saved or {}).get("properties") or {}).get("revision")}


@tool(DESTRUCTIVE, title="Delete a Sentinel workbook")
async def workbook_delete(kit: Kit, workspace: str, workbook: str, etag: str | None = None) -> dict[str, Any]:
    """Delete a saved workbook from Sentinel, with its revisions (export it first with workbook_export to keep
    a copy). Templates are not affected.

    Args:
        workspace: Workspace the workbook belongs to (alias, name or ARM id).
        workbook: Display name, id (GUID) or ARM id of the workbook.
        etag: The etag you read (workbook_get); the delete fails if the workbook changed since. Default: the current one.
    """
    ws = await kit.workspace(workspace)
    resource = await locate.find(kit, ws, workbook)
    props = resource.get("properties") or {}
    send = locate.etag_to_send(resource, etag, ws, "deleted")
    data = content.parse(props.get("serializedData"), where=f"workbook {props.get('displayName')!r}")
    await kit.confirm_change(
        f"delete workbook {props.get('displayName')!r} ({resource['name']}) from {ws.label} (tenant {ws.tenant_label}) "
        "with its revisions",
        {"workbook": props.get("displayName"), "id": resource["name"], "modified": props.get("timeModified"),
         "steps": sum(1 for _ in content.steps(data)), "template": data.get("fromTemplateId"), "etag": send})
    with locate.stale_etag(resource, ws, "deleted"):
        await kit.arm(ws).delete(api.item(ws, resource["name"]), api.VERSION, etag=send,
                                 where=ws.where(resource=f"workbook {props.get('displayName')!r}", operation="delete"))
    return {"deleted": props.get("displayName"), "id": resource["name"], "workspace": ws.label,
            "note": "its revisions are gone too; a workbook_export made before deleting can be re-imported"}
