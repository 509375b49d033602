"""Reaching incidents in one workspace: paths, listing with a filter, finding one by GUID or number,
and writing one back with its etag so that a concurrent change is reported, never overwritten."""

from __future__ import annotations

from typing import Any

from sentinelkit import Kit, KitError, NotFoundError, PreconditionFailedError, Workspace

from .model import differences, owner_text, row, writable

#: the most incidents read from one workspace for one answer (the API's largest $top)
MAX_SCAN = 1000


#: the Microsoft.SecurityInsights api-version this pack calls (incidents, comments, alerts, entities)
API_VERSION = "2025-09-01"


def api() -> str:
    return API_VERSION


def collection(ws: Workspace) -> str:
    return f"{ws.id}/providers/Microsoft.SecurityInsights/incidents"


def label(incident: dict[str, Any]) -> str:
    """How an analyst names an incident: its number (and title)."""
    p = incident.get("properties") or {}
    return f"incident {p.get('incidentNumber')} \"{p.get('title')}\""


async def list_incidents(kit: Kit, ws: Workspace, odata_filter: str | None, order: str, *, fresh: bool = True,
                         max_items: int = MAX_SCAN) -> list[dict[str, Any]]:
    """Matching incidents of one workspace, ordered server-side.

    ``fresh`` reads past the cache (a first page must show what is there now); follow-up pages
    (``cursor``) reuse the cached list so that pages neither repeat nor skip incidents.
    """
    params: dict[str, Any] = {"$orderby": order, "$top": min(max_items, MAX_SCAN)}
    if odata_filter:
        params["$filter"] = odata_filter
    if fresh:
        kit.invalidate(collection(ws))  # fresh now, and cached again for the follow-up pages
    return await kit.arm(ws).list(collection(ws), api(), params=params, max_items=max_items,
                                  where=ws.where(resource="incidents", operation="list"))


async def find(kit: Kit, ws: Workspace, incident_id: str | int, *, fresh: bool = True) -> dict[str, Any]:
    """The incident named by its GUID or its number in the workspace, read now (not from cache)."""
    ref = str(incident_id).strip().lstrip("#")
    arm = kit.arm(ws)
    if ref.isdigit():
        items = await arm.list(collection(ws), api(), params={"$filter": f"properties/incidentNumber eq {int(ref)}"},
                               where=ws.where(resource=f"incident {ref}", operation="find"), cache=not fresh)
        if not items:
            raise not_found(ws, ref)
        return items[0]
    if not ref:
        raise KitError("no incident given: pass incident_id, the incident number (e.g. 42) or its GUID name "
                       "(see incident_list)")
    try:
        return await arm.get(f"{collection(ws)}/{ref}", api(), cache=not fresh,
                             where=ws.where(resource=f"incident {ref}", operation="read"))
    except NotFoundError:
        raise not_found(ws, ref) from None


def not_found(ws: Workspace, ref: str) -> KitError:
    return KitError(
        f"incident {ref} was not found in workspace {ws.label} (tenant {ws.tenant or ws.tenant_id}): check the number "
        "or GUID, and the workspace; incident_list shows the incidents that exist there"
    )


class Conflict(KitError):
    """The incident changed between our read and our write: nothing was written."""

    def __init__(self, message: str, changed: dict[str, Any], current: dict[str, Any]) -> None:
        super().__init__(message)
        self.changed = changed
        self.current = current


async def write(kit: Kit, ws: Workspace, incident: dict[str, Any], props: dict[str, Any], *,
                action: str) -> dict[str, Any]:
    """PUT ``props`` with the etag of ``incident`` (``If-Match``); a 412 becomes a ``Conflict`` that says
    what someone else changed and what the incident looks like now."""
    body = {"etag": incident.get("etag"), "properties": props}
    path = f"{collection(ws)}/{incident['name']}"
    number = (incident.get("properties") or {}).get("incidentNumber")
    try:
        return await kit.arm(ws).put(path, api(), body, etag=incident.get("etag"),
                                     where=ws.where(resource=f"incident {number}", operation=action))
    except PreconditionFailedError:
        pass
    current = await kit.arm(ws).get(path, api(), cache=False,
                                    where=ws.where(resource=f"incident {number}", operation="read"))
    cur = current.get("properties") or {}
    changed = differences(incident.get("properties") or {}, cur)
    listed = "; ".join(f"{k}: {v['was']!r} → {v['now']!r}" for k, v in changed.items()) or (
        "comments, tasks or alerts only")
    who = (current.get("systemData") or {}).get("lastModifiedBy")
    raise Conflict(
        f"{label(incident)} in workspace {ws.label} (tenant {ws.tenant or ws.tenant_id}) was changed by someone else "
        f"({who or 'unknown'}, at {cur.get('lastModifiedTimeUtc')}) after it was read, so nothing was written "
        f"(etag mismatch). What changed: {listed}. Now: status {cur.get('status')}, severity {cur.get('severity')}, "
        f"owner {owner_text(cur.get('owner')) or 'unassigned'}. Review it, then call again to apply your change to "
        "the current version.",
        changed, row(current, ws),
    )


def expect_etag(incident: dict[str, Any], ws: Workspace, etag: str | None) -> None:
    """Refuse when the caller read the incident at another version (``etag`` from incident_get)."""
    if etag and etag.strip('"') != str(incident.get("etag") or "").strip('"'):
        p = incident.get("properties") or {}
        raise Conflict(
            f"{label(incident)} in workspace {ws.label} (tenant {ws.tenant or ws.tenant_id}) changed since you read it "
            f"(etag {etag} → {incident.get('etag')}, last modified {p.get('lastModifiedTimeUtc')} by "
            f"{(incident.get('systemData') or {}).get('lastModifiedBy') or 'unknown'}), so nothing was written. "
            f"Now: status {p.get('status')}, severity {p.get('severity')}, owner "
            f"{owner_text(p.get('owner')) or 'unassigned'}, title {p.get('title')!r}. Read it again with incident_get "
            "and retry with its new etag (or without etag).",
            {}, row(incident, ws),
        )


def base_props(incident: dict[str, Any]) -> dict[str, Any]:
    return writable(incident.get("properties") or {})
