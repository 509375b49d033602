"""Saving a workbook into a workspace: what would be created or replaced, checked before anything is sent.

Identity: a workbook is "the same" in two workspaces when it has the same display name (Sentinel shows
workbooks by name; their ids are GUIDs that differ per workspace). An import or copy therefore updates the
target's workbook of that name (keeping its id, with its etag), or the one with the file's id when the
file came from that very workspace, and otherwise creates one under a new GUID.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from sentinelkit import Kit, KitError, Workspace

from . import api, checks, content, forms, locate


@dataclass
class Plan:
    """One workbook write into one workspace, decided and checked, not yet sent."""

    ws: Workspace
    action: str  # create | update | unchanged
    name: str
    display_name: str
    body: dict[str, Any]
    existing: dict[str, Any] | None
    etag: str | None
    check: dict[str, Any]
    references: dict[str, Any]

    @property
    def missing_tables(self) -> list[str]:
        return list(self.check.get("missing_tables") or [])

    def preview(self, workspace: str) -> dict[str, Any]:
        workbook = json.loads(self.body["properties"]["serializedData"])
        out: dict[str, Any] = {"workspace": workspace, "action": self.action, "workbook": self.display_name,
                               "id": self.name, "steps": sum(1 for _ in content.steps(workbook)),
                               "size": len(self.body["properties"]["serializedData"].encode("utf-8")),
                               "references": self.references, "tables": self.check}
        if self.existing is not None:
            out["replaces"] = _changes(self.existing, workbook, self.display_name)
            out["etag"] = self.etag
        return out


def _changes(existing: dict[str, Any], new: dict[str, Any], display: str) -> dict[str, Any]:
    """What an update replaces: the current name, time and revision, and which steps differ."""
    props = existing.get("properties") or {}
    old = content.parse(props.get("serializedData"), where="the current workbook")
    before = {s.number: s.item for s in content.steps(old)}
    after = {s.number: s.item for s in content.steps(new)}
    out: dict[str, Any] = {"display_name": props.get("displayName"), "modified": props.get("timeModified"),
                           "revision": props.get("revision"), "steps_before": len(before), "steps_after": len(after),
                           "changed_steps": [n for n in after if n in before and before[n] != after[n]],
                           "added_steps": [n for n in after if n not in before],
                           "removed_steps": [n for n in before if n not in after]}
    if props.get("displayName") != display:
        out["renamed_to"] = display
    return out


async def customer_ids(kit: Kit, source_ids: list[str], target: Workspace) -> dict[str, str]:
    """Map the source workspaces' customerIds (used in ``workspace("...")`` queries) to the target's, for
    the source workspaces this server can reach."""
    mapping: dict[str, str] = {}
    target = await kit.workspace_details(target)
    for source_id in source_ids:
        try:
            src = await kit.workspace_details(await kit.workspace(source_id))
        except KitError:
            continue
        if src.customer_id and target.customer_id and src.id.lower() != target.id.lower():
            mapping[src.customer_id] = target.customer_id
    return mapping


async def existing_for(kit: Kit, ws: Workspace, source: forms.Source, display: str,
                       replace: str | None) -> dict[str, Any] | None:
    """The workbook of ``ws`` the write replaces: the one named by ``replace``, the one with the file's id,
    or the one with the same display name; None to create."""
    if replace:
        return await locate.find(kit, ws, replace)
    if source.id:
        same = await locate.get(kit, ws, source.id)
        if same is not None and str((same.get("properties") or {}).get("sourceId", "")).lower() == ws.id.lower():
            return same
    listed = await locate.list_workbooks(kit, ws, content=False, cache=False)
    named = locate.by_display_name(listed, display)
    if len(named) > 1:
        ids = ", ".join(w["name"] for w in named)
        raise KitError(f"workspace {ws.label} has {len(named)} workbooks named {display!r} ({ids}); nothing was "
                       "written. Pass replace=<id> to say which one to replace, or choose another display_name")
    return await locate.get(kit, ws, named[0]["name"]) if named else None


async def make(kit: Kit, ws: Workspace, source: forms.Source, *, display_name: str | None, replace: str | None = None,
               etag: str | None = None, mapping: dict[str, str] | None = None) -> Plan:
    """Decide create / update / unchanged for ``source`` in ``ws``, with the exact body and the table check."""
    display = (display_name or source.display_name or "").strip()
    if not display:
        raise KitError("the workbook has no display name (gallery templates carry none): pass display_name")
    existing, schema = await asyncio.gather(existing_for(kit, ws, source, display, replace),
                                            checks.workspace_schema(kit, ws))
    workbook, references = forms.retarget(source, ws.id, mapping)
    props = (existing or {}).get("properties") or {}
    location = (existing or {}).get("location") or (await kit.workspace_details(ws)).location
    if not location:
        raise KitError(f"the location of workspace {ws.label} is unknown; nothing was written")
    serialized = forms.serialize(workbook)
    size = len(serialized.encode("utf-8"))
    if size > api.MAX_SERIALIZED_BYTES:
        raise KitError(f"workbook {display!r} is {size / 1048576:.1f} MB of JSON; Azure stores at most "
                       f"{api.MAX_SERIALIZED_BYTES / 1048576:.1f} MB per workbook (413 \"The workbook length is too "
                       "large\"); nothing was written. Split it into several workbooks")
    tags = {**((existing or {}).get("tags") or {}), **source.tags, "hidden-title": display}
    body_props: dict[str, Any] = {"displayName": display, "serializedData": serialized,
                                  "version": workbook.get("version") or "Notebook/1.0", "category": api.CATEGORY,
                                  "sourceId": ws.id, "tags": list(props.get("tags") or [])}
    description = source.description if source.description is not None else props.get("description")
    if description:
        body_props["description"] = description
    body = {"location": location, "kind": api.KIND, "tags": tags, "properties": body_props}
    send: str | None = None
    if existing is not None:
        send = locate.etag_to_send(existing, etag, ws, "written")
        same = forms.portable({**existing, "tags": existing.get("tags") or {}}) == forms.portable({"tags": tags,
                                                                                                  "properties": body_props})
        name, action = existing["name"], "unchanged" if same else "update"
    else:
        origin = (source.source_id or "").lower() == ws.id.lower()
        name, action = await locate.free_name(kit, ws, display, source.id if origin else None), "create"
    found = await checks.check(workbook, schema)
    return Plan(ws=ws, action=action, name=name, display_name=display, body=body, existing=existing,
                etag=send, check=found, references=references)


def missing_tables_message(plan: Plan, workspace: str) -> str:
    per_query = "; ".join(f"step {q['step']} ({q['title']}): {', '.join(q['missing_tables'])}"
                          for q in plan.check.get("queries", []) if q.get("missing_tables"))
    return (f"workbook {plan.display_name!r} reads tables workspace {workspace} does not have "
            f"({', '.join(plan.missing_tables)}) — {per_query}")


async def apply(kit: Kit, plan: Plan) -> dict[str, Any]:
    """Send the plan's PUT (with its etag when it replaces a workbook); what the service stored."""
    ws = plan.ws
    with locate.stale_etag(plan.existing or {"name": plan.name, "properties": {"displayName": plan.display_name}},
                           ws, "written"):
        saved = await kit.arm(ws).put(api.item(ws, plan.name), api.VERSION, plan.body, etag=plan.etag,
                                      where=ws.where(resource=f"workbook {plan.display_name!r}",
                                                     operation="create" if plan.existing is None else "update"))
    props = (saved or {}).get("properties") or {}
    return {"action": "created" if plan.existing is None else "updated", "id": plan.name,
            "workbook": plan.display_name, "revision": props.get("revision"), "etag": (saved or {}).get("etag")}
