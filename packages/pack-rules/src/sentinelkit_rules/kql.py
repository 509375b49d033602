"""``kql_validate``: the check rule writes run, offered to the assistant for any query and any workspace."""

from __future__ import annotations

from typing import Any

from sentinelkit import READ_ONLY, Kit, Workspace, clip, tool

from . import kqlcheck


@tool(READ_ONLY, title="Validate a KQL query")
async def kql_validate(kit: Kit, query: str, workspace: str | None = None, workspaces: list[str] | str | None = None,
                       tenant: str | None = None) -> dict[str, Any]:
    """Validate a KQL query with Microsoft's parser (Kusto.Language) against the real tables and saved functions
    of one or more workspaces: syntax errors and unknown tables, columns and functions come back with code,
    message and position, per workspace. Without a workspace only the syntax is checked. Runs nothing.

    Args:
        query: The KQL query.
        workspace: One workspace whose tables to check against (alias, name or ARM id).
        workspaces: Several workspaces (names, aliases or ids), or "all"; each gets its own answer.
        tenant: Only workspaces of this tenant (with `workspaces`).
    """
    if not (workspace or workspaces or tenant):
        check = await kqlcheck.check_syntax(query)
        return clip({"scope": "syntax", **check.to_dict()})
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)

    async def one(ws: Workspace) -> dict[str, Any]:
        return (await kqlcheck.check_query(kit, ws, query)).to_dict()

    result = await kit.fan_out(chosen, one)
    answers = {result.key(ws): value for ws, value in result.results}
    out: dict[str, Any] = {"scope": "schema", "ok_everywhere": bool(answers) and all(a["ok"] for a in answers.values())
                           and not result.errors, "results": answers}
    invalid = sorted(k for k, a in answers.items() if not a["ok"])
    if invalid:
        out["invalid_in"] = invalid
    if result.errors:
        out["errors"] = result.error_messages()
    return clip(out)
