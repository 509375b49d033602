"""Moving workbooks: export to a file, import from a file or text, copy to other workspaces and tenants."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path
from typing import Any, Literal

from sentinelkit import ADDITIVE, READ_ONLY, Kit, KitError, Workspace, tool

from . import forms, locate, plan
from .settings import WorkbooksSettings

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def _stem(text: str) -> str:
    return _UNSAFE.sub("_", text).strip(" ._") or "workbook"


def default_path(ws: Workspace, resource: dict[str, Any], form: str) -> str:
    suffix = ".gallery.json" if form == "gallery" else ".json"
    return f"workbooks/{_stem(ws.label)}/{_stem(locate.display_name(resource))}{suffix}"


@tool(READ_ONLY, title="Export a Sentinel workbook to a file")
async def workbook_export(kit: Kit, workspace: str, workbook: str, path: str | None = None,
                          form: Literal["sentinelkit", "gallery"] = "sentinelkit",
                          overwrite: bool = False) -> dict[str, Any]:
    """Export a workbook to a JSON file under the export directory: pretty JSON with a stable key order, so
    that exporting an unchanged workbook gives the same bytes (and git shows real changes only). Re-import
    it with workbook_import, here or in another workspace.

    Args:
        workspace: Workspace the workbook belongs to (alias, name or ARM id).
        workbook: Display name, id (GUID) or ARM id of the workbook.
        path: File path relative to the export directory (default: workbooks/<workspace>/<display name>.json).
        form: sentinelkit (metadata + content, for backups and copies) or gallery (the gallery template the workbook editor shows and Azure-Sentinel publishes under Workbooks/).
        overwrite: Replace the file when it exists with other content (an identical file is left as it is).
    """
    ws = await kit.workspace(workspace)
    resource = await locate.find(kit, ws, workbook)
    text = forms.export(resource, form)
    relative = path or default_path(ws, resource, form)
    target = kit.export_path(relative)
    data = text.encode("utf-8")
    out: dict[str, Any] = {"workbook": locate.display_name(resource), "id": resource["name"], "workspace": ws.label,
                           "form": form, "path": relative, "file": str(target), "bytes": len(data),
                           "sha256": hashlib.sha256(data).hexdigest()}
    if target.is_file() and target.read_bytes() == data:
        return {**out, "written": False, "message": "the file already holds exactly this export; nothing to write"}
    kit.write_export(relative, text, overwrite=overwrite)
    return {**out, "written": True}


def load(kit: Kit, path: str | None, text: str | None) -> tuple[str, str]:
    """The JSON text to import and how to name where it came from, refused when it is too large."""
    if (path is None) == (text is None):
        raise KitError("give exactly one of path (a file in the export directory) or workbook_json (the JSON text)")
    limit = kit.pack_settings(WorkbooksSettings).max_file_bytes
    too_big = (f"; the largest workbook accepted is {limit / 1048576:.1f} MB (Azure keeps at most 2 MB of content); "
               "nothing was imported")
    if text is not None:
        size = len(text.encode("utf-8"))
        if size > limit:
            raise KitError(f"the workbook_json given is {size / 1048576:.1f} MB{too_big}")
        return text, "the workbook_json given"
    file = kit.export_path(path or "")
    if not file.is_file():
        raise KitError(f"{path!r} is not a file in the export directory ({kit.export_dir}); put the workbook there, or "
                       "export one with workbook_export")
    size = file.stat().st_size
    if size > limit:
        raise KitError(f"file {path!r} is {size / 1048576:.1f} MB{too_big}")
    try:
        return file.read_bytes().decode("utf-8-sig"), f"file {path!r}"
    except UnicodeDecodeError as exc:
        raise KitError(f"file {path!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); nothing was imported") from exc


@tool(ADDITIVE, title="Import a workbook into Sentinel")
async def workbook_import(kit: Kit, workspace: str, path: str | None = None, workbook_json: str | None = None,
                          display_name: str | None = None, replace: str | None = None, etag: str | None = None,
                          accept_missing_tables: bool = False) -> dict[str, Any]:
    """Import a workbook from a workbook_export file, an Azure-Sentinel gallery template (Workbooks/*.json) or
    JSON text. Its workspace references (fallbackResourceIds, resource ids inside queries) are pointed at the
    target workspace and every query is checked against the target's tables. A workbook of the same display
    name (or the file's own id) is updated with its etag; otherwise a new one is created. Use dry_run to see
    what will be created or replaced.

    Args:
        workspace: Target workspace (alias, name or ARM id).
        path: A file relative to the export directory (give this or workbook_json).
        workbook_json: The workbook's JSON text (give this or path).
        display_name: Name in Sentinel (default: the file's, else the file name).
        replace: Display name or id of the workbook of the target to replace (default: the one with this display name, if any).
        etag: The etag you read (workbook_get) of the workbook being replaced; the import fails if it changed since.
        accept_missing_tables: Import even when queries read tables the target workspace does not have (they are reported per query either way).
    """
    ws = await kit.workspace(workspace)
    text, origin = load(kit, path, workbook_json)
    source = forms.read(text, origin=origin)
    if display_name is None and source.display_name is None and path:
        display_name = Path(path).name.split(".", 1)[0].replace("_", " ").strip() or None
    mapping = await plan.customer_ids(kit, source.workspace_ids, ws)
    planned = await plan.make(kit, ws, source, display_name=display_name, replace=replace, etag=etag, mapping=mapping)
    preview = planned.preview(ws.label)
    if planned.action == "unchanged":
        return {**preview, "message": f"workspace {ws.label} already has workbook {planned.display_name!r} exactly like "
                "this; nothing was written"}
    if planned.missing_tables and not accept_missing_tables and not kit.dry_run:
        raise KitError(plan.missing_tables_message(planned, ws.label) + "; nothing was imported. Connect those data "
                       "sources first, or pass accept_missing_tables=true to import it anyway (those steps stay empty)")
    verb = "create" if planned.action == "create" else f"replace (update, id {planned.name}) "
    await kit.confirm_change(f"{verb} workbook {planned.display_name!r} in {ws.label} (tenant {ws.tenant_label})",
                             preview)
    done = await plan.apply(kit, planned)
    return {**done, "workspace": ws.label, "references": planned.references, "tables": planned.check}


@tool(ADDITIVE, title="Copy a workbook to other workspaces")
async def workbook_copy(kit: Kit, workspace: str, workbook: str, to_workspaces: list[str] | str,
                        tenant: str | None = None, display_name: str | None = None,
                        accept_missing_tables: bool = False) -> dict[str, Any]:
    """Copy one workbook from a workspace to many workspaces, across tenants, in one call: per target it is
    created, updated (the workbook of the same display name, with its etag) or left unchanged, with its
    workspace references pointed at the target and its queries checked against the target's tables. Use
    dry_run for the per-target preview.

    Args:
        workspace: Workspace the workbook comes from (alias, name or ARM id).
        workbook: Display name, id (GUID) or ARM id of the workbook.
        to_workspaces: Target workspaces (names, aliases or ids), or "all": every Sentinel workspace but the source.
        tenant: Only targets of this tenant.
        display_name: Name of the copies (default: the source's).
        accept_missing_tables: Copy also to workspaces that lack tables its queries read (otherwise those are skipped, with the tables per query).
    """
    src_ws = await kit.workspace(workspace)
    resource = await locate.find(kit, src_ws, workbook)
    source = forms.from_resource(resource)
    source.id = None  # a workbook's id is its own workspace's: copies are matched by display name
    chosen = await kit.targets(workspaces=to_workspaces, tenant=tenant)
    # the same Targets (what the core knows about them travels along), without the source
    targets = dataclasses.replace(chosen, workspaces=tuple(t for t in chosen if t.id.lower() != src_ws.id.lower()))
    if not targets:
        raise KitError(f"no target workspace other than {src_ws.label} matches to_workspaces={to_workspaces!r}"
                       + (f" in tenant {tenant}" if tenant else "") + "; see workspace_list")

    async def plan_one(ws: Workspace) -> plan.Plan:
        mapping = await plan.customer_ids(kit, source.workspace_ids, ws)
        return await plan.make(kit, ws, source, display_name=display_name, mapping=mapping)

    planned = await kit.fan_out(targets, plan_one, label="target workspaces")
    rows: dict[str, dict[str, Any]] = {}  # by workspace id, in target order
    to_write: list[plan.Plan] = []
    for ws, p in planned.results:
        row = p.preview(planned.key(ws))
        if p.action != "unchanged" and p.missing_tables and not accept_missing_tables:
            row.update(action="skip", reason=plan.missing_tables_message(p, planned.key(ws)) +
                       "; pass accept_missing_tables=true to copy it anyway")
        elif p.action != "unchanged":
            to_write.append(p)
        rows[ws.id.lower()] = row
    for ws, exc in planned.errors:
        rows[ws.id.lower()] = {"workspace": planned.key(ws), "action": "error", "error": str(exc)}
    named = {r["workspace"] for r in rows.values()}
    for key, message in planned.error_messages().items():  # what the fan-out reports beyond its targets
        if key not in named:
            rows[f"~{key}"] = {"workspace": key, "action": "error", "error": message}

    def ordered() -> list[dict[str, Any]]:
        return [rows[t.id.lower()] for t in targets if t.id.lower() in rows] + [
            r for k, r in rows.items() if k.startswith("~")]

    counts = {a: n for a in ("create", "update", "unchanged", "skip", "error")
              if (n := sum(1 for r in rows.values() if r["action"] == a))}
    name = locate.display_name(resource)
    head = {"workbook": name, "from": src_ws.label, "counts": counts}
    if not to_write and not kit.dry_run:
        return {**head, "targets": [_compact(r) for r in ordered()], "message": "nothing to write"}
    await kit.confirm_change(f"copy workbook {name!r} from {src_ws.label} to {len(targets)} workspace(s): "
                             + ", ".join(f"{v} {k}" for k, v in counts.items()),
                             {**head, "targets": ordered()})

    async def write_one(ws: Workspace) -> dict[str, Any]:
        return await plan.apply(kit, next(p for p in to_write if p.ws.id == ws.id))

    written = await kit.fan_out(dataclasses.replace(targets, workspaces=tuple(p.ws for p in to_write)), write_one,
                                label="target workspaces")
    for ws, result in written.results:
        rows[ws.id.lower()].update(action=result["action"], revision=result["revision"])
    for ws, exc in written.errors:
        rows[ws.id.lower()].update(action="failed", error=str(exc))
    bad = [r for r in rows.values() if r["action"] in ("failed", "error", "skip")]
    if bad:
        applied = any(r["action"] in ("created", "updated") for r in rows.values())
        kit.report_outcome("partial" if applied else "failed",
                           "; ".join(f"{r['workspace']}: {r.get('error') or r.get('reason')}" for r in bad))
    return {**head, "targets": [_compact(r) for r in ordered()]}


def _compact(row: dict[str, Any]) -> dict[str, Any]:
    """A target's result without the preview's detail (dry_run shows that)."""
    out = {k: row[k] for k in ("workspace", "action", "id", "revision", "error", "reason") if row.get(k)}
    missing = (row.get("tables") or {}).get("missing_tables")
    if missing:
        out["missing_tables"] = missing
    return out
