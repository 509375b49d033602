"""The ``table`` content kind: what backup, restore, diff and drift need of a workspace's tables — every
table's plan and retention, and the schema of custom tables (and custom ``_CF`` columns of Azure tables).

Identity is the table name. A retention that follows a default is kept as ``-1`` (the API's "back to the
default"), so that a table restored into a workspace with another default follows that workspace's.
Search job results and restored logs are outputs of jobs, not configuration: they are not part of the
kind. Log Analytics tables carry no etag: a write refuses a table whose previous change is still running
instead, and checks the plan rules before sending.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sentinelkit import ContentKind, Kit, KitError, Workspace, stable

from . import api
from .changes import plan_change
from .columns import parse_columns
from .tables import Retention, find_table, kind_of, list_tables, refuse_if_busy, workspace_retention

_TABLE_TYPES = {"microsoft": "Microsoft", "custom": "CustomLog"}
_COLUMN_KEYS = ("name", "type", "description", "dataTypeHint", "displayName")


def _own_columns(obj: dict[str, Any]) -> list[dict[str, Any]]:
    schema = (obj.get("properties") or {}).get("schema") or {}
    return [{k: c[k] for k in _COLUMN_KEYS if c.get(k)} for c in schema.get("columns") or []]


class TableKind(ContentKind):
    name = "table"
    title = "Log Analytics tables (plan, retention, custom schemas)"

    async def list(self, kit: Kit, ws: Workspace) -> list[dict[str, Any]]:
        return [t for t in await list_tables(kit, ws, cache=False) if kind_of(t) in _TABLE_TYPES]

    async def read(self, kit: Kit, ws: Workspace, identity: str) -> dict[str, Any] | None:
        found = await find_table(kit, ws, identity)
        return found if found is not None and kind_of(found) in _TABLE_TYPES else None

    def identity(self, obj: dict[str, Any]) -> str:
        return str(obj["name"])

    def normalize(self, obj: dict[str, Any]) -> dict[str, Any]:
        p = obj.get("properties") or {}
        r = Retention.of(obj)
        kind = kind_of(obj)
        props: dict[str, Any] = {"plan": r.plan,
                                 "totalRetentionInDays": -1 if r.total_default else r.total,
                                 "schema": {"tableType": _TABLE_TYPES.get(kind, kind)}}
        if r.plan == "Analytics":
            props["retentionInDays"] = -1 if r.interactive_default else r.interactive
        columns = _own_columns(obj)
        if kind == "custom":
            props["schema"].update(name=obj["name"], columns=columns,
                                   description=((p.get("schema") or {}).get("description") or ""))
        elif columns:
            props["schema"]["columns"] = columns
        normalized: dict[str, Any] = stable({"name": obj["name"], "properties": props})
        return normalized

    def summary(self, obj: dict[str, Any]) -> dict[str, Any]:
        n = self.normalize(obj)["properties"]
        return {"name": obj["name"], "plan": n["plan"], "retention_days": n.get("retentionInDays"),
                "total_retention_days": n["totalRetentionInDays"], "columns": len(n["schema"].get("columns", []))}

    async def write(self, kit: Kit, ws: Workspace, obj: dict[str, Any], *,
                    existing: dict[str, Any] | None) -> dict[str, Any]:
        want = self.normalize(obj)
        name = want["name"]
        props = want["properties"]
        where = ws.where(resource=f"table {name}", operation="restore")
        path = api.table_path(ws, name)
        if existing is None:
            if props["schema"]["tableType"] != "CustomLog":
                raise KitError(f"table {name} does not exist in {ws.label}: Azure tables come with the solution that "
                               "fills them (e.g. Microsoft Sentinel); enable it there, then restore again")
            body = {"properties": {k: v for k, v in props.items() if k != "schema"}
                    | {"schema": {"name": name, "columns": props["schema"]["columns"],
                                  "description": props["schema"].get("description", "")}}}
            saved: dict[str, Any] = await kit.arm(ws).put(path, api.VERSION, body, where=where)
            return saved
        refuse_if_busy(existing, ws)
        body = await self._differences(kit, ws, existing, props)
        if not body:
            return existing
        updated: dict[str, Any] = await kit.arm(ws).patch(path, api.VERSION, {"properties": body}, where=where)
        return updated

    async def _differences(self, kit: Kit, ws: Workspace, existing: dict[str, Any],
                           want: dict[str, Any]) -> dict[str, Any]:
        """The PATCH that makes ``existing`` look like ``want`` (normalized); columns are only ever added."""
        have = self.normalize(existing)["properties"]
        body: dict[str, Any] = {}
        if want["plan"] != have["plan"]:
            plan_change(existing, want["plan"], await workspace_retention(kit, ws), dt.datetime.now(dt.UTC))
            body["plan"] = want["plan"]
        if want["plan"] == "Analytics" and want.get("retentionInDays") != have.get("retentionInDays"):
            body["retentionInDays"] = want["retentionInDays"]
        if want["totalRetentionInDays"] != have["totalRetentionInDays"] or "plan" in body:
            body["totalRetentionInDays"] = want["totalRetentionInDays"]
        wanted_columns = want["schema"].get("columns") or []
        current = {c["name"].lower(): c for c in have["schema"].get("columns") or []}
        microsoft = want["schema"]["tableType"] == "Microsoft"
        missing = []
        for col in parse_columns(wanted_columns, azure_table=existing["name"] if microsoft else None):
            was = current.get(col["name"].lower())
            if was is None:
                missing.append(col)
            elif was["type"].lower() != col["type"].lower():
                raise KitError(f"column {col['name']} of {existing['name']} in {ws.label} is {was['type']}, not "
                               f"{col['type']}: a column's type can't be changed; restore into another table name")
        description = want["schema"].get("description")
        if missing or (description is not None and description != have["schema"].get("description")):
            schema: dict[str, Any] = {"name": existing["name"], "columns": (have["schema"].get("columns") or []) + missing}
            if description is not None:
                schema["description"] = description
            body["schema"] = schema
        return body

    async def delete(self, kit: Kit, ws: Workspace, existing: dict[str, Any]) -> None:
        name = str(existing["name"])
        if kind_of(existing) != "custom":
            raise KitError(f"{name} is an Azure table: it can't be deleted (only custom tables can)")
        refuse_if_busy(existing, ws)
        await kit.arm(ws).delete(api.table_path(ws, name), api.VERSION,
                                 where=ws.where(resource=f"table {name}", operation="delete"))
