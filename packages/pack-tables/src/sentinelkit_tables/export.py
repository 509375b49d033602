"""``table_export``: a table's (or a query's) rows for a time range, to files under the export directory.

The window is cut into time slices that each stay under the query API's limits (``slices``); each slice
is one query, written as it arrives to its own file (atomically: whole or not at all) and recorded in
the export's manifest, so that an interrupted export resumes where it stopped, without a duplicate row.
A slice whose answer still comes back cut (a partial result: the 64 MB limit) is split in two and
fetched again; nothing partial is ever written.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from typing import IO, Any

from sentinelkit import READ_ONLY, AzureError, BadRequestError, Kit, KitError, Workspace, tool

from . import manifest as mf
from .manifest import Manifest, Part
from .settings import QUERY_MAX_ROWS, TablesSettings
from .slices import Slice, iso, kql_time, parse_duration, parse_instant, plan, window

FORMATS = {"jsonl": "jsonl", "json": "jsonl", "ndjson": "jsonl", "csv": "csv"}
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: rows written per write() call
_CHUNK = 5000
#: how many files an answer lists (the manifest lists them all)
_LISTED = 50


def source_kql(table: str | None, query: str | None) -> tuple[dict[str, str], str]:
    if (table is None) == (query is None):
        raise KitError("give either table (export a table) or query (export a query's rows), not both")
    if table is not None:
        if not _TABLE.match(table):
            raise KitError(f"{table!r} is not a table name (letters, digits and '_'); to export an expression, pass "
                           "it as query")
        return {"table": table}, table
    text = (query or "").strip().rstrip(";").strip()
    if not text:
        raise KitError("query is empty")
    return {"query": text}, text


def _sliced(source: str, start: dt.datetime, end: dt.datetime) -> str:
    return f"{source}\n| where TimeGenerated >= {kql_time(start)} and TimeGenerated < {kql_time(end)}"


def _timespan(start: dt.datetime, end: dt.datetime) -> str:
    return f"{iso(start)}/{iso(end)}"


def _explained(exc: AzureError, source: dict[str, str]) -> KitError:
    if isinstance(exc, BadRequestError) and "query" in source:
        return exc.with_message(f"{exc} The query is cut into time slices with `| where TimeGenerated ...` appended "
                                "to it, so its results must keep the TimeGenerated column (project it, or summarize "
                                "by it).")
    return exc


@tool(READ_ONLY, title="Export table data to files")
async def table_export(kit: Kit, workspace: str, start: str, table: str | None = None, query: str | None = None,
                       end: str | None = None, format: str = "jsonl", path: str | None = None,
                       overwrite: bool = False, max_rows_per_slice: int | None = None) -> dict[str, Any]:
    """Export a table's rows (or a KQL query's) for a time range to files under the export directory, as JSON lines
    or CSV. The range is cut into time slices so that each query stays under the Log Analytics limits (500,000
    rows / 64 MB per answer); each slice becomes one file, written whole or not at all, with progress per slice.
    Call again with the same arguments to resume an interrupted export (written slices are not fetched again, no
    row is written twice) or to retry failed slices. Existing files are never overwritten unless asked. The
    answer lists the files, their row counts and any slice that failed.

    Args:
        workspace: Workspace alias, name or ARM id.
        start: Start of the range (inclusive): ISO 8601 (2025-01-31T00:00:00Z) or a duration before end (P7D, PT12H).
        table: Table to export (or give query).
        query: KQL whose rows to export instead of a table; its results must keep the TimeGenerated column.
        end: End of the range (exclusive), ISO 8601; default: now.
        format: jsonl (one JSON object per line, the default) or csv (with a header row).
        path: Folder for the files, relative to the export directory; default: tables/<workspace>/<table>_<start>_<end>.
        overwrite: Replace the files of an earlier export in that folder instead of refusing (or resuming it).
        max_rows_per_slice: Most rows per slice (and file); default from [packs.tables] export_max_rows_per_slice (50,000), at most 500,000.
    """
    ws = await kit.workspace(workspace)
    source, kql = source_kql(table, query)
    file_format = FORMATS.get(format.strip().lower())
    if file_format is None:
        raise KitError(f"format {format!r} is not supported: use jsonl or csv")
    limit = max_rows_per_slice or kit.pack_settings(TablesSettings).export_max_rows_per_slice
    if not 1 <= limit <= QUERY_MAX_ROWS:
        raise KitError(f"max_rows_per_slice must be between 1 and {QUERY_MAX_ROWS} (the query API's row limit)")
    begin, stop = window(start, end, dt.datetime.now(dt.UTC))
    folder = path.strip().rstrip("/") if path else _default_folder(ws, source, begin, stop)
    if kit.export_path(folder).is_file():  # also refuses .., absolute paths and symlinks out
        raise KitError(f"{kit.export_path(folder)} is a file; give a folder for the export's files (path)")
    existing = mf.load(kit, folder)
    if existing is not None and not overwrite:
        if not existing.same_export(ws.id, source, file_format) or not _same_window(existing, start, end):
            raise KitError(f"{kit.export_path(folder)} already holds {existing.describe()}; nothing was written. "
                           "Choose another path, or pass overwrite=true to replace it (or repeat that export's "
                           "arguments to resume it).")
        return await _run(kit, ws, folder, existing, kql, resumed=True)  # its range, even when given relatively
    if existing is not None:
        _remove_files(kit, folder, existing)
    job = await _plan(kit, ws, source, kql, begin, stop, file_format, limit)
    taken = [name for p in job.parts if kit.export_path(f"{folder}/{(name := p.file_name(file_format))}").exists()]
    if taken and not overwrite:
        raise KitError(f"{kit.export_path(folder)} already has {len(taken)} file(s) this export would write (e.g. "
                       f"{taken[0]}) but no manifest of theirs; nothing was written. Choose another path, or pass "
                       "overwrite=true.")
    mf.save(kit, folder, job)
    return await _run(kit, ws, folder, job, kql, resumed=False)


def _same_window(job: Manifest, start: str, end: str | None) -> bool:
    """Whether the call asks for ``job``'s range: absolute instants must match; a relative start (P7D) or an
    omitted end mean "the range of the export being resumed"."""
    if end and parse_instant(end, "end") != job.end:
        return False
    return parse_duration(start) is not None or parse_instant(start, "start") == job.start


def _default_folder(ws: Workspace, source: dict[str, str], start: dt.datetime, end: dt.datetime) -> str:
    name = source.get("table") or "query"
    return f"tables/{_SAFE.sub('_', ws.label)}/{name}_{mf.stamp(start)}_{mf.stamp(end)}"


def _remove_files(kit: Kit, folder: str, old: Manifest) -> None:
    """``overwrite``: the earlier export's own files go (files it does not list are left alone)."""
    for part in old.parts:
        if part.file:
            kit.export_path(f"{folder}/{part.file}").unlink(missing_ok=True)


async def _plan(kit: Kit, ws: Workspace, source: dict[str, str], kql: str, start: dt.datetime, end: dt.datetime,
                file_format: str, limit: int) -> Manifest:
    async def count(lo: dt.datetime, hi: dt.datetime, step: dt.timedelta) -> list[tuple[dt.datetime, int]]:
        seconds = int(step.total_seconds())
        text = f"{_sliced(kql, lo, hi)}\n| summarize n = count() by bin(TimeGenerated, {seconds}s)"
        try:
            rows = await kit.query(ws, text, timespan=_timespan(lo, hi))
        except AzureError as exc:
            raise _explained(exc, source) from None
        bins = [(dt.datetime.fromisoformat(str(r["TimeGenerated"])).astimezone(dt.UTC), int(r["n"])) for r in rows]
        return sorted(bins)

    await kit.progress(0, None, f"counting the rows of {source.get('table') or 'the query'} from {iso(start)} to "
                                f"{iso(end)}")
    slices = await plan(count, start, end, limit)
    return Manifest(ws.id, source, start, end, file_format, [Part.of(s) for s in slices])


async def _run(kit: Kit, ws: Workspace, folder: str, job: Manifest, kql: str, *, resumed: bool) -> dict[str, Any]:
    """Fetch and write every slice not written yet, recording each in the manifest as it ends."""

    def written(p: Part) -> bool:
        return p.status == "done" and (p.file is None or kit.export_path(f"{folder}/{p.file}").exists())

    already = sum(1 for p in job.parts if written(p))
    written_now = 0
    index = 0
    while index < len(job.parts):
        part = job.parts[index]
        if written(part):
            index += 1
            continue
        outcome = await _fetch(kit, ws, folder, job, part, kql)
        if isinstance(outcome, tuple):  # answered partially: fetch its two halves instead
            job.parts[index:index + 1] = [Part.of(half) for half in outcome]
        else:
            part.status, part.error = ("failed", outcome) if isinstance(outcome, str) else ("done", None)
            written_now += part.status == "done"
            index += 1
        mf.save(kit, folder, job)
        if not isinstance(outcome, tuple):
            done = sum(1 for p in job.parts if p.status == "done")
            await kit.progress(done, len(job.parts), f"slice {index}/{len(job.parts)} ({iso(part.start)} to "
                                                     f"{iso(part.end)}): " + (f"{part.rows} rows" if part.error is None
                                                                             else f"failed: {part.error}"))
    return _answer(kit, ws, folder, job, already=already, written_now=written_now, resumed=resumed)


async def _fetch(kit: Kit, ws: Workspace, folder: str, job: Manifest, part: Part,
                 kql: str) -> int | str | tuple[Slice, Slice]:
    """One slice's query, written to its file: the rows written, the error that stopped it, or its halves when
    the answer came back cut (nothing partial is written)."""
    extension = job.format
    for stale in kit.export_path(folder).glob(f".{part.file_name(extension)}.*.part"):
        stale.unlink(missing_ok=True)  # left by a writer that was killed (a crash, not a cancellation)
    try:
        rows = await kit.query(ws, f"{_sliced(kql, part.start, part.end)}\n| sort by TimeGenerated asc",
                               timespan=_timespan(part.start, part.end))
    except AzureError as exc:
        return str(_explained(exc, job.source))
    if rows.partial_error:
        return part.slice.halves() if part.slice.divisible else rows.partial_error
    part.rows, part.file = len(rows), None
    if rows:
        part.file = part.file_name(extension)
        with kit.export_writer(f"{folder}/{part.file}", overwrite=True) as out:  # this export's own slice file
            _write(out, rows, extension)
    return part.rows


def _write(out: IO[Any], rows: list[dict[str, Any]], extension: str) -> None:
    if extension == "csv":
        writer = csv.writer(out)
        writer.writerow(list(rows[0]))
        for i in range(0, len(rows), _CHUNK):
            writer.writerows(["" if v is None else v for v in r.values()] for r in rows[i:i + _CHUNK])
        return
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for i in range(0, len(rows), _CHUNK):
        out.write("".join(dumps(r) + "\n" for r in rows[i:i + _CHUNK]))


def _answer(kit: Kit, ws: Workspace, folder: str, job: Manifest, *, already: int, written_now: int,
            resumed: bool) -> dict[str, Any]:
    done = [p for p in job.parts if p.status == "done"]
    failed = [p for p in job.parts if p.status != "done"]
    files = [{"file": p.file, "rows": p.rows, "start": iso(p.start), "end": iso(p.end)} for p in done if p.file]
    out: dict[str, Any] = {
        "workspace": ws.label, **job.source, "start": iso(job.start), "end": iso(job.end), "format": job.format,
        "directory": str(kit.export_path(folder)), "manifest": f"{folder}/{mf.NAME}",
        "complete": not failed, "rows": sum(p.rows for p in done), "files_total": len(files),
        "files": files[:_LISTED],
        "slices": {"total": len(job.parts), "written_now": written_now, "already_written": already,
                   "empty": sum(1 for p in done if not p.file), "failed": len(failed)},
    }
    if len(files) > _LISTED:
        out["files_note"] = f"the first {_LISTED} of {len(files)} files; the manifest lists them all"
    if resumed and already:
        out["resumed"] = f"{already} slice(s) were already written by an earlier call and were not fetched again"
    if failed:
        out["failed"] = [{"start": iso(p.start), "end": iso(p.end), "error": p.error or "not fetched"}
                         for p in failed[:_LISTED]]
        out["next"] = "call again with the same arguments: only the slices that failed are fetched again"
    if not job.parts:
        out["note"] = "no rows in this time range: nothing was written but the manifest"
    return out
