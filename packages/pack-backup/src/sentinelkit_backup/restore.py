"""``backup_restore``: a backup back into the workspaces it came from, or one of its workspaces into another
workspace (another tenant's too), through a plan per object, one confirmation, etags and per-object results
(see ``plan``).

Which workspace receives what is never guessed: without ``workspace``, each of the backup's workspaces goes
back to the workspace with its own ARM id, in its own tenant; with ``workspace``, the backup's source
workspace must be unambiguous (``source`` when it holds several). Whatever still names the source's tenant
after the workspace references were rewritten is blocked, not written into another tenant.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sentinelkit import ADDITIVE, Kit, KitError, Workspace, tool

from .content import Progress, key
from .manifest import WorkspaceEntry
from .plan import Plan, carry_out, make_plan
from .store import Backup, check_kind_names, load, open_backup


async def _same_workspaces(kit: Kit, backup: Backup, source: str | None) -> tuple[list[tuple[WorkspaceEntry, Workspace]],
                                                                                   dict[str, str]]:
    """Each of the backup's workspaces (or ``source``), paired with the live workspace of its ARM id."""
    entries = [backup.choose(source)] if source else backup.manifest.workspaces
    pairs: list[tuple[WorkspaceEntry, Workspace]] = []
    errors: dict[str, str] = {}
    for entry in entries:
        try:
            ws = await kit.workspace(entry.id)
        except KitError as exc:
            if len(entries) == 1:
                raise
            errors[entry.folder] = str(exc)
            continue
        if entry.tenant_id and ws.tenant_id and entry.tenant_id.lower() != ws.tenant_id.lower():
            message = (f"the backup's {entry.label} was in tenant {entry.tenant or entry.tenant_id}, but the workspace "
                       f"with that id is in tenant {ws.tenant_label} now; nothing is restored there")
            if len(entries) == 1:
                raise KitError(message)
            errors[entry.folder] = message
            continue
        pairs.append((entry, ws))
    return pairs, errors


@tool(ADDITIVE, title="Restore a backup", can_remove=True)
async def backup_restore(kit: Kit, backup: str, workspace: str | None = None, source: str | None = None,
                         kinds: list[str] | None = None, names: list[str] | None = None, prune: bool = False,
                         overwrite_changed: bool = False) -> dict[str, Any]:
    """Restore a backup (see backup_list) into the workspaces it came from, or one of its workspaces into another
    workspace, of the same or another tenant, with workspace references rewritten. Each object gets a plan:
    create, update, unchanged, or conflict when it changed in the workspace since the backup (left alone unless
    overwrite_changed). One confirmation for the whole plan (use dry_run to see it), etags on updates, a result
    per object. Nothing is deleted unless prune=true; deleting, overwriting a change made since the backup, or an
    update that removes or lowers something (a data flow, retention, an enabled rule) is confirmed like a
    destructive change.

    Args:
        backup: The backup folder, relative to the export directory (as backup_list shows it).
        workspace: Restore into this workspace (alias, name or ARM id) instead of the workspaces the backup came from.
        source: Which of the backup's workspaces to restore (<tenant>/<workspace> folder, name or ARM id); needed when it holds several and `workspace` is given.
        kinds: Only these kinds of content (e.g. ["analytics_rule"]); default every kind in the backup that is installed.
        names: Only the objects with these names (identities, e.g. rule display names).
        prune: Also delete what the workspace has and the backup lacks (for kinds the backup listed completely). Destructive.
        overwrite_changed: Also replace objects that changed in the workspace since the backup (their change is lost).
    """
    opened = open_backup(kit, backup)
    check_kind_names(kit, opened, kinds)
    if workspace is not None:
        target = await kit.workspace(workspace)
        pairs: list[tuple[WorkspaceEntry, Workspace]] = [(opened.choose(source), target)]
        errors: dict[str, str] = {}
    else:
        pairs, errors = await _same_workspaces(kit, opened, source)
    only = {key(n) for n in names} if names else None
    progress = Progress(kit, len(pairs) * max(1, len(kinds or opened.manifest.kinds)), "planned")

    async def plan_one(entry: WorkspaceEntry, ws: Workspace) -> Plan:
        ws = await kit.workspace_details(ws)
        loaded = load(kit, opened, entry, kinds, names)
        same = ws.id.lower() == entry.id.lower()
        prunable = (loaded.complete & set(loaded.objects)) if prune else set()
        plan = await make_plan(kit, ws, entry.workspace(), loaded.objects, base=loaded.base if same else None,
                               prunable=prunable, overwrite_changed=overwrite_changed,
                               edited=loaded.edited if same else set(), progress=progress, only=only)
        plan.notes.update(loaded.notes())
        if prune and set(loaded.objects) - prunable:
            plan.notes["not_pruned"] = {k: "the backup did not list every object of this kind here (see its manifest's "
                                           "failures), so nothing of it is deleted" for k in sorted(set(loaded.objects) - prunable)}
        if opened.manifest.status == "incomplete":
            plan.notes["backup_incomplete"] = ("the backup's export did not finish: it holds only what was written "
                                               "before it stopped")
        return plan

    plans: list[Plan] = []
    done = await asyncio.gather(*(plan_one(entry, ws) for entry, ws in pairs), return_exceptions=True)
    for (entry, _), outcome in zip(pairs, done, strict=True):
        if isinstance(outcome, KitError) and len(pairs) > 1:
            errors[entry.folder] = str(outcome)
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            plans.append(outcome)
    return await carry_out(kit, plans, errors, f"restore backup {opened.folder}")
