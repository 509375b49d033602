"""Rule templates: which are not deployed yet, and which deployed rules have a newer template version."""

from __future__ import annotations

import asyncio
from typing import Any

from sentinelkit import READ_ONLY, Kit, Workspace, clip, tool

from . import api, locate
from .shape import template_changes, template_row, version_key

TEMPLATE_LIST_FIELDS = ["name", "workspace", "display_name", "kind", "severity", "version", "status", "rules"]
STATUSES = ("not_deployed", "update_available", "deployed")


def template_status(template: dict[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any]:
    """A template's row in one workspace: deployed or not, and for each rule made from an older version,
    what the newer version changes."""
    row = template_row(template)
    mine = [r for r in rules if str((r.get("properties") or {}).get("alertRuleTemplateName", "")).lower()
            == str(template.get("name", "")).lower()]
    row["rules"] = [{"name": r.get("name"), "display_name": (r.get("properties") or {}).get("displayName"),
                     "version": (r.get("properties") or {}).get("templateVersion")} for r in mine]
    behind = [r for r in mine if (r.get("properties") or {}).get("templateVersion")
              and version_key(r["properties"]["templateVersion"]) < version_key(row["version"])]
    row["status"] = "not_deployed" if not mine else "update_available" if behind else "deployed"
    if behind:
        row["changes"] = {str(r.get("name")): template_changes(r, template) for r in behind}
    return row


@tool(READ_ONLY, title="List analytics rule templates")
async def rule_template_list(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                             tenant: str | None = None, status: str | None = None, kind: str | None = None,
                             name_contains: str | None = None, fields: list[str] | None = None, limit: int = 25,
                             cursor: str | None = None) -> dict[str, Any]:
    """List the built-in analytics rule templates of workspaces: the ones not deployed yet, and the deployed
    rules whose template has a newer version, with what the new version changes (query, severity, schedule,
    tactics, entity mappings...).

    Args:
        workspace: One workspace (alias, name or ARM id); omit to cover `workspaces`/`tenant`.
        workspaces: Workspaces to cover, or "all" (the default): every Sentinel workspace.
        tenant: Only workspaces of this tenant.
        status: Only templates that are not_deployed, update_available (a rule uses an older version) or deployed.
        kind: Only this kind (Scheduled, NRT, Fusion, MicrosoftSecurityIncidentCreation, ...).
        name_contains: Only templates whose display name contains this text.
        fields: Fields per template (default: name, workspace, display_name, kind, severity, version, status, rules); ["*"] adds changes, tactics, techniques, data_types, description, query.
        limit: Templates per page.
        cursor: next_cursor of the previous page.
    """
    if status and status not in STATUSES:
        from sentinelkit import KitError

        raise KitError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)
    wanted = list(fields or [])
    if status == "update_available" and wanted == []:
        wanted = [*TEMPLATE_LIST_FIELDS, "changes"]

    async def one(ws: Workspace) -> list[dict[str, Any]]:
        templates, rules = await asyncio.gather(
            locate.list_templates(kit, ws),
            kit.arm(ws).list(api.rules(ws), api.SENTINEL, where=ws.where(operation="list analytics rules")))
        rows = []
        for template in templates:
            row = template_status(template, rules)
            if ((status and row["status"] != status) or (kind and str(row["kind"]).lower() != kind.lower())
                    or (name_contains and name_contains.lower() not in str(row["display_name"]).lower())):
                continue
            rows.append({"workspace": ws.label, **row})
        return rows

    result = await kit.fan_out(chosen, one)
    rows = sorted((r for _, rows in result.results for r in rows),
                  key=lambda r: (r["workspace"], STATUSES.index(r["status"]) if r["status"] in STATUSES else 9,
                                 str(r["display_name"]).lower()))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    extra: dict[str, Any] = {"workspaces": result.total, "by_status": counts}
    if result.errors:
        extra["errors"] = result.error_messages()
    return kit.page([clip(r) for r in rows], fields=wanted or None, default_fields=TEMPLATE_LIST_FIELDS, limit=limit,
                    cursor=cursor, key="templates", extra=extra)
