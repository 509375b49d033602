"""The export directory: every file a tool writes or reads on the user's disk (exports, backups, CSV
imports) lives under one configured folder (``export_dir``, ``SENTINELKIT_EXPORT_DIR``).

A path a caller gives is relative to that folder: ``..``, absolute paths and symlinks that lead out of
it are refused, whatever the tool. Writes are atomic (a temporary file in the same folder, renamed into
place when complete), so an interrupted export never leaves a half-written file under the final name,
and an existing file is only replaced when the caller asks.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import KitError


class ExportPathError(KitError):
    """A path outside the export directory, or a file that would be overwritten without being asked."""


def default_export_dir() -> Path:
    """``$XDG_DATA_HOME/sentinelkit/exports`` (``~/.local/share/sentinelkit/exports``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sentinelkit" / "exports"


def confine(root: Path, relative: str | os.PathLike[str]) -> Path:
    """``root / relative``, refused unless it stays inside ``root`` once symlinks are resolved."""
    text = str(relative).strip()
    if not text:
        raise ExportPathError("no path given: pass a path relative to the export directory, e.g. \"tables/x.jsonl\"")
    given = Path(text)
    if given.is_absolute() or text.startswith("~"):
        raise ExportPathError(f"{text!r} is an absolute path; give a path relative to the export directory "
                              f"({root}), e.g. {given.name!r}")
    if ".." in given.parts:
        raise ExportPathError(f"{text!r} leads out of the export directory ({root}) with '..'; give a path inside it")
    base = root.resolve()
    target = (base / given).resolve()
    if target != base and base not in target.parents:
        raise ExportPathError(f"{text!r} leads out of the export directory ({root}) through a symbolic link; "
                              "nothing was read or written")
    return target


@contextmanager
def atomic_writer(path: Path, *, overwrite: bool = False, binary: bool = False) -> Iterator[IO[Any]]:
    """Write ``path`` through a temporary file renamed into place on success (removed on failure).
    ``ExportPathError`` when ``path`` exists and ``overwrite`` is false (checked before and at the end)."""
    if path.exists() and not overwrite:
        raise ExportPathError(f"{path} already exists; nothing was written. Choose another name, or pass "
                              "overwrite=true to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8",
                       newline=None if binary else "") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists() and not overwrite:
            raise ExportPathError(f"{path} appeared while it was being written; nothing was replaced")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_atomically(path: Path, data: str | bytes, *, overwrite: bool = False) -> Path:
    """Write all of ``data`` to ``path`` atomically (see ``atomic_writer``)."""
    if isinstance(data, bytes):
        with atomic_writer(path, overwrite=overwrite, binary=True) as out:
            out.write(data)
    else:
        with atomic_writer(path, overwrite=overwrite) as text:
            text.write(data)
    return path
