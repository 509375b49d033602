"""``hunting_query_list/get/create/update/delete``: Sentinel's hunting queries, which are saved searches
of category "Hunting Queries" whose tags carry the description, tactics and techniques."""

from __future__ import annotations

import uuid
from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, clip, tool

from . import api, huntyaml, kql, reach, searches

DEFAULT_FIELDS = ["name", "display_name", "tactics", "techniques", "workspace"]


def _matches(row: dict[str, Any], tactic: str | None, technique: str | None, text: str | None) -> bool:
    if tactic and tactic.lower() not in {t.lower() for t in row["tactics"]}:
        return False
    if technique and not any(t.upper() == technique.upper() or t.upper().startswith(technique.upper() + ".")
                             for t in row["techniques"]):
        return False
    return not text or text.lower() in f"{row['display_name']} {row['description'] or ''}".lower()


@tool(READ_ONLY, title="List hunting queries")
async def hunting_query_list(kit: Kit, workspaces: list[str] | str | None = None, workspace: str | None = None,
                             tenant: str | None = None, tactic: str | None = None, technique: str | None = None,
                             text: str | None = None, category: str | None = None,
                             fields: list[str] | None = None, limit: int = 25,
                             cursor: str | None = None) -> dict[str, Any]:
    """List hunting queries (with tactics and techniques) in one or many workspaces.

    Args:
        workspaces: Workspaces to list, or "all" (default: every Sentinel workspace).
        workspace: One workspace instead of `workspaces`.
        tenant: Only workspaces of this tenant.
        tactic: Only queries tagged with this MITRE tactic (e.g. InitialAccess).
        technique: Only queries tagged with this technique (T1078 also matches T1078.004).
        text: Only queries whose name or description contains this text.
        category: Saved-search category to list instead of "Hunting Queries" (e.g. "Log Management" for saved queries); "*" for every category except functions.
        fields: Fields to return (default: name, display_name, tactics, techniques, workspace); also category, description, query, tenant, etag, tags; ["*"] for all.
        limit: Items per page.
        cursor: next_cursor of the previous page.
    """
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)

    async def one(ws: Any) -> list[dict[str, Any]]:
        found = await searches.list_searches(kit, ws, fresh=cursor is None)
        want = (category or api.HUNTING_CATEGORY).lower()
        return [searches.hunting_row(s, ws) for s in found if not searches.is_function(s)
                and (want == "*" or str(searches.props(s).get("category", "")).lower() == want)]

    return await reach.listing(kit, chosen, one, keep=lambda r: _matches(r, tactic, technique, text),
                               order="display_name", key="hunting_queries", default_fields=DEFAULT_FIELDS,
                               fields=fields, limit=limit, cursor=cursor)


@tool(READ_ONLY, title="Show a hunting query")
async def hunting_query_get(kit: Kit, workspace: str, query: str) -> dict[str, Any]:
    """Show one hunting query: its KQL, description, tactics, techniques and etag.

    Args:
        workspace: Workspace alias, name or ARM id.
        query: The hunting query's name (GUID) or display name.
    """
    ws = await kit.workspace(workspace)
    found = searches.find(await searches.list_searches(kit, ws, fresh=True), query, ws, what="hunting query",
                          category=api.HUNTING_CATEGORY)
    return clip(searches.hunting_row(found, ws), 20_000)


def _from_inputs(yaml_text: str | None, yaml_file: str | None, kit: Kit) -> huntyaml.HuntingYaml | None:
    if yaml_text and yaml_file:
        raise KitError("give yaml_text or yaml_file, not both")
    if yaml_file:
        path = kit.export_path(yaml_file)
        if not path.is_file():
            raise KitError(f"{yaml_file} is not a file in the export directory {kit.export_dir}")
        return huntyaml.parse(path.read_text(encoding="utf-8"), source=yaml_file)
    return huntyaml.parse(yaml_text, source="yaml_text") if yaml_text else None


@tool(ADDITIVE, title="Create a hunting query")
async def hunting_query_create(kit: Kit, workspace: str, display_name: str | None = None, query: str | None = None,
                               description: str | None = None, tactics: list[str] | None = None,
                               techniques: list[str] | None = None, yaml_text: str | None = None,
                               yaml_file: str | None = None, name: str | None = None) -> dict[str, Any]:
    """Create a hunting query from parameters, or from a hunting-query YAML file of the Azure-Sentinel repository.

    Safe to retry: the query's name is derived from the YAML id (or from its display name), and a query
    that is already there as given is reported, not written twice. A syntax error is refused before
    anything is written; a query whose tables the workspace lacks is saved with a note.

    Args:
        workspace: Workspace alias, name or ARM id.
        display_name: The name analysts see (required without YAML; overrides the YAML's name).
        query: The KQL (required without YAML). {{StartTimeISO}}/{{EndTimeISO}} are filled in when it runs.
        description: What the query looks for (overrides the YAML's).
        tactics: MITRE tactics, e.g. ["InitialAccess", "Persistence"] (override the YAML's).
        techniques: MITRE techniques, e.g. ["T1078"] (override the YAML's).
        yaml_text: The content of a hunting-query YAML file (Azure-Sentinel: Hunting Queries/, Solutions/*/Hunting Queries/).
        yaml_file: A hunting-query YAML file in the export directory (a path relative to it).
        name: The saved search's name (a GUID); default: the YAML's id, else derived from the display name.
    """
    ws = await kit.workspace(workspace)
    parsed = _from_inputs(yaml_text, yaml_file, kit)
    display = display_name or (parsed.name if parsed else None)
    kql_text = query or (parsed.query if parsed else None)
    if not display or not kql_text or not kql_text.strip():
        raise KitError("give display_name and query, or a hunting-query YAML (yaml_text or yaml_file)")
    if name is not None:
        try:
            name = str(uuid.UUID(name))
        except ValueError:
            raise KitError(f"name {name!r} is not a GUID; leave it out to derive one") from None
    properties = {
        "category": api.HUNTING_CATEGORY, "displayName": display, "query": kql_text, "version": 2,
        "tags": searches.make_tags(description if description is not None else (parsed.description if parsed else None),
                                   tactics if tactics is not None else (parsed.tactics if parsed else []),
                                   techniques if techniques is not None else (parsed.techniques if parsed else [])),
    }
    target = name or (parsed.content_id if parsed and parsed.content_id else None) or searches.name_for(
        f"{api.HUNTING_CATEGORY}/{display}")
    existing_all = await searches.list_searches(kit, ws, fresh=True)
    same = [s for s in existing_all if searches.identity(s).lower() == f"{api.HUNTING_CATEGORY}/{display}".lower()
            or str(s.get("name", "")).lower() == target.lower()]
    if same:
        current = same[0]
        if searches.writable(current) == {k: v for k, v in properties.items() if v not in (None, "", [])}:
            return {"created": False, "name": current["name"], "workspace": ws.label,
                    "message": "this hunting query is already there as given; nothing was written"}
        theirs = searches.props(current).get("displayName")
        if str(theirs).lower() == display.lower():
            raise KitError(f"workspace {ws.label} already has a hunting query {display!r} (name {current['name']}); "
                           "use hunting_query_update to change it. Nothing was written.")
        raise KitError(f"the name {target} is already used in workspace {ws.label} by the hunting query {theirs!r}, "
                       f"so {display!r} was not created (nothing was overwritten). Two contents share that id: pass "
                       "another name (a GUID) to create it beside the other.")
    verdict = await kql.check(kit, ws, kql_text, what=f"hunting query {display!r}")
    await kit.confirm_change(f"create hunting query {display!r} in workspace {ws.label}",
                             clip({"name": target, **properties}, 2000))
    stored = await searches.put(kit, ws, target, properties, etag=None, action="create hunting query")
    out = {"created": True, **{k: v for k, v in searches.hunting_row(stored, ws).items() if k != "query"}}
    if verdict.note:
        out["note"] = verdict.note
    return out


@tool(ADDITIVE, title="Update a hunting query")
async def hunting_query_update(kit: Kit, workspace: str, query_name: str, display_name: str | None = None,
                               query: str | None = None, description: str | None = None,
                               tactics: list[str] | None = None, techniques: list[str] | None = None,
                               etag: str | None = None) -> dict[str, Any]:
    """Change a hunting query's KQL, name, description, tactics or techniques.

    Written with the version it was read at: a change made by someone else meanwhile is reported,
    never overwritten.

    Args:
        workspace: Workspace alias, name or ARM id.
        query_name: The hunting query's name (GUID) or display name.
        display_name: New display name.
        query: New KQL (a syntax error is refused before anything is written).
        description: New description.
        tactics: New MITRE tactics (replace the old ones).
        techniques: New MITRE techniques (replace the old ones).
        etag: The etag hunting_query_get showed; when given, the update is refused if the query changed since.
    """
    ws = await kit.workspace(workspace)
    current = searches.find(await searches.list_searches(kit, ws, fresh=True), query_name, ws,
                            what="hunting query", category=api.HUNTING_CATEGORY)
    searches.expect_etag(current, etag, f"hunting query {query_name!r}", ws, undone="written")
    old = searches.hunting_row(current, ws)
    new = searches.writable(current)
    if display_name is not None:
        new["displayName"] = display_name
    if query is not None:
        new["query"] = query
    new["tags"] = searches.make_tags(description if description is not None else old["description"],
                                     tactics if tactics is not None else old["tactics"],
                                     techniques if techniques is not None else old["techniques"], old["tags"])
    return await searches.update(
        kit, ws, current, new, what=f"hunting query {old['display_name']!r}", row=searches.hunting_row, hidden="query",
        check=(lambda: kql.check(kit, ws, new["query"], what=f"hunting query {new['displayName']!r}")) if query else None)


@tool(DESTRUCTIVE, title="Delete a hunting query")
async def hunting_query_delete(kit: Kit, workspace: str, query: str, etag: str | None = None) -> dict[str, Any]:
    """Delete a hunting query (asks for confirmation first).

    Args:
        workspace: Workspace alias, name or ARM id.
        query: The hunting query's name (GUID) or display name.
        etag: The etag hunting_query_get showed; when given, deleting is refused if the query changed since.
    """
    ws = await kit.workspace(workspace)
    current = searches.find(await searches.list_searches(kit, ws, fresh=True), query, ws, what="hunting query",
                            category=api.HUNTING_CATEGORY)
    searches.expect_etag(current, etag, f"hunting query {query!r}", ws, undone="deleted")
    row = searches.hunting_row(current, ws)
    await kit.confirm_change(f"delete hunting query {row['display_name']!r} from workspace {ws.label}",
                             {k: row[k] for k in ("name", "display_name", "tactics", "techniques")})
    await searches.delete(kit, ws, current, action="delete hunting query")
    return {"deleted": row["display_name"], "name": current["name"], "workspace": ws.label}
