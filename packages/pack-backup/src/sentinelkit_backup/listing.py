"""``backup_list``: the backups under the export directory, newest first, each with its manifest's summary —
or, for a manifest that cannot be used (edited, not JSON, from a newer version), what is wrong with it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sentinelkit import READ_ONLY, Kit, KitError, tool

from .layout import MANIFEST
from .manifest import FORMAT, BackupError, parse

#: how deep under the export directory (or ``path``) backups are looked for
_DEPTH = 4


def _backup_folders(root: Path) -> list[Path]:
    """Folders holding a manifest of this pack's format (not descending into a backup, ``.git`` or data)."""
    found: list[Path] = []
    base = len(root.parts)
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        if MANIFEST in files and FORMAT in (here / MANIFEST).read_text(encoding="utf-8", errors="replace")[:4096]:
            found.append(here)
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if len(here.parts) - base < _DEPTH else []
    return found


@tool(READ_ONLY, title="List backups")
async def backup_list(kit: Kit, path: str | None = None, fields: list[str] | None = None, limit: int = 25,
                      cursor: str | None = None) -> dict[str, Any]:
    """List the backups under the export directory (or a folder of it), newest first: status (complete, partial,
    incomplete), when, workspaces and tenants, objects per kind, failures and the versions that wrote them. A
    backup whose manifest cannot be used (edited by hand, not JSON, from a newer version) is listed with why.

    Args:
        path: Only backups under this folder, relative to the export directory.
        fields: Fields per backup (default: backup, status, started, workspaces, objects, kinds, failures, error); ["*"] for all.
        limit: Backups per page.
        cursor: next_cursor of the previous page.
    """
    root = kit.export_path(path.strip().rstrip("/")) if path else kit.export_dir
    if path and not root.is_dir():
        raise KitError(f"there is no folder {path!r} in the export directory ({kit.export_dir})")
    rows: list[dict[str, Any]] = []
    top = kit.export_dir.resolve()
    for folder in (_backup_folders(root) if root.is_dir() else []):
        name = folder.resolve().relative_to(top).as_posix()
        file = folder / MANIFEST
        try:
            manifest = parse(file.read_text(encoding="utf-8"), str(file))
        except (BackupError, UnicodeDecodeError) as exc:
            rows.append({"backup": name, "status": "unusable", "started": None, "error": str(exc)})
            continue
        rows.append({"backup": name, **manifest.summary()})
    rows.sort(key=lambda r: (r.get("started") or "", r["backup"]), reverse=True)
    return kit.page(rows, fields=fields, default_fields=["backup", "status", "started", "workspaces", "objects",
                                                         "kinds", "failures", "error"],
                    limit=limit, cursor=cursor, key="backups", extra={"export_dir": str(kit.export_dir)})
