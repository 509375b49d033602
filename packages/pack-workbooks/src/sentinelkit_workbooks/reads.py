"""Reading workbooks: the listing (one workspace or many) and one workbook's metadata, outline or JSON."""

from __future__ import annotations

import json
from typing import Any, Literal

from sentinelkit import DEFAULT_BUDGET, READ_ONLY, FanOut, Kit, KitError, Workspace, clip, tool

from . import content, locate

LIST_FIELDS = ["name", "id", "workspace", "modified", "author", "template", "size"]
OUTLINE_FIELDS = ["step", "type", "title", "query", "tables", "parameters"]


def row(resource: dict[str, Any], workspace: str) -> dict[str, Any]:
    """One workbook in a listing: metadata and size, never the content."""
    props = resource.get("properties") or {}
    system = resource.get("systemData") or {}
    data = props.get("serializedData")
    out: dict[str, Any] = {
        "name": props.get("displayName"), "id": resource.get("name"), "workspace": workspace,
        "modified": props.get("timeModified") or system.get("lastModifiedAt"),
        "author": system.get("createdBy") or props.get("userId"), "modified_by": system.get("lastModifiedBy"),
        "created": system.get("createdAt"), "description": props.get("description"),
        "revision": props.get("revision"), "location": resource.get("location"),
        "resource_group": resource.get("id", "").split("/resourceGroups/")[-1].split("/", 1)[0] or None,
        "arm_id": resource.get("id"), "category": props.get("category"), "owner_object_id": props.get("userId"),
        "template": None, "size": None, "steps": None,
    }
    if isinstance(data, str):
        out["size"] = len(data.encode("utf-8"))
        try:
            parsed = content.parse(data, where="workbook")
        except KitError as exc:
            out["problem"] = str(exc)
        else:
            out["template"] = parsed.get("fromTemplateId")
            out["steps"] = sum(1 for _ in content.steps(parsed))
    return out


def _page_fan_out(kit: Kit, done: FanOut[list[dict[str, Any]]], *, fields: list[str] | None, limit: int,
                  cursor: str | None) -> dict[str, Any]:
    rows = sorted((r for _, rows in done.results for r in rows),
                  key=lambda r: (r["workspace"].lower(), str(r["name"] or "").lower(), r["id"]))
    extra: dict[str, Any] = {"workspaces": done.total}
    if done.errors:
        extra["errors"] = done.error_messages()
    return kit.page(rows, fields=fields, default_fields=LIST_FIELDS, limit=limit, cursor=cursor, key="workbooks",
                    extra=extra)


@tool(READ_ONLY, title="List Sentinel workbooks")
async def workbook_list(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                        tenant: str | None = None, name_contains: str | None = None, fields: list[str] | None = None,
                        limit: int = 25, cursor: str | None = None) -> dict[str, Any]:
    """List the workbooks saved in Microsoft Sentinel ("My workbooks"): display name, id, last modified,
    author, the template it came from and its size. Never the content (workbook_get shows it). Across
    workspaces and tenants with `workspaces`/`tenant`.

    Args:
        workspace: One workspace (alias, name or ARM id); omit to cover `workspaces`/`tenant`.
        workspaces: Workspaces to cover (names, aliases or ids), or "all" (the default): every Sentinel workspace.
        tenant: Only workspaces of this tenant (short name, display name or id).
        name_contains: Only workbooks whose display name contains this text (case-insensitive).
        fields: Fields per workbook (default: name, id, workspace, modified, author, template, size); also steps, description, revision, modified_by, created, location, resource_group, arm_id; ["*"] for all.
        limit: Workbooks per page.
        cursor: next_cursor of the previous page.
    """
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)
    wanted = (name_contains or "").strip().lower()

    async def one(ws: Workspace) -> list[dict[str, Any]]:
        items = await locate.list_workbooks(kit, ws, content=True)
        return [row(w, ws.label) for w in items if wanted in locate.display_name(w).lower()]

    done = await kit.fan_out(chosen, one)
    for ws, rows in done.results:  # the names answers use (unique among the targets)
        for r in rows:
            r["workspace"] = done.key(ws)
    return _page_fan_out(kit, done, fields=fields, limit=limit, cursor=cursor)


def metadata(resource: dict[str, Any], ws: Workspace) -> dict[str, Any]:
    props = resource.get("properties") or {}
    out = {k: v for k, v in row(resource, ws.label).items() if v is not None}
    out.update(etag=resource.get("etag"), tenant=ws.tenant_label, source_id=props.get("sourceId"))
    return out


def _raw_step(step: content.Step) -> dict[str, Any]:
    """A step's JSON, with a group's inner steps summarised (ask for them by number)."""
    item = json.loads(json.dumps(step.item))
    inner = (item.get("content") or {}).get("items") if isinstance(item.get("content"), dict) else None
    if step.type == "group" and isinstance(inner, list):
        item["content"]["items"] = [f"step {sub.number}: {sub.type} ({sub.item.get('name')})"
                                    for sub in content.steps({"items": inner}) if sub.depth == 0]
    if len(json.dumps(item)) > DEFAULT_BUDGET - 4000:
        item = clip(item, hint="the full step is in workbook_export")
    return item  # type: ignore[no-any-return]


@tool(READ_ONLY, title="Show a Sentinel workbook")
async def workbook_get(kit: Kit, workspace: str, workbook: str,
                       view: Literal["summary", "outline", "raw"] = "summary", step: str | None = None,
                       fields: list[str] | None = None, limit: int = 25, cursor: str | None = None) -> dict[str, Any]:
    """Show one workbook: its metadata and what it contains. `view="outline"` lists its steps (type, title,
    the KQL each runs and the tables it reads) instead of raw JSON; `view="raw"` pages through the steps'
    JSON; `step` shows one step in full.

    Args:
        workspace: Workspace the workbook belongs to (alias, name or ARM id).
        workbook: Display name, id (GUID) or ARM id of the workbook (see workbook_list).
        view: summary (metadata, counts, tables read, parameters), outline (one row per step) or raw (the steps' JSON, paged).
        step: One step by number ("3", or "2.1" inside the group at step 2): its outline with the full query, and its JSON.
        fields: With view outline or raw: fields per step (outline default: step, type, title, query, tables, parameters; raw: any JSON path such as "content.query"); ["*"] for all.
        limit: Steps per page.
        cursor: next_cursor of the previous page.
    """
    ws = await kit.workspace(workspace)
    resource = await locate.find(kit, ws, workbook, cache=True)
    parsed = content.parse((resource.get("properties") or {}).get("serializedData"),
                           where=f"workbook {locate.display_name(resource)!r}")
    meta = metadata(resource, ws)
    all_steps = list(content.steps(parsed))
    if step is not None:
        chosen = next((s for s in all_steps if s.number == step.strip()), None)
        if chosen is None:
            raise KitError(f"workbook {meta['name']!r} has no step {step!r}; its steps are 1-{len(parsed['items'])} "
                           "(groups number their own: 2.1, 2.2...); see view=\"outline\"")
        return {"workbook": meta["name"], "id": meta["id"], "workspace": ws.label,
                "step": content.outline_row(chosen), "json": _raw_step(chosen)}
    if view == "summary":
        return {**meta, **content.summary(parsed)}
    head = {"workbook": meta["name"], "id": meta["id"], "workspace": ws.label, "modified": meta.get("modified")}
    if view == "outline":
        rows = [content.outline_row(s) for s in all_steps]
        return kit.page(rows, fields=fields, default_fields=OUTLINE_FIELDS, limit=limit, cursor=cursor, key="steps",
                        extra=head)
    items = [{"step": str(n + 1), **i} for n, i in enumerate(parsed["items"])]
    top = {k: clip(v) for k, v in parsed.items() if k != "items"}
    return kit.page(items, fields=fields, limit=limit, cursor=cursor, key="items", extra={**head, "workbook_json": top})
