"""Where a backup puts things: ``<tenant>/<workspace>/<kind>/<name>.json`` under the backup's folder, the
manifest at its root, table data under ``data/``. Names are readable and stable (the same object always gets
the same file, so ``git diff`` shows only real changes), and safe on every file system: no separators,
no ``..``, no leading dot, and an identity that had to be changed to fit, or two that differ only in case,
get a short hash of the identity so that no two objects share a file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from sentinelkit import Workspace

MANIFEST = "manifest.json"
DATA = "data"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_MAX = 100


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def safe_name(text: str) -> str:
    """``text`` as one readable path segment (``_`` for what is not a letter, digit, ``.``, ``_``, `` `` or ``-``)."""
    name = _UNSAFE.sub("_", text).strip(" .") or "unnamed"
    return name[:_MAX].rstrip(" .")


def file_names(identities: Iterable[str]) -> dict[str, str]:
    """identity → file name (``<name>.json``) for the objects of one kind in one workspace."""
    stems: dict[str, str] = {}
    for identity in identities:
        stem = safe_name(identity)
        stems[identity] = stem if stem == identity else f"{stem}~{_hash(identity)}"
    seen: dict[str, list[str]] = {}
    for identity, stem in stems.items():
        seen.setdefault(stem.casefold(), []).append(identity)
    for group in seen.values():
        if len(group) > 1:  # differ only in case: a case-insensitive file system would merge them
            for identity in group:
                stems[identity] = f"{safe_name(identity)}~{_hash(identity)}"
    return {identity: f"{stem}.json" for identity, stem in stems.items()}


def workspace_folders(workspaces: Iterable[Workspace]) -> dict[str, str]:
    """ARM id (lower case) → ``<tenant>/<workspace>``; ``<workspace>@<resource group>`` when a tenant has two
    workspaces of that name."""
    chosen = list(workspaces)
    plain = {ws.id.lower(): f"{safe_name(ws.tenant_label)}/{safe_name(ws.name)}" for ws in chosen}
    counts: dict[str, int] = {}
    for folder in plain.values():
        counts[folder.casefold()] = counts.get(folder.casefold(), 0) + 1
    return {ws.id.lower(): (plain[ws.id.lower()] if counts[plain[ws.id.lower()].casefold()] == 1 else
                            f"{plain[ws.id.lower()]}@{safe_name(ws.resource_group)}") for ws in chosen}


def render(obj: dict[str, Any]) -> bytes:
    """The bytes of an object's file: sorted keys, two-space indent, UTF-8, one final newline. An unchanged
    object always renders to the same bytes."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_folder() -> str:
    return "backups/" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
