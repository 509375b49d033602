"""File paths a generated function is given (``-OutputPath``, ``-Path``, ``-OutFile``...) are confined to
sentinelkit's export directory, whatever the function's safety class: an ``Export-*`` function is
read-only for Azure but writes files, and in read-only mode too it must not write to ``/etc/cron.d``
or ``../..``. Its default path (``.\\backup\\workbooks``) is placed under the export directory as well.

On a remote host (WinRM) the export directory does not exist: relative paths are passed on, absolute
paths and ``..`` are refused.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from sentinelkit import ExportPathError, Kit

from .discovery import NO_DEFAULT, NOT_LITERAL
from .schema import ToolParam

_PATHLIKE = re.compile(r"(path|file|folder|directory|dir|destination|outfile)$", re.IGNORECASE)


def is_path(param: ToolParam) -> bool:
    """A string parameter whose name says it holds a file or folder path (``OutputPath``, ``FilePath``...)."""
    return param.info.type_name in ("string", "") and bool(_PATHLIKE.search(param.info.name))


def _relative(text: str) -> str:
    """``.\\backup\\x`` → ``backup/x``; absolute paths and ``..`` are refused."""
    windows, posix = PureWindowsPath(text), PurePosixPath(text.replace("\\", "/"))
    if windows.is_absolute() or windows.drive or posix.is_absolute() or text.startswith(("~", "\\\\")):
        raise ExportPathError(f"{text!r} is an absolute path; give a path relative to the export directory")
    parts = [p for p in posix.parts if p not in ("", ".")]
    if ".." in parts:
        raise ExportPathError(f"{text!r} leads out of the export directory with '..'; give a path inside it")
    return "/".join(parts) or "."


def confine(kit: Kit, params: list[ToolParam], parameters: dict[str, Any], *, remote: bool) -> dict[str, str]:
    """Rewrite every path parameter of ``parameters`` (in place, default paths added) to a path inside the
    export directory (local) or a checked relative path (remote); returns ``{parameter: path}``."""
    placed: dict[str, str] = {}
    for param in params:
        if not is_path(param):
            continue
        value = parameters.get(param.info.name)
        if value is None and param.literal_default not in (NO_DEFAULT, NOT_LITERAL, None, ""):
            value = param.literal_default
        if not isinstance(value, str) or not value.strip():
            continue
        relative = _relative(value.strip())
        path = relative if remote else str(kit.export_path(relative))
        parameters[param.info.name] = path
        placed[param.info.name] = path
    return placed
