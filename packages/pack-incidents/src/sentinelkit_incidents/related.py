"""What hangs under an incident: alerts, entities, comments and similar incidents, as compact rows."""

from __future__ import annotations

from typing import Any

from sentinelkit import Kit, Workspace

from .access import api, collection, list_incidents

ALERT_FIELDS = ["id", "title", "severity", "product", "time", "status"]
ENTITY_FIELDS = ["id", "kind", "name"]
COMMENT_FIELDS = ["id", "message", "author", "created"]


def alert_row(alert: dict[str, Any]) -> dict[str, Any]:
    p = alert.get("properties") or {}
    return {
        "id": alert.get("name"),
        "title": p.get("alertDisplayName") or p.get("friendlyName"),
        "severity": p.get("severity"),
        "product": p.get("productName"),
        "time": p.get("timeGenerated"),
        "status": p.get("status"),
        "tactics": p.get("tactics") or [],
        "compromised_entity": p.get("compromisedEntity"),
        "description": p.get("description"),
        "alert_type": p.get("alertType"),
        "start": p.get("startTimeUtc"),
        "end": p.get("endTimeUtc"),
    }


def entity_row(entity: dict[str, Any]) -> dict[str, Any]:
    p = dict(entity.get("properties") or {})
    name = p.get("friendlyName") or p.get("hostName") or p.get("accountName") or p.get("address") or entity.get("name")
    p.pop("friendlyName", None)
    return {"id": entity.get("name"), "kind": entity.get("kind"), "name": name, "properties": p}


def comment_row(comment: dict[str, Any]) -> dict[str, Any]:
    p = comment.get("properties") or {}
    author = p.get("author") or {}
    return {
        "id": comment.get("name"),
        "message": p.get("message"),
        "author": author.get("userPrincipalName") or author.get("email") or author.get("name"),
        "created": p.get("createdTimeUtc"),
        "updated": p.get("lastModifiedTimeUtc"),
    }


def _path(ws: Workspace, incident: dict[str, Any]) -> str:
    return f"{collection(ws)}/{incident['name']}"


async def alerts(kit: Kit, ws: Workspace, incident: dict[str, Any]) -> list[dict[str, Any]]:
    number = (incident.get("properties") or {}).get("incidentNumber")
    data = await kit.arm(ws).post(f"{_path(ws, incident)}/alerts", api(), write=False,
                                  where=ws.where(resource=f"incident {number}", operation="list alerts of"))
    return [alert_row(a) for a in (data or {}).get("value", [])]


async def entities(kit: Kit, ws: Workspace, incident: dict[str, Any]) -> list[dict[str, Any]]:
    number = (incident.get("properties") or {}).get("incidentNumber")
    data = await kit.arm(ws).post(f"{_path(ws, incident)}/entities", api(), write=False,
                                  where=ws.where(resource=f"incident {number}", operation="list entities of"))
    return [entity_row(e) for e in (data or {}).get("entities", [])]


async def comments(kit: Kit, ws: Workspace, incident: dict[str, Any], *, fresh: bool) -> list[dict[str, Any]]:
    number = (incident.get("properties") or {}).get("incidentNumber")
    path = f"{_path(ws, incident)}/comments"
    if fresh:
        kit.invalidate(path)
    items = await kit.arm(ws).list(path, api(), where=ws.where(resource=f"incident {number}",
                                                                 operation="list comments of"))
    rows = [comment_row(c) for c in items]
    return sorted(rows, key=lambda r: r.get("created") or "")


async def similar(kit: Kit, ws: Workspace, incident: dict[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    """Other incidents raised by the same analytics rule (newest first): the usual "related" an analyst
    checks for a campaign or a noisy rule."""
    from .model import row

    p = incident.get("properties") or {}
    rules = p.get("relatedAnalyticRuleIds") or []
    if rules:
        term = "(" + " or ".join(f"properties/relatedAnalyticRuleIds/any(r: r eq '{r}')" for r in rules[:3]) + ")"
    else:
        term = "properties/title eq '" + str(p.get("title") or "").replace("'", "''") + "'"
    found = await list_incidents(kit, ws, term, "properties/createdTimeUtc desc", fresh=False, max_items=limit + 1)
    keep = ("id", "number", "title", "severity", "status", "owner", "created")
    return [{k: r[k] for k in keep} for r in (row(i, ws) for i in found) if r["id"] != incident.get("name")][:limit]
