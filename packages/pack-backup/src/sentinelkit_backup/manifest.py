"""A backup's record of itself (``manifest.json`` at its root): what was exported (workspaces, kinds with
their versions and packs, one entry per object file with its SHA-256), when, by which versions, what
failed, and whether the export finished. It is rewritten atomically as the export goes, so an interrupted
export leaves ``"status": "incomplete"`` and the objects written so far.

A manifest carries a checksum of its own content: one edited by hand (a workspace id changed to send a
tenant's content elsewhere, a kind version lowered, a file path pointing out of the backup) is refused
before anything is read or written. Object files may be edited (that is how a person changes content
kept in git); the manifest keeps what each object was when exported.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sentinelkit import KitError, Workspace

from .layout import DATA, MANIFEST

FORMAT = "sentinelkit-backup"
#: the layout and manifest this pack writes; a manifest of a higher format is refused
FORMAT_VERSION = 1


class BackupError(KitError):
    """A backup that cannot be read as it is: the message says which file, what is wrong and what to do."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KindEntry(_Model):
    title: str
    version: int
    pack: str
    pack_version: str | None = None


class WorkspaceEntry(_Model):
    folder: str
    id: str
    name: str
    label: str
    tenant: str | None = None
    tenant_id: str | None = None
    subscription_id: str
    resource_group: str
    customer_id: str | None = None
    location: str | None = None
    #: kinds whose every object was listed and written (a prune may only trust these)
    complete: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, ws: Workspace, folder: str) -> WorkspaceEntry:
        return cls(folder=folder, id=ws.id, name=ws.name, label=ws.label, tenant=ws.tenant, tenant_id=ws.tenant_id,
                   subscription_id=ws.subscription_id, resource_group=ws.resource_group, customer_id=ws.customer_id,
                   location=ws.location)

    def workspace(self) -> Workspace:
        """The workspace as it was when exported (the source of a restore: whose references to rewrite)."""
        return Workspace(id=self.id, name=self.name, subscription_id=self.subscription_id,
                         resource_group=self.resource_group, tenant_id=self.tenant_id, tenant=self.tenant,
                         customer_id=self.customer_id, location=self.location)


class ObjectEntry(_Model):
    workspace: str
    kind: str
    identity: str
    file: str
    sha256: str


class Failure(_Model):
    workspace: str | None = None
    kind: str | None = None
    identity: str | None = None
    error: str


class DataEntry(_Model):
    workspace: str
    kind: str
    identity: str
    folder: str
    summary: dict[str, Any]


class Manifest(_Model):
    format: Literal["sentinelkit-backup"] = "sentinelkit-backup"
    format_version: int = FORMAT_VERSION
    status: Literal["incomplete", "complete", "partial"] = "incomplete"
    started: str
    finished: str | None = None
    created_by: dict[str, str | None]
    scope: dict[str, Any]
    kinds: dict[str, KindEntry]
    workspaces: list[WorkspaceEntry] = Field(default_factory=list)
    objects: list[ObjectEntry] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    data: list[DataEntry] = Field(default_factory=list)
    checksum: str | None = None

    def content_checksum(self) -> str:
        body = self.model_dump(mode="json", exclude={"checksum"})
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()

    def render(self) -> str:
        """The manifest's text, sorted (objects by workspace, kind and identity) and checksummed."""
        self.workspaces.sort(key=lambda w: w.folder)
        self.objects.sort(key=lambda o: (o.workspace, o.kind, o.identity.casefold(), o.identity))
        self.data.sort(key=lambda d: (d.workspace, d.kind, d.identity))
        self.checksum = self.content_checksum()
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def entry(self, folder: str) -> WorkspaceEntry:
        return next(w for w in self.workspaces if w.folder == folder)

    def summary(self) -> dict[str, Any]:
        """What ``backup_list`` shows of a backup."""
        counts: dict[str, int] = {}
        for o in self.objects:
            counts[o.kind] = counts.get(o.kind, 0) + 1
        return {"status": self.status, "started": self.started, "finished": self.finished,
                "workspaces": [w.label for w in self.workspaces],
                "tenants": sorted({w.tenant or w.tenant_id or "?" for w in self.workspaces}),
                "objects": len(self.objects), "kinds": dict(sorted(counts.items())),
                "failures": len(self.failures), "data_exports": len(self.data),
                "created_by": self.created_by}


def parse(text: str, where: str) -> Manifest:
    """The manifest in ``text`` (the file ``where``), checked: its format and version, its fields, its checksum,
    and that every path it names stays inside the backup in the backup's layout."""
    def refuse(problem: str, advice: str = "restore the file from an untouched copy (e.g. `git checkout -- "
                                           "manifest.json`) or export again") -> BackupError:
        return BackupError(f"{where} is not a usable backup manifest: {problem}; nothing was read or changed. "
                           f"To fix it, {advice}.")

    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise refuse(f"it is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise refuse(f"it has no \"format\": \"{FORMAT}\" (is it the manifest of another export?)",
                     "give the folder of a backup written by backup_export (see backup_list)")
    version = raw.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise refuse(f"it was written by a newer sentinelkit-backup (manifest format {version}; this version reads "
                     f"up to {FORMAT_VERSION})", "upgrade sentinelkit-backup (pip install -U sentinelkit-backup)")
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise refuse(f"{path}: {first['msg']}{more}") from None
    if manifest.checksum != manifest.content_checksum():
        raise refuse("its content was changed after sentinelkit wrote it (its checksum does not match)")
    problem = _layout_problem(manifest)
    if problem:
        raise refuse(problem)
    return manifest


def _inside(path: str, depth: int) -> bool:
    """``path`` is ``depth`` plain segments (no ``..``, ``.``, hidden or absolute parts)."""
    parts = PurePosixPath(path).parts
    return (not path.startswith("/") and "\\" not in path and len(parts) == depth
            and not any(p in ("", ".", "..") or p.startswith(".") for p in parts))


def _layout_problem(m: Manifest) -> str | None:
    folders = set()
    for w in m.workspaces:
        if not _inside(w.folder, 2):
            return f"workspace folder {w.folder!r} is not <tenant>/<workspace> inside the backup"
        folders.add(w.folder)
    for name in m.kinds:
        if not _inside(name, 1):
            return f"kind {name!r} is not a folder name"
    for o in m.objects:
        if (o.workspace not in folders or o.kind not in m.kinds or not _inside(o.file, 4)
                or o.file != f"{o.workspace}/{o.kind}/{PurePosixPath(o.file).name}" or not o.file.endswith(".json")):
            return f"object {o.identity!r} has file {o.file!r}, which is not {o.workspace}/{o.kind}/<name>.json"
    for d in m.data:
        if not _inside(d.folder, 5) or not d.folder.startswith(f"{DATA}/{d.workspace}/{d.kind}/"):
            return f"data of {d.identity!r} is in {d.folder!r}, which is not {DATA}/{d.workspace}/{d.kind}/<name>"
    return None


def manifest_path(folder: str) -> str:
    return f"{folder}/{MANIFEST}"
