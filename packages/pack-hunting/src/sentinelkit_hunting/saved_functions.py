"""``function_list/get/create/update/delete``: saved functions (parsers), i.e. saved searches with a
``functionAlias`` that queries call by that alias, with their ``functionParameters``."""

from __future__ import annotations

import re
from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, Workspace, clip, tool

from . import api, kql, reach, searches

DEFAULT_FIELDS = ["alias", "display_name", "parameters", "category", "workspace"]
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STRINGS = re.compile(r"//[^\n]*|@?'(?:[^'\\\n]|\\.)*'|@?\"(?:[^\"\\\n]|\\.)*\"")
_TABLE_CALL = re.compile(r"\btable\s*\(\s*['\"]([^'\"]+)['\"]\s*\)")
_WATCHLIST_CALL = re.compile(r"\b_GetWatchlist\s*\(\s*['\"]([^'\"]+)['\"]\s*\)")


def function_row(search: dict[str, Any], ws: Workspace) -> dict[str, Any]:
    p = searches.props(search)
    return {"alias": p.get("functionAlias"), "display_name": p.get("displayName"), "category": p.get("category"),
            "parameters": p.get("functionParameters") or "", "name": search.get("name"), "workspace": ws.label,
            "tenant": ws.tenant_label, "etag": search.get("etag"), "body": p.get("query")}


def reads(body: str, tables: set[str], functions: set[str]) -> dict[str, list[str]]:
    """What a function body reads: tables, other functions it calls, watchlists (``_GetWatchlist``)."""
    literal_tables = set(_TABLE_CALL.findall(body))
    watchlists = sorted(set(_WATCHLIST_CALL.findall(body)))
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", _STRINGS.sub(" ", body)))
    return {"tables": sorted((words & tables) | (literal_tables & tables)),
            "functions": sorted(words & functions), "watchlists": watchlists,
            "unknown_tables": sorted(literal_tables - tables)}


async def table_names(kit: Kit, ws: Workspace) -> set[str]:
    found = await kit.arm(ws).list(api.tables(ws), api.LOG_ANALYTICS, where=ws.where(resource="tables",
                                                                                         operation="list"))
    return {str(t.get("name")) for t in found if t.get("name")}


def _find_function(found: list[dict[str, Any]], alias: str, ws: Workspace) -> dict[str, Any]:
    for s in found:
        if str(searches.props(s).get("functionAlias", "")).lower() == alias.lower() or s.get("name") == alias:
            return s
    aliases = sorted(str(searches.props(s).get("functionAlias")) for s in found if searches.is_function(s))
    close = [a for a in aliases if alias.lower() in a.lower() or a.lower() in alias.lower()]
    raise KitError(f"no function {alias!r} in workspace {ws.label}" + (f"; similar: {', '.join(close[:5])}" if close
                                                                        else "") + ". List them with function_list.")


@tool(READ_ONLY, title="List saved functions")
async def function_list(kit: Kit, workspaces: list[str] | str | None = None, workspace: str | None = None,
                        tenant: str | None = None, text: str | None = None, fields: list[str] | None = None,
                        limit: int = 25, cursor: str | None = None) -> dict[str, Any]:
    """List the saved functions (parsers) of one or many workspaces: alias, parameters, category.

    Args:
        workspaces: Workspaces to list, or "all" (default: every Sentinel workspace).
        workspace: One workspace instead of `workspaces`.
        tenant: Only workspaces of this tenant.
        text: Only functions whose alias or display name contains this text.
        fields: Fields to return (default: alias, display_name, parameters, category, workspace); also name, tenant, etag, body; ["*"] for all.
        limit: Items per page.
        cursor: next_cursor of the previous page.
    """
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)

    async def one(ws: Workspace) -> list[dict[str, Any]]:
        found = await searches.list_searches(kit, ws, fresh=cursor is None)
        return [function_row(s, ws) for s in found if searches.is_function(s)]

    return await reach.listing(kit, chosen, one, keep=lambda r: not text or text.lower() in
                               f"{r['alias']} {r['display_name']}".lower(), order="alias", key="functions",
                               default_fields=DEFAULT_FIELDS, fields=fields, limit=limit, cursor=cursor)


@tool(READ_ONLY, title="Show a saved function")
async def function_get(kit: Kit, workspace: str, alias: str) -> dict[str, Any]:
    """Show a saved function: its body, parameters, and the tables, functions and watchlists it reads.

    Args:
        workspace: Workspace alias, name or ARM id.
        alias: The function's alias (what queries call it by) or its saved-search name.
    """
    ws = await kit.workspace(workspace)
    found = await searches.list_searches(kit, ws, fresh=True)
    search = _find_function(found, alias, ws)
    row = function_row(search, ws)
    aliases = {str(searches.props(s).get("functionAlias")) for s in found if searches.is_function(s)}
    row["reads"] = reads(str(row["body"] or ""), await table_names(kit, ws), aliases - {str(row["alias"])})
    return clip(row, 20_000)


async def _check_alias(kit: Kit, ws: Workspace, alias: str, found: list[dict[str, Any]], own: str | None) -> None:
    if not _ALIAS.match(alias):
        raise KitError(f"function alias {alias!r} is invalid: it must start with a letter or '_' and hold only "
                       "letters, digits and '_'. Nothing was written.")
    table = next((t for t in await table_names(kit, ws) if t.lower() == alias.lower()), None)
    if table:
        raise KitError(f"function alias {alias!r} is the name of the table {table!r} in workspace {ws.label}: a "
                       "query could not tell them apart, and Log Analytics refuses it. Choose another alias (e.g. "
                       f"{alias}_Parser). Nothing was written.")
    for s in found:
        if str(searches.props(s).get("functionAlias", "")).lower() == alias.lower() and s.get("name") != own:
            raise KitError(f"workspace {ws.label} already has a function {alias!r} (saved search {s.get('name')}); "
                           "change it with function_update or choose another alias. Nothing was written.")


@tool(ADDITIVE, title="Create a saved function")
async def function_create(kit: Kit, workspace: str, alias: str, body: str, parameters: str | None = None,
                          display_name: str | None = None, category: str = "Functions") -> dict[str, Any]:
    """Create a saved function (parser) that queries call by its alias.

    Refused before anything is written when the alias is a table's name or another function's, or
    when the body has a syntax error. Safe to retry.

    Args:
        workspace: Workspace alias, name or ARM id.
        alias: The name queries call it by (letters, digits, '_'; not a table's name).
        body: The function's KQL.
        parameters: Its parameters as Log Analytics writes them, e.g. "lookback:timespan = 1d, user:string".
        display_name: The name shown in the portal (default: the alias).
        category: Saved-search category (default "Functions").
    """
    ws = await kit.workspace(workspace)
    found = await searches.list_searches(kit, ws, fresh=True)
    name = searches.name_for(f"function:{alias}")
    properties = {"category": category, "displayName": display_name or alias, "query": body, "functionAlias": alias,
                  "version": 2, **({"functionParameters": parameters} if parameters else {})}
    mine = next((s for s in found if s.get("name") == name), None)
    if mine is not None and searches.writable(mine) == properties:
        return {"created": False, "alias": alias, "workspace": ws.label,
                "message": "this function is already there as given; nothing was written"}
    await _check_alias(kit, ws, alias, found, own=None)
    verdict = await kql.check(kit, ws, body, what=f"function {alias!r}", parameters=parameters, function=True)
    await kit.confirm_change(f"create function {alias} in workspace {ws.label}", clip(properties, 2000))
    stored = await searches.put(kit, ws, name, properties, etag=None, action="create function")
    out = {"created": True, **{k: v for k, v in function_row(stored, ws).items() if k != "body"}}
    if verdict.note:
        out["note"] = verdict.note
    return out


@tool(ADDITIVE, title="Update a saved function")
async def function_update(kit: Kit, workspace: str, alias: str, body: str | None = None,
                          parameters: str | None = None, display_name: str | None = None,
                          new_alias: str | None = None, etag: str | None = None) -> dict[str, Any]:
    """Change a saved function's body, parameters, display name or alias (queries that call the old alias break).

    Args:
        workspace: Workspace alias, name or ARM id.
        alias: The function's current alias.
        body: New KQL body (a syntax error is refused before anything is written).
        parameters: New parameters ("" removes them), e.g. "lookback:timespan = 1d".
        display_name: New display name.
        new_alias: Rename the function (not to a table's or another function's name).
        etag: The etag function_get showed; when given, the update is refused if the function changed since.
    """
    ws = await kit.workspace(workspace)
    found = await searches.list_searches(kit, ws, fresh=True)
    current = _find_function(found, alias, ws)
    searches.expect_etag(current, etag, f"function {alias!r}", ws, undone="written")
    new = searches.writable(current)
    for key, value in (("query", body), ("displayName", display_name), ("functionAlias", new_alias)):
        if value is not None:
            new[key] = value
    if parameters is not None:
        new.pop("functionParameters", None)
        if parameters:
            new["functionParameters"] = parameters
    if new_alias and new_alias.lower() != alias.lower():
        await _check_alias(kit, ws, new_alias, found, own=str(current["name"]))
    relinted = body is not None or parameters is not None
    return await searches.update(
        kit, ws, current, new, what=f"function {alias}", row=function_row, hidden="body",
        check=(lambda: kql.check(kit, ws, new["query"], what=f"function {new['functionAlias']!r}",
                                 parameters=new.get("functionParameters"), function=True)) if relinted else None)


@tool(DESTRUCTIVE, title="Delete a saved function")
async def function_delete(kit: Kit, workspace: str, alias: str, etag: str | None = None) -> dict[str, Any]:
    """Delete a saved function (asks for confirmation first); queries that call it stop working.

    Args:
        workspace: Workspace alias, name or ARM id.
        alias: The function's alias.
        etag: The etag function_get showed; when given, deleting is refused if the function changed since.
    """
    ws = await kit.workspace(workspace)
    found = await searches.list_searches(kit, ws, fresh=True)
    current = _find_function(found, alias, ws)
    searches.expect_etag(current, etag, f"function {alias!r}", ws, undone="deleted")
    callers = [str(searches.props(s).get("displayName")) for s in found if s is not current
               and re.search(rf"\b{re.escape(alias)}\b", str(searches.props(s).get("query", "")))]
    await kit.confirm_change(f"delete function {alias} from workspace {ws.label}",
                             {"alias": alias, "saved_search": current["name"],
                              **({"called_by": callers[:20]} if callers else {})})
    await searches.delete(kit, ws, current, action="delete function")
    return {"deleted": alias, "workspace": ws.label, **({"called_by": callers[:20]} if callers else {})}
