"""The record of an export, kept beside its files (``manifest.json``): what was asked, the slices planned,
which are written. Rewritten atomically after each slice, it is how an interrupted export resumes
without writing any row twice: a slice's file appears whole or not at all, and a written slice is
never fetched again."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentinelkit import Kit, KitError

from .slices import Slice, iso, parse_instant

NAME = "manifest.json"
FORMAT = 1


def stamp(value: dt.datetime) -> str:
    """A file-name-safe instant: 20250131T000000Z (with .ffffff when it has microseconds)."""
    return f"{value:%Y%m%dT%H%M%S}" + (f".{value.microsecond:06d}" if value.microsecond else "") + "Z"


@dataclass
class Part:
    """One slice: its window, and once written its file and row count; or the error that stopped it."""

    start: dt.datetime
    end: dt.datetime
    planned_rows: int
    status: str = "pending"  # pending | done | failed
    rows: int = 0
    file: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, s: Slice) -> Part:
        return cls(s.start, s.end, s.rows)

    @property
    def slice(self) -> Slice:
        return Slice(self.start, self.end, self.planned_rows)

    def file_name(self, extension: str) -> str:
        return f"{stamp(self.start)}_{stamp(self.end)}.{extension}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": iso(self.start), "end": iso(self.end), "planned_rows": self.planned_rows,
                               "status": self.status}
        if self.status == "done":
            out.update(file=self.file, rows=self.rows)
        if self.error:
            out["error"] = self.error
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Part:
        return cls(parse_instant(data["start"], "start"), parse_instant(data["end"], "end"), int(data["planned_rows"]),
                   str(data["status"]), int(data.get("rows", 0)), data.get("file"), data.get("error"))


@dataclass
class Manifest:
    workspace: str  # ARM id
    source: dict[str, str]  # {"table": name} or {"query": kql}
    start: dt.datetime
    end: dt.datetime
    format: str
    parts: list[Part] = field(default_factory=list)

    def same_export(self, workspace: str, source: dict[str, str], file_format: str) -> bool:
        return (self.workspace.lower(), self.source, self.format) == (workspace.lower(), source, file_format)

    def describe(self) -> str:
        what = f"table {self.source['table']}" if "table" in self.source else "a query"
        return f"an export of {what} from {iso(self.start)} to {iso(self.end)} as {self.format}"

    def to_json(self) -> dict[str, Any]:
        return {"format_version": FORMAT, "workspace": self.workspace, "source": self.source,
                "start": iso(self.start), "end": iso(self.end), "format": self.format,
                "parts": [p.to_json() for p in self.parts]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format_version") != FORMAT:
            raise ValueError(f"format_version {data.get('format_version')!r}")
        return cls(str(data["workspace"]), dict(data["source"]), parse_instant(data["start"], "start"),
                   parse_instant(data["end"], "end"), str(data["format"]),
                   [Part.from_json(p) for p in data["parts"]])


def load(kit: Kit, directory: str) -> Manifest | None:
    """The manifest in ``directory`` (relative to the export directory), or ``None`` when there is none."""
    path: Path = kit.export_path(f"{directory}/{NAME}")
    if not path.exists():
        return None
    try:
        return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise KitError(f"{path} is not a manifest this version can read ({exc}); choose another path, or pass "
                       "overwrite=true to start that export again") from None


def save(kit: Kit, directory: str, manifest: Manifest) -> None:
    kit.write_export(f"{directory}/{NAME}", json.dumps(manifest.to_json(), indent=1), overwrite=True)
