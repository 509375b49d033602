"""Reading a backup: its manifest (checked, see ``manifest.parse``), which of its workspaces a call means,
and one workspace's objects from their files.

Everything is read through ``kit.export_path``: a backup folder, or a file a manifest names, outside the
export directory (``..``, an absolute path, a symbolic link out) is refused. What cannot be used is said
per kind (a kind whose pack is not installed, or whose pack is older than the one that wrote the backup)
or per file (missing, not JSON, not the object the manifest names), and left out; the rest is used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sentinelkit import ContentKind, ExportPathError, Kit

from .content import Objects, key, unknown_kind
from .layout import MANIFEST, digest
from .manifest import BackupError, Manifest, WorkspaceEntry, parse


@dataclass
class Backup:
    folder: str
    manifest: Manifest

    @property
    def name(self) -> str:
        return self.folder

    def choose(self, ref: str | None, *, what: str = "source") -> WorkspaceEntry:
        """The backup's workspace that ``ref`` names (folder, label, name, ARM id or customerId); without
        ``ref``, its only workspace."""
        entries = self.manifest.workspaces
        if not entries:
            raise BackupError(f"backup {self.folder} holds no workspace (status {self.manifest.status}); nothing to use")
        if ref is None:
            if len(entries) == 1:
                return entries[0]
            raise BackupError(f"backup {self.folder} holds {len(entries)} workspaces: name the one to use as `{what}` "
                              f"({', '.join(w.folder for w in entries)})")
        wanted = ref.strip().strip("/").casefold()
        found = [w for w in entries if wanted in {w.folder.casefold(), w.label.casefold(), w.name.casefold(),
                                                  w.id.casefold(), (w.customer_id or "").casefold()}]
        if len(found) == 1:
            return found[0]
        if found:
            raise BackupError(f"{ref!r} names {len(found)} workspaces of backup {self.folder}: "
                              f"{', '.join(w.folder for w in found)}; give the folder (<tenant>/<workspace>)")
        raise BackupError(f"backup {self.folder} holds no workspace {ref!r}; it holds: "
                          f"{', '.join(w.folder for w in entries)}")


def open_backup(kit: Kit, path: str) -> Backup:
    """The backup in folder ``path`` (relative to the export directory), its manifest checked."""
    folder = path.strip().rstrip("/")
    root = kit.export_path(folder)
    if not root.is_dir():
        raise BackupError(f"there is no backup folder {folder!r} in the export directory ({kit.export_dir}); "
                          "backup_list shows the backups there")
    file = kit.export_path(f"{folder}/{MANIFEST}")
    if not file.is_file():
        raise BackupError(f"{root} has no {MANIFEST}: it is not a backup written by backup_export (see backup_list)")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BackupError(f"{file} is not a usable backup manifest: it is not UTF-8 text; nothing was read or "
                          "changed. Restore it from an untouched copy, or export again.") from None
    return Backup(folder, parse(text, str(file)))


@dataclass
class Loaded:
    """One workspace of a backup: its objects per kind, what each was when exported (``base``: SHA-256 of
    the file then), the kinds left out and why, the files that could not be used, and which kinds the
    export listed completely (only those may be pruned against)."""

    objects: dict[str, Objects] = field(default_factory=dict)
    base: dict[str, dict[str, str]] = field(default_factory=dict)
    edited: set[tuple[str, str]] = field(default_factory=set)
    skipped: dict[str, str] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)
    complete: set[str] = field(default_factory=set)

    def notes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.skipped:
            out["skipped_kinds"] = self.skipped
        if self.problems:
            out["unusable_files"] = self.problems
        return out


def _refusal(backup: Backup, name: str, installed: ContentKind | None, count: int) -> str | None:
    """Why the backup's objects of kind ``name`` cannot be used with what is installed (``None``: they can)."""
    entry = backup.manifest.kinds[name]
    wrote = f"pack {entry.pack}" + (f" {entry.pack_version}" if entry.pack_version else "")
    if installed is None:
        return (f"kind {name!r} is not installed: {wrote} wrote its {count} object(s) in this backup; install that "
                "pack to use them. Skipped")
    if entry.version > installed.version:
        return (f"the backup's {entry.title} were written by version {entry.version} of kind {name!r} ({wrote}), "
                f"newer than the installed version {installed.version}, which cannot read them safely; upgrade the "
                f"pack ({entry.pack}). Skipped")
    return None


def check_kind_names(kit: Kit, backup: Backup, kinds: Sequence[str] | None) -> None:
    """Refuse a kind name that is neither installed nor in ``backup`` (a typo) before anything is planned; a kind
    the backup holds whose pack is not installed is not refused: ``load`` reports it and skips it."""
    known = set(kit.content_kinds()) | set(backup.manifest.kinds)
    for name in kinds or []:
        if name not in known:
            raise unknown_kind(name, known, "installed or backed-up")


def load(kit: Kit, backup: Backup, entry: WorkspaceEntry, kinds: Sequence[str] | None = None,
         names: Sequence[str] | None = None) -> Loaded:
    """The objects of ``entry`` in ``backup``, of the kinds asked (default: every kind of the backup)."""
    installed = kit.content_kinds()
    wanted = list(kinds) if kinds else list(backup.manifest.kinds)
    only = {key(n) for n in names} if names else None
    out = Loaded(complete=set(entry.complete))
    counts: dict[str, int] = {}
    for o in backup.manifest.objects:
        if o.workspace == entry.folder:
            counts[o.kind] = counts.get(o.kind, 0) + 1
    for name in wanted:
        if name not in backup.manifest.kinds:
            out.skipped[name] = f"the backup holds no {name} (it holds: {', '.join(sorted(backup.manifest.kinds))})"
            continue
        refusal = _refusal(backup, name, installed.get(name), counts.get(name, 0))
        if refusal:
            out.skipped[name] = refusal
            continue
        out.objects[name] = Objects(installed[name])
        out.base[name] = {}
    for o in backup.manifest.objects:
        if o.workspace != entry.folder or o.kind not in out.objects or (only is not None and key(o.identity) not in only):
            continue
        kind = out.objects[o.kind].kind
        problem, obj, raw = _read(kit, backup, o.file)
        if obj is not None:
            try:
                identity = kind.identity(obj)
            except Exception as exc:
                identity, problem = "", f"is not a {kind.name}: {type(exc).__name__}: {exc}"
            if not problem and key(identity) != key(o.identity):
                problem = f"holds {identity!r}, but the manifest lists {o.identity!r} for this file"
        if problem or obj is None:
            out.problems.append({"file": o.file, "kind": o.kind, "identity": o.identity,
                                 "error": f"{o.file} {problem}; skipped"})
            continue
        out.objects[o.kind].add(o.identity, obj)
        out.base[o.kind][key(o.identity)] = o.sha256
        if digest(raw) != o.sha256:
            out.edited.add((o.kind, key(o.identity)))
    return out


def _read(kit: Kit, backup: Backup, file: str) -> tuple[str | None, dict[str, Any] | None, bytes]:
    try:
        path = kit.export_path(f"{backup.folder}/{file}")
        raw = path.read_bytes()
    except ExportPathError as exc:
        return f"is refused: {exc}", None, b""
    except FileNotFoundError:
        return "is missing (restore it from git, or export again)", None, b""
    except OSError as exc:
        return f"cannot be read ({exc.strerror})", None, b""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "is not UTF-8 text", None, raw
    except json.JSONDecodeError as exc:
        return f"is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); fix it or restore it from git", None, raw
    if not isinstance(obj, dict):
        return f"holds a JSON {type(obj).__name__}, not an object", None, raw
    return None, obj, raw
