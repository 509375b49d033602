"""Read-only incident tools: list (one workspace or many), details, comments, alerts, entities."""

from __future__ import annotations

import asyncio
from typing import Any

from sentinelkit import DEFAULT_BUDGET, READ_ONLY, Kit, KitError, Targets, Workspace, clip, tool

from . import access, related
from .filters import IncidentFilter, orderby, sort_rows
from .listing import listing_time, page_incidents
from .model import DEFAULT_FIELDS, row


async def matching(kit: Kit, chosen: Targets, flt: IncidentFilter, order: str, *, fresh: bool,
                   max_items: int = access.MAX_SCAN) -> tuple[list[tuple[Workspace, dict[str, Any]]],
                                                              dict[str, str], list[str]]:
    """(workspace, incident) pairs in ``order``, per-workspace errors, and workspaces that hit the cap."""
    odata = flt.odata()

    async def one(ws: Workspace) -> list[dict[str, Any]]:
        return await access.list_incidents(kit, ws, odata, order, fresh=fresh, max_items=max_items)

    done = await kit.fan_out(chosen, one, label="workspaces")
    pairs = [(ws, inc) for ws, items in done.results for inc in items]
    capped = [done.key(ws) for ws, items in done.results if len(items) >= max_items]
    if len(done.results) > 1:
        ranked = sort_rows([{**row(inc, ws), "_i": i} for i, (ws, inc) in enumerate(pairs)], order)
        pairs = [pairs[r["_i"]] for r in ranked]
    return pairs, done.error_messages(), capped


@tool(READ_ONLY, title="List incidents")
async def incident_list(
    kit: Kit,
    workspace: str | None = None,
    workspaces: list[str] | str | None = None,
    tenant: str | None = None,
    status: list[str] | str | None = None,
    severity: list[str] | str | None = None,
    owner: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    updated_after: str | None = None,
    updated_before: str | None = None,
    title: str | None = None,
    labels: list[str] | str | None = None,
    product: str | None = None,
    order: str = "created desc",
    fields: list[str] | None = None,
    limit: int = 25,
    cursor: str | None = None,
) -> dict[str, Any]:
    """List Microsoft Sentinel incidents (filtered by Sentinel; pages continue each workspace where it stopped;
    `total` on the last page).

    Args:
        workspace: One workspace (alias, name or ARM id). Leave empty to use `workspaces`.
        workspaces: Several workspaces, or "all" (every Sentinel workspace; the default when neither is given).
        tenant: Only workspaces of this tenant (short name, display name or id).
        status: New, Active and/or Closed.
        severity: High, Medium, Low and/or Informational.
        owner: UPN, email, display name or object id; "unassigned".
        created_after: ISO 8601, or a duration back from now (P7D).
        created_before: Same (P30D: older than 30 days).
        updated_after: Same, last modified.
        updated_before: Same, last modified.
        title: Text in the title (any case).
        labels: Labels it carries (all).
        product: Alert product, or part of its name.
        order: created, updated, severity, number or title, then asc/desc.
        fields: Default: id, number, title, severity, status, owner, created, tenant, workspace; more: updated, description, classification, classification_reason, classification_comment, labels, owner_details, alerts, comments, products, tactics, first_activity, last_activity, rules, url, etag.
        limit: Incidents per page (default 25).
        cursor: next_cursor of the previous page, to get the next one.
    """
    began = listing_time(cursor)
    flt = IncidentFilter.build(status=status, severity=severity, owner=owner, created_after=created_after,
                               created_before=created_before, updated_after=updated_after,
                               updated_before=updated_before, title=title, labels=labels, product=product,
                               now=began)
    sort = orderby(order)
    if limit < 1:
        raise KitError("limit must be at least 1")
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)
    merged = await page_incidents(kit, chosen, flt.odata(), sort, limit=limit, cursor=cursor, began=began)
    extra: dict[str, Any] = {"workspace": chosen[0].label} if chosen.single else {"workspaces": len(chosen)}
    if flt.describe():
        extra["filter"] = flt.describe()
    if merged.errors:
        extra["errors"] = merged.errors
        extra["note"] = ("the workspaces under errors are left out of this listing's next pages; call again without "
                         "cursor to try them again")
    out = kit.page(merged.rows, fields=fields, default_fields=DEFAULT_FIELDS, limit=limit, key="incidents",
                   extra=extra)
    for key in ("total", "next_cursor", "truncated"):  # a page of a merged stream: its own cursor and total
        out.pop(key, None)
    next_cursor, total = merged.after(out["count"])
    if total is not None:
        out["total"] = total
    if next_cursor:
        out["next_cursor"] = next_cursor
        cut = out["count"] < len(merged.rows)
        out["truncated"] = (f"showing {out['count']} incidents"
                            + (" (cut to stay within the answer's size budget)" if cut else f" (limit={limit})")
                            + f"; call again with cursor=\"{next_cursor}\" for the next page, or narrow the filter")
    return out


@tool(READ_ONLY, title="Show an incident")
async def incident_get(kit: Kit, workspace: str, incident_id: str) -> dict[str, Any]:
    """Show one incident in full: alerts, entities, incidents of the same rule, owner, labels,
    classification, comment count, etag.

    Args:
        workspace: Workspace alias, name or ARM id.
        incident_id: Number (e.g. 42) or GUID name.
    """
    ws = await kit.workspace(workspace)
    incident = await access.find(kit, ws, incident_id)
    alerts, entities, similar = await asyncio.gather(
        related.alerts(kit, ws, incident), related.entities(kit, ws, incident), related.similar(kit, ws, incident))
    details = {k: v for k, v in row(incident, ws).items() if v not in (None, [], "")}
    details["comments"] = details.get("comments", 0)
    out: dict[str, Any] = {
        "incident": details,
        "alerts": [{k: a[k] for k in (*related.ALERT_FIELDS, "tactics")} for a in alerts[:20]],
        "entities": [{k: e[k] for k in related.ENTITY_FIELDS} for e in entities[:40]],
        "related_incidents": similar,
    }
    return fit(out, len(alerts), len(entities))


def fit(out: dict[str, Any], alerts: int, entities: int) -> dict[str, Any]:
    """Keep a details answer within the core's size budget: clip long texts, then show fewer
    alerts/entities, and say where the rest is."""
    import json

    out = clip(out)
    while len(json.dumps(out, default=str)) > DEFAULT_BUDGET - 500 and (out["alerts"] or out["entities"]):
        longer = "entities" if len(out["entities"]) >= len(out["alerts"]) else "alerts"
        out[longer] = out[longer][: len(out[longer]) // 2]
    more = [f"{total} {key} ({tool})" for key, total, tool in (
        ("alerts", alerts, "incident_alert_list"), ("entities", entities, "incident_entity_list"))
        if len(out[key]) < total]
    if more:
        out["truncated"] = "showing the first of " + " and ".join(more) + " for the rest"
    return out


@tool(READ_ONLY, title="List an incident's comments")
async def incident_comment_list(kit: Kit, workspace: str, incident_id: str, fields: list[str] | None = None,
                                limit: int = 25, cursor: str | None = None) -> dict[str, Any]:
    """List the comments of an incident, oldest first.

    Args:
        workspace: Workspace alias, name or ARM id.
        incident_id: Number or GUID name.
        fields: Default: id, message, author, created; more: updated.
        limit: Comments per page (default 25).
        cursor: next_cursor of the previous page.
    """
    ws = await kit.workspace(workspace)
    incident = await access.find(kit, ws, incident_id, fresh=cursor is None)
    rows = await related.comments(kit, ws, incident, fresh=cursor is None)
    return kit.page(rows, fields=fields, default_fields=related.COMMENT_FIELDS, limit=limit, cursor=cursor,
                    key="comments", extra=_about(incident, ws))


@tool(READ_ONLY, title="List an incident's alerts")
async def incident_alert_list(kit: Kit, workspace: str, incident_id: str, fields: list[str] | None = None,
                              limit: int = 25, cursor: str | None = None) -> dict[str, Any]:
    """List the alerts grouped into an incident.

    Args:
        workspace: Workspace alias, name or ARM id.
        incident_id: Number or GUID name.
        fields: Default: id, title, severity, product, time, status; more: tactics, compromised_entity, description, alert_type, start, end.
        limit: Alerts per page (default 25).
        cursor: next_cursor of the previous page.
    """
    ws = await kit.workspace(workspace)
    incident = await access.find(kit, ws, incident_id, fresh=cursor is None)
    rows = await related.alerts(kit, ws, incident)
    return kit.page(rows, fields=fields, default_fields=related.ALERT_FIELDS, limit=limit, cursor=cursor,
                    key="alerts", extra=_about(incident, ws))


@tool(READ_ONLY, title="List an incident's entities")
async def incident_entity_list(kit: Kit, workspace: str, incident_id: str, kind: str | None = None,
                               fields: list[str] | None = None, limit: int = 25,
                               cursor: str | None = None) -> dict[str, Any]:
    """List the entities (accounts, hosts, IPs, URLs, files...) of an incident and its alerts.

    Args:
        workspace: Workspace alias, name or ARM id.
        incident_id: Number or GUID name.
        kind: Only this kind, e.g. Account, Host, Ip, Url, File.
        fields: Default: id, kind, name; more: properties.
        limit: Entities per page (default 25).
        cursor: next_cursor of the previous page.
    """
    ws = await kit.workspace(workspace)
    incident = await access.find(kit, ws, incident_id, fresh=cursor is None)
    rows = await related.entities(kit, ws, incident)
    if kind:
        rows = [r for r in rows if (r.get("kind") or "").lower() == kind.lower()]
    return kit.page(rows, fields=fields, default_fields=related.ENTITY_FIELDS, limit=limit, cursor=cursor,
                    key="entities", extra=_about(incident, ws))


def _about(incident: dict[str, Any], ws: Workspace) -> dict[str, Any]:
    p = incident.get("properties") or {}
    return {"incident": {"id": incident.get("name"), "number": p.get("incidentNumber"), "title": p.get("title")},
            "workspace": ws.label, "tenant": ws.tenant or ws.tenant_id}
