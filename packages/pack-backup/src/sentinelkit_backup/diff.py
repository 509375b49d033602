"""``backup_diff``: two backups, or a backup and a live workspace, compared per workspace and kind — objects
added, removed and changed, with field-level differences.

Two backups are compared workspace by workspace (the same ARM id); backups of one workspace each are
compared with each other even when those differ (the older one pointed at the newer one's workspace), as
is a backup compared with a live workspace.
"""

from __future__ import annotations

from typing import Any

from sentinelkit import READ_ONLY, Kit, KitError, Workspace, tool

from .compare import compare
from .content import Objects, Progress, key, pointed, read_workspace
from .manifest import WorkspaceEntry
from .store import Backup, Loaded, check_kind_names, load, open_backup


def _pairs(old: Backup, new: Backup, source: str | None) -> tuple[list[tuple[WorkspaceEntry, WorkspaceEntry]],
                                                                   dict[str, str]]:
    """Workspaces of two backups to compare, and those only one of them holds."""
    olds = [old.choose(source)] if source else old.manifest.workspaces
    by_id = {w.id.lower(): w for w in new.manifest.workspaces}
    pairs = [(o, by_id[o.id.lower()]) for o in olds if o.id.lower() in by_id]
    if not pairs and len(olds) == 1 and len(new.manifest.workspaces) == 1:
        pairs = [(olds[0], new.manifest.workspaces[0])]
    paired_old = {o.folder for o, _ in pairs}
    paired_new = {n.folder for _, n in pairs}
    alone = {o.folder: f"only in {old.folder}" for o in olds if o.folder not in paired_old}
    alone |= {n.folder: f"only in {new.folder}" for n in new.manifest.workspaces if n.folder not in paired_new}
    return pairs, alone


def _filtered(objects: Objects, only: set[str] | None) -> Objects:
    if only is not None:
        objects.normalized = {k: v for k, v in objects.normalized.items() if k in only}
    return objects


@tool(READ_ONLY, title="Compare backups, or a backup with a workspace")
async def backup_diff(kit: Kit, backup: str, other: str | None = None, workspace: str | None = None,
                      source: str | None = None, kinds: list[str] | None = None, names: list[str] | None = None,
                      limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
    """Compare two backups, or a backup with a live workspace: per workspace and kind, the objects added, removed
    and changed, with the fields that differ (before and after). Give `other` (a newer backup) or `workspace`
    (compare with what it holds now).

    Args:
        backup: The older backup folder, relative to the export directory (see backup_list).
        other: A newer backup folder to compare it with.
        workspace: Or a workspace (alias, name or ARM id) whose current content to compare it with.
        source: Which of the backup's workspaces to compare (<tenant>/<workspace> folder, name or ARM id); default: the one with the workspace's ARM id, or its only workspace.
        kinds: Only these kinds of content (default: every kind of the backup).
        names: Only the objects with these names (identities).
        limit: Changed objects per page.
        cursor: next_cursor of the previous page.
    """
    if (other is None) == (workspace is None):
        raise KitError("give either `other` (a second backup) or `workspace` (a live workspace) to compare the "
                       "backup with, not both or neither")
    old = open_backup(kit, backup)
    check_kind_names(kit, old, kinds)
    only = {key(n) for n in names} if names else None
    sides: list[tuple[str, Loaded, Workspace, Workspace, dict[str, Objects]]] = []  # label, old, its ws, new ws, new
    extra: dict[str, Any] = {"old": old.folder}
    if other is not None:
        new = open_backup(kit, other)
        extra["new"] = new.folder
        pairs, alone = _pairs(old, new, source)
        if alone:
            extra["workspaces_not_compared"] = alone
        for o, n in pairs:
            second = load(kit, new, n, kinds, names)
            sides.append((n.folder, load(kit, old, o, kinds, names), o.workspace(), n.workspace(), second.objects))
            if second.notes():
                extra.setdefault("notes", {})[f"{new.folder}: {n.folder}"] = second.notes()
    else:
        ws = await kit.workspace_details(await kit.workspace(str(workspace)))
        mine = [w for w in old.manifest.workspaces if w.id.lower() == ws.id.lower()]
        entry = old.choose(source) if source or not mine else mine[0]
        loaded = load(kit, old, entry, kinds, names)
        live = await read_workspace(kit, ws, [o.kind for o in loaded.objects.values()],
                                    Progress(kit, len(loaded.objects), "read"))
        extra["new"] = f"workspace {ws.label} now"
        for name, objs in live.items():
            if objs.error:
                extra.setdefault("unreadable_kinds", {})[name] = objs.error
        sides.append((ws.label, loaded, entry.workspace(), ws, {n: o for n, o in live.items() if not o.error}))
    rows: list[dict[str, Any]] = []
    summary: dict[str, dict[str, dict[str, int]]] = {}
    for label, loaded, source_ws, target, newer in sides:
        if loaded.notes():
            extra.setdefault("notes", {})[f"{old.folder}: {label}"] = loaded.notes()
        for name, objs in loaded.objects.items():
            if name not in newer:
                continue
            d = compare(_filtered(pointed(objs, source_ws, target), only), _filtered(newer[name], only))
            if d.empty:
                continue
            summary.setdefault(label, {})[name] = {"added": len(d.added), "removed": len(d.removed),
                                                   "changed": len(d.changed), "unchanged": d.same}
            rows += [{"workspace": label, "kind": name, "name": i, "change": "added"} for i in d.added]
            rows += [{"workspace": label, "kind": name, "name": i, "change": "removed"} for i in d.removed]
            rows += [{"workspace": label, "kind": name, "name": i, "change": "changed", "differences": found[:20]}
                     for i, found in d.changed.items()]
    extra["summary"] = summary or "no differences"
    return kit.page(rows, limit=limit, cursor=cursor, key="differences", extra=extra)
