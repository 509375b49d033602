"""``backup_export``: every chosen kind of content of every chosen workspace, one file per object, under a
backup folder of the export directory, with a manifest.

The manifest is written first (``"status": "incomplete"``) and again after each workspace's kind, so an
interrupted export says so and lists what it wrote. An existing backup folder is only refreshed in place
when asked (``overwrite``): unchanged objects keep their bytes (files are not even rewritten), objects
that no longer exist lose their files (only those the earlier manifest listed, only for kinds listed
completely now), and anything else in the folder (``.git``, a README) is left alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sentinelkit import READ_ONLY, ContentKind, Kit, KitError, Workspace, clip, tool

from . import layout
from .content import Objects, Progress, choose_kinds, read_kind
from .manifest import (
    BackupError,
    DataEntry,
    Failure,
    KindEntry,
    Manifest,
    ObjectEntry,
    WorkspaceEntry,
    manifest_path,
    parse,
)

#: failures listed in an answer (the manifest lists them all)
_LISTED = 50


@dataclass
class _Run:
    """One export in progress: the manifest being built, and what happened to the files."""

    kit: Kit
    folder: str
    manifest: Manifest
    previous: dict[str, set[str]]  # "<workspace folder>/<kind>" → files the earlier manifest listed there
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    left: list[str] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def save(self) -> None:
        self.kit.write_export(manifest_path(self.folder), self.manifest.render(), overwrite=True)

    def put(self, relative: str, data: bytes) -> None:
        """Write an object's file unless it already holds exactly these bytes."""
        path = self.kit.export_path(f"{self.folder}/{relative}")
        if path.is_file() and path.read_bytes() == data:
            self.unchanged += 1
            return
        self.kit.write_export(f"{self.folder}/{relative}", data, overwrite=True)
        self.written += 1

    def prune_stale(self, where: str, kept: set[str]) -> None:
        """Files of ``where`` the earlier manifest listed and this export did not write: gone objects."""
        for file in sorted(self.previous.pop(where, set()) - kept):
            self.kit.export_path(f"{self.folder}/{file}").unlink(missing_ok=True)
            self.removed += 1


def _window(since: str | None, until: str | None) -> tuple[dt.datetime, dt.datetime] | None:
    if since is None:
        if until is not None:
            raise KitError("data_until needs data_since (the start of the data to export)")
        return None
    end = _instant(until, "data_until") if until else dt.datetime.now(dt.UTC)
    text = since.strip().upper()
    if text.startswith("P"):
        import re

        m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", text)
        if not m or not any(m.groups()):
            raise KitError(f"data_since {since!r} is not a duration like P7D or PT12H, nor an ISO 8601 instant")
        days, hours, minutes = (int(g or 0) for g in m.groups())
        return end - dt.timedelta(days=days, hours=hours, minutes=minutes), end
    start = _instant(since, "data_since")
    if start >= end:
        raise KitError(f"data_since ({since}) must be before data_until ({until or 'now'})")
    return start, end


def _instant(text: str, what: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise KitError(f"{what} {text!r} is not an ISO 8601 instant such as 2025-01-31T00:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _prepare_folder(kit: Kit, path: str | None, overwrite: bool) -> tuple[str, dict[str, set[str]], str | None]:
    """The backup's folder, and the files of the backup it replaces (``overwrite``)."""
    folder = (path or layout.default_folder()).strip().rstrip("/")
    root = kit.export_path(folder)  # refuses .., absolute paths and symlinks out
    if path is None:
        n = 2
        while root.exists():
            folder = f"{layout.default_folder()}-{n}"
            root, n = kit.export_path(folder), n + 1
    if root.is_file():
        raise KitError(f"{root} is a file; give a folder for the backup (path)")
    previous: dict[str, set[str]] = {}
    note = None
    if root.is_dir() and any(p.name != ".git" for p in root.iterdir()):
        old_file = root / layout.MANIFEST
        if not overwrite:
            what = "a backup" if old_file.is_file() else "files"
            raise KitError(f"{root} already holds {what}; nothing was written. Choose another path, or pass "
                           "overwrite=true to refresh it in place (unchanged objects keep their bytes, so git shows "
                           "only what changed)")
        for stale in root.rglob(".*.part"):  # left by a writer that was killed (a crash, not a cancellation)
            stale.unlink(missing_ok=True)
        if old_file.is_file():
            try:
                old = parse(old_file.read_text(encoding="utf-8"), str(old_file))
            except (BackupError, UnicodeDecodeError) as exc:
                note = f"the earlier manifest could not be read, so files of objects that are gone were left: {exc}"
            else:
                for o in old.objects:
                    previous.setdefault(f"{o.workspace}/{o.kind}", set()).add(o.file)
    return folder, previous, note


async def _export_kind(run: _Run, ws: Workspace, entry: WorkspaceEntry, kind: ContentKind, progress: Progress,
                       window: tuple[dt.datetime, dt.datetime] | None, data_objects: set[str] | None) -> None:
    found: Objects = await read_kind(run.kit, ws, kind)
    where = f"{entry.folder}/{kind.name}"
    kept: set[str] = set()
    async with run.lock:
        if found.error:
            run.manifest.failures.append(Failure(workspace=entry.folder, kind=kind.name, error=found.error))
        else:
            names = layout.file_names(found.identities.values())
            for k, normalized in found.normalized.items():
                identity = found.identities[k]
                data = layout.render(normalized)
                file = f"{where}/{names[identity]}"
                try:
                    run.put(file, data)
                except (KitError, OSError) as exc:
                    run.manifest.failures.append(Failure(workspace=entry.folder, kind=kind.name, identity=identity,
                                                         error=f"not written: {exc}"))
                    continue
                kept.add(file)
                run.manifest.objects.append(ObjectEntry(workspace=entry.folder, kind=kind.name, identity=identity,
                                                        file=file, sha256=layout.digest(data)))
            for p in found.problems:
                run.manifest.failures.append(Failure(workspace=entry.folder, kind=kind.name, **p))
            if not found.problems and len(kept) == len(found.normalized):
                entry.complete.append(kind.name)
                run.prune_stale(where, kept)
        run.save()
    if window is not None and kind.holds_data and not found.error:
        await _export_data(run, ws, entry, kind, found, window, data_objects)
    await progress.step(ws, f"{kind.title}: " + (f"failed ({found.error})" if found.error else
                                                 f"{len(found.normalized)} object(s)"))


async def _export_data(run: _Run, ws: Workspace, entry: WorkspaceEntry, kind: ContentKind, found: Objects,
                       window: tuple[dt.datetime, dt.datetime], only: set[str] | None) -> None:
    """The data of a kind that holds data (a table's rows), through the kind's own pack, one object at a time."""
    names = layout.file_names(found.identities.values())
    for k, listed in found.listed.items():
        identity = found.identities[k]
        if only is not None and k not in only:
            continue
        folder = f"{layout.DATA}/{entry.folder}/{kind.name}/{names[identity].removesuffix('.json')}"
        try:
            summary = await kind.export_data(run.kit, ws, listed, f"{run.folder}/{folder}", *window)
        except KitError as exc:
            summary = {"complete": False, "error": str(exc)}
        except Exception as exc:
            summary = {"complete": False, "error": f"unexpected {type(exc).__name__} from kind {kind.name!r}: {exc}"}
        async with run.lock:
            run.manifest.data.append(DataEntry(workspace=entry.folder, kind=kind.name, identity=identity, folder=folder,
                                               summary=summary))
            if not summary.get("complete"):
                run.manifest.failures.append(Failure(workspace=entry.folder, kind=kind.name, identity=identity,
                                                     error=f"data not fully exported: {summary.get('error') or summary}"))
            run.save()


@tool(READ_ONLY, title="Back up Sentinel content to files")
async def backup_export(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                        tenant: str | None = None, kinds: list[str] | None = None, path: str | None = None,
                        overwrite: bool = False, sentinel_only: bool = True, data_since: str | None = None,
                        data_until: str | None = None, data_objects: list[str] | None = None) -> dict[str, Any]:
    """Back up the content of one workspace, a tenant's or every workspace to files under the export directory:
    every installed kind of content (analytics and automation rules, watchlists, hunting queries and functions,
    tables, data collection rules, workbooks, any third-party pack's kinds) or a chosen set, one JSON file per
    object in a layout that suits git (<tenant>/<workspace>/<kind>/<name>.json) plus a manifest of what was
    exported, when, by which pack versions and what failed. Unchanged objects give byte-identical files. Progress
    per workspace and kind; an interrupted backup is marked incomplete. Table data (rows) is exported too, through
    the pack that owns the tables, when data_since is given.

    Args:
        workspace: One workspace (alias, name or ARM id); omit to cover `workspaces`/`tenant`.
        workspaces: Workspaces to back up (names, aliases or ids), or "all" (the default).
        tenant: Only workspaces of this tenant.
        kinds: Kinds of content to back up (e.g. ["analytics_rule", "watchlist"]); default every installed kind.
        path: Backup folder, relative to the export directory; default backups/<UTC time>. Reuse one folder (with overwrite) to keep the backup in git.
        overwrite: Refresh an existing backup folder in place instead of refusing.
        sentinel_only: Only workspaces with Microsoft Sentinel (default true); false also backs up the others' tables and data collection rules.
        data_since: Also export the data of kinds that hold data (table rows) from this instant (ISO 8601) or this long before data_until (P1D, PT12H).
        data_until: End of the data to export (ISO 8601, exclusive); default now.
        data_objects: Only the data of these objects (e.g. table names); default every object of a kind that holds data.
    """
    chosen_kinds = choose_kinds(kit, kinds)
    window = _window(data_since, data_until)
    targets = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant, sentinel_only=sentinel_only)
    folder, previous, note = _prepare_folder(kit, path, overwrite)
    import sentinelkit

    from . import __version__

    kind_entries = {}
    for k in chosen_kinds:
        pack, version = kit.content_kind_origin(k.name)
        kind_entries[k.name] = KindEntry(title=k.title, version=k.version, pack=pack, pack_version=version)
    manifest = Manifest(started=layout.now(), created_by={"sentinelkit": sentinelkit.__version__, "backup": __version__},
                        scope={"workspace": workspace, "workspaces": workspaces if workspace is None else None,
                               "tenant": tenant, "kinds": [k.name for k in chosen_kinds],
                               "data": {"since": window[0].isoformat(), "until": window[1].isoformat()} if window else None},
                        kinds=kind_entries)
    run = _Run(kit, folder, manifest, previous)
    run.save()
    folders = layout.workspace_folders(targets)
    progress = Progress(kit, len(targets) * len(chosen_kinds), "backed up")
    only = {o.casefold() for o in data_objects} if data_objects else None
    started = asyncio.get_running_loop().time()

    async def one(ws: Workspace) -> int:
        ws = await kit.workspace_details(ws)
        entry = WorkspaceEntry.of(ws, folders[ws.id.lower()])
        async with run.lock:
            manifest.workspaces.append(entry)
        await asyncio.gather(*(_export_kind(run, ws, entry, k, progress, window, only) for k in chosen_kinds))
        return len(chosen_kinds)

    try:
        done = await kit.fan_out(targets, one, progress=False)
    except KitError as exc:  # the one workspace named failed: that is the answer, and the manifest says so
        manifest.failures.append(Failure(workspace=folders.get(targets[0].id.lower()), error=str(exc)))
        manifest.status, manifest.finished = "partial", layout.now()
        run.save()
        raise
    for failed_ws, error in done.errors:
        manifest.failures.append(Failure(workspace=folders.get(failed_ws.id.lower()), error=str(error)))
    for u in done.unreachable:
        manifest.failures.append(Failure(error=f"{u.scope} could not be listed, so its workspaces are missing: "
                                               f"{u.message}"))
    for files in run.previous.values():  # kinds not listed completely now: their earlier files stay
        run.left += sorted(files)
    manifest.status = "partial" if manifest.failures else "complete"
    manifest.finished = layout.now()
    run.save()
    seconds = asyncio.get_running_loop().time() - started
    counts: dict[str, int] = {}
    for o in manifest.objects:
        counts[o.kind] = counts.get(o.kind, 0) + 1
    answer: dict[str, Any] = {
        "backup": folder, "directory": str(kit.export_path(folder)), "status": manifest.status,
        "workspaces": len(manifest.workspaces), "objects": len(manifest.objects), "kinds": dict(sorted(counts.items())),
        "files": {"written": run.written, "unchanged": run.unchanged, "removed": run.removed},
        "seconds": round(seconds, 2), "failures": len(manifest.failures),
    }
    if manifest.data:
        answer["data_exports"] = len(manifest.data)
    if manifest.failures:
        answer["failed"] = clip([f.model_dump(exclude_none=True) for f in manifest.failures[:_LISTED]])
        if len(manifest.failures) > _LISTED:
            answer["failed_note"] = f"the first {_LISTED} of {len(manifest.failures)}; the manifest lists them all"
    if run.left:
        answer["left_in_place"] = (f"{len(run.left)} file(s) of the earlier backup were kept, because their kind could "
                                   "not be listed completely this time; they are not in the new manifest")
    if note:
        answer["note"] = note
    return answer
