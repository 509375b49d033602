"""The ``workbook`` content kind: how backup, restore, diff and drift see Sentinel workbooks.

Identity is the display name (a workbook's id is a GUID that differs per workspace). The normalized form
is the portable part of ``workbook_export``'s file (content as JSON, keys sorted; no id, etag, revision,
time or location), so a backup file and an export of the same workbook hold the same content. Workspace
references (sourceId, fallbackResourceIds, ids and customerIds inside queries) are rewritten to the target.
"""

from __future__ import annotations

from typing import Any

from sentinelkit import ContentKind, Kit, KitError, Workspace, replace_references, stable

from . import api, content, forms, locate


def _is_normalized(obj: dict[str, Any]) -> bool:
    return "workbook" in obj and "properties" not in obj


class WorkbookKind(ContentKind):
    name = "workbook"
    title = "workbooks"

    async def list(self, kit: Kit, ws: Workspace) -> list[dict[str, Any]]:
        return await locate.list_workbooks(kit, ws, content=True, cache=False)

    async def read(self, kit: Kit, ws: Workspace, identity: str) -> dict[str, Any] | None:
        listed = locate.by_display_name(await locate.list_workbooks(kit, ws, content=False, cache=False), identity)
        if len(listed) > 1:
            raise KitError(f"workspace {ws.label} has {len(listed)} workbooks named {identity!r} "
                           f"({', '.join(w['name'] for w in listed)}); rename all but one")
        return await locate.get(kit, ws, listed[0]["name"]) if listed else None

    async def write(self, kit: Kit, ws: Workspace, obj: dict[str, Any], *,
                    existing: dict[str, Any] | None) -> dict[str, Any]:
        portable = self.normalize(obj)
        if existing is not None:
            name, location, etag = existing["name"], existing.get("location"), existing.get("etag")
        else:
            name = await locate.free_name(kit, ws, portable["displayName"])
            location, etag = (await kit.workspace_details(ws)).location, None
        props: dict[str, Any] = {"displayName": portable["displayName"], "category": portable.get("category")
                                 or api.CATEGORY, "sourceId": ws.id,
                                 "serializedData": forms.serialize(portable["workbook"]),
                                 "version": portable["workbook"].get("version") or "Notebook/1.0",
                                 "tags": list(portable.get("workbookTags") or [])}
        if portable.get("description"):
            props["description"] = portable["description"]
        body = {"location": location, "kind": api.KIND, "properties": props,
                "tags": {**(portable.get("tags") or {}), "hidden-title": portable["displayName"]}}
        with locate.stale_etag(existing or {"name": name, "properties": props}, ws, "written"):
            saved: dict[str, Any] = await kit.arm(ws).put(api.item(ws, name), api.VERSION, body, etag=etag,
                                                          where=ws.where(resource=f"workbook {props['displayName']!r}",
                                                                         operation="write"))
        return saved

    async def delete(self, kit: Kit, ws: Workspace, existing: dict[str, Any]) -> None:
        with locate.stale_etag(existing, ws, "deleted"):
            await kit.arm(ws).delete(api.item(ws, existing["name"]), api.VERSION, etag=existing.get("etag"),
                                     where=ws.where(resource=f"workbook {locate.display_name(existing)!r}",
                                                    operation="delete"))

    def identity(self, obj: dict[str, Any]) -> str:
        return str(obj["displayName"] if _is_normalized(obj) else locate.display_name(obj))

    def normalize(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Content keys are kept (a step's ``id`` is not the resource's): only the envelope is reduced."""
        normalized: dict[str, Any] = stable(obj if _is_normalized(obj) else forms.portable(obj))
        return normalized

    def rewrite(self, obj: dict[str, Any], source: Workspace | None, target: Workspace) -> dict[str, Any]:
        portable = self.normalize(obj)
        mapping: dict[str, str] = {}
        if source is not None and source.customer_id and target.customer_id:
            mapping[source.customer_id] = target.customer_id
        origin = forms.Source(form="sentinelkit", workbook=portable["workbook"],
                              source_id=source.id if source is not None else portable.get("sourceId"))
        workbook, _ = forms.retarget(origin, target.id, mapping)
        out = {**replace_references({k: v for k, v in portable.items() if k != "workbook"},
                                    {origin.source_id: target.id} if origin.source_id else {}),
               "sourceId": target.id, "workbook": workbook}
        return self.normalize(out)

    def summary(self, obj: dict[str, Any]) -> dict[str, Any]:
        portable = self.normalize(obj)
        found = content.summary(portable["workbook"])
        return {"name": portable["displayName"], "steps": found["steps"], "template": found["template"]}
