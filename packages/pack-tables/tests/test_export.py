"""``table_export`` through a real MCP client: a table larger than one slice, compared row for row with one
query through Microsoft's LogsQueryClient; an export cut short (cancelled, or slices failing) and resumed
without a duplicate; partial answers split; CSV; query exports; paths confined to the export directory;
nothing overwritten unasked."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.loganalytics.models import Column, Schema, Table

TABLE = "ExportProbe_CL"
WS = "law-tailspin"
ROWS = 3000


@pytest.fixture(scope="module")
def probe(emulator: Any, la: Any) -> Iterator[dict[str, Any]]:
    """A custom table with ROWS rows over 3 hours (some exactly on slice-like boundaries, some with nulls and
    dynamic values); the emulator is reset when the module is done."""
    tables, rg, name = la(WS)
    tables.begin_create_or_update(rg, name, TABLE, Table(schema=Schema(name=TABLE, columns=[
        Column(name="TimeGenerated", type="dateTime"), Column(name="Seq", type="long"),
        Column(name="Host", type="string"), Column(name="Level", type="int"), Column(name="Payload", type="dynamic"),
        Column(name="Note", type="string")]))).result()
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    step = dt.timedelta(hours=3) / ROWS
    rows = [{"TimeGenerated": (start + step * i).isoformat().replace("+00:00", "Z"), "Seq": i, "Host": f"h{i % 7}",
             "Level": i % 4, "Payload": {"i": i, "tags": ["x"] * (i % 3)}, "Note": None if i % 5 else f"note {i}"}
            for i in range(ROWS)]
    rows += [{"TimeGenerated": (start + dt.timedelta(hours=h)).isoformat().replace("+00:00", "Z"), "Seq": ROWS + h,
              "Host": "edge", "Level": 9} for h in (1, 2)]  # two more rows exactly on the hour
    emulator.append_logs(WS, TABLE, rows)
    yield {"start": start, "end": start + dt.timedelta(hours=3), "rows": len(rows)}
    emulator.reset()


def window(probe: dict[str, Any]) -> dict[str, str]:
    return {"start": probe["start"].isoformat(), "end": probe["end"].isoformat()}


def read_jsonl(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines()]


def one_query(logs: Any, probe: dict[str, Any], where: str = "") -> list[dict[str, Any]]:
    return logs(WS, f"{TABLE}{where} | sort by TimeGenerated asc, Seq asc", (probe["start"], probe["end"]))


def same_rows(exported: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Row for row: the exported values (as the query API sends them) against the SDK's typed ones."""
    exported = sorted(exported, key=lambda r: (r["TimeGenerated"], r["Seq"]))
    assert len(exported) == len(expected)
    for got, want in zip(exported, expected, strict=True):
        for column, value in want.items():
            if isinstance(value, dt.datetime):
                assert dt.datetime.fromisoformat(got[column]) == value, (column, got, want)
            elif column == "Payload" and value is not None:
                assert json.loads(got[column]) == json.loads(value) if isinstance(value, str) else value
            else:
                assert got[column] == value, (column, got, want)


async def test_an_export_of_many_slices_matches_one_query_row_for_row(mcp_client, tool, logs, probe, export_dir) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    result = await mcp_client.call_tool("table_export", {"workspace": WS, "table": TABLE, **window(probe),
                                                     "max_rows_per_slice": 400}, progress_handler=progress)
    out = result.structured_content
    assert out["complete"] is True and out["rows"] == probe["rows"] and out["slices"]["total"] >= 8
    assert all(f["rows"] <= 400 for f in out["files"]) and sum(f["rows"] for f in out["files"]) == probe["rows"]
    folder = Path(out["directory"])
    assert folder.parent.parent == export_dir / "tables" and folder.name.startswith(f"{TABLE}_")
    assert sorted(p.name for p in folder.glob("*.jsonl")) == sorted(f["file"] for f in out["files"])
    assert not list(folder.glob(".*.part"))  # no temporary file left
    exported = read_jsonl(folder)
    assert len({r["Seq"] for r in exported}) == len(exported)  # rows on slice boundaries are written once
    same_rows(exported, one_query(logs, probe))
    slices = [s for s in seen if s[1] == out["slices"]["total"]]
    assert [s[0] for s in slices] == list(range(1, out["slices"]["total"] + 1)) and "rows" in str(slices[0][2])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {p["status"] for p in manifest["parts"]} == {"done"} and manifest["source"] == {"table": TABLE}

    again = await tool("table_export", workspace=WS, table=TABLE, **window(probe), max_rows_per_slice=400)
    assert again["slices"]["written_now"] == 0 and again["slices"]["already_written"] == out["slices"]["total"]
    assert "were already written" in again["resumed"] and again["rows"] == probe["rows"]


async def test_a_cancelled_export_resumes_without_writing_a_row_twice(mcp_client, tool, logs, probe, emulator_faults,
                                                                      export_dir) -> None:
    emulator_faults.add_fault(match={"service": "logs"}, latency_ms=150)  # slices long enough to cancel in between
    written = asyncio.Event()

    async def progress(done: float, total: float | None, message: str | None) -> None:
        if total and done >= 3:
            written.set()

    args = {"workspace": WS, "table": TABLE, **window(probe), "max_rows_per_slice": 300, "path": "cancelled"}
    call = asyncio.create_task(mcp_client.call_tool("table_export", args, progress_handler=progress))
    await asyncio.wait_for(written.wait(), timeout=120)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.sleep(0.5)  # the server's side of the call ends with the cancellation
    manifest = json.loads((export_dir / "cancelled" / "manifest.json").read_text())
    done = [p for p in manifest["parts"] if p["status"] == "done"]
    assert 3 <= len(done) < len(manifest["parts"]), "the export was not cut short"
    assert not list((export_dir / "cancelled").glob(".*.part"))
    emulator_faults.clear_faults()
    out = await tool("table_export", **args)
    assert out["complete"] is True and out["slices"]["already_written"] == len(done)
    assert out["slices"]["written_now"] == out["slices"]["total"] - len(done)
    same_rows(read_jsonl(export_dir / "cancelled"), one_query(logs, probe))


async def test_failed_slices_are_listed_and_fetched_again_by_the_next_call(mcp_client, tool, logs, probe, emulator_faults,
                                                                           export_dir) -> None:
    faults: list[str] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        if total and done >= 2 and not faults:  # from the third slice on, the query API refuses
            faults.append(emulator_faults.add_fault(match={"service": "logs"}, status=400)["id"])

    args = {"workspace": WS, "table": TABLE, **window(probe), "max_rows_per_slice": 300, "path": "failing"}
    emulator_faults.add_fault(match={"service": "logs"}, latency_ms=100)
    first = (await mcp_client.call_tool("table_export", args, progress_handler=progress)).structured_content
    assert first["complete"] is False and first["slices"]["failed"] >= 1
    assert first["failed"][0]["error"] and "call again with the same arguments" in first["next"]
    assert first["rows"] == sum(f["rows"] for f in first["files"]) < probe["rows"]
    emulator_faults.clear_faults()
    second = await tool("table_export", **args)
    assert second["complete"] is True and second["slices"]["written_now"] == first["slices"]["failed"]
    same_rows(read_jsonl(export_dir / "failing"), one_query(logs, probe))


async def test_a_partial_answer_is_split_and_fetched_again(tool, logs, probe, emulator, export_dir) -> None:
    emulator.set_query_limits(max_rows=500)  # the service answers at most 500 rows: larger slices come back cut
    try:
        out = await tool("table_export", workspace=WS, table=TABLE, **window(probe), max_rows_per_slice=1800,
                         path="split")
        assert out["complete"] is True and out["rows"] == probe["rows"]
        assert all(f["rows"] <= 500 for f in out["files"]) and out["slices"]["total"] > probe["rows"] / 1800
    finally:
        emulator.set_query_limits(max_rows=500_000)
    same_rows(read_jsonl(export_dir / "split"), one_query(logs, probe))


async def test_csv_and_query_exports(tool, refused, logs, probe, export_dir) -> None:
    out = await tool("table_export", workspace=WS, query=f"{TABLE} | where Level == 2 | project TimeGenerated, Seq, "
                     "Host", **window(probe), format="csv", max_rows_per_slice=250, path="level2")
    expected = one_query(logs, probe, " | where Level == 2 | project TimeGenerated, Seq, Host")
    assert out["complete"] is True and out["rows"] == len(expected) and out["query"].startswith(TABLE)
    rows = []
    for f in sorted((export_dir / "level2").glob("*.csv")):
        with f.open(newline="") as handle:
            reader = csv.reader(handle)
            assert next(reader) == ["TimeGenerated", "Seq", "Host"]
            rows += [{"TimeGenerated": r[0], "Seq": int(r[1]), "Host": r[2]} for r in reader]
    same_rows(rows, expected)
    text = await refused("table_export", workspace=WS, query=f"{TABLE} | summarize count() by Host", **window(probe))
    assert "must keep the TimeGenerated column" in text


async def test_paths_stay_in_the_export_directory_and_nothing_is_overwritten_unasked(tool, refused, probe,
                                                                                    export_dir, tmp_path) -> None:
    for path in ("../outside", "/tmp/outside", "~/outside"):
        text = await refused("table_export", workspace=WS, table=TABLE, **window(probe), path=path)
        assert "export directory" in text, text
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    export_dir.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, export_dir / "link")
    text = await refused("table_export", workspace=WS, table=TABLE, **window(probe), path="link/x")
    assert "symbolic link" in text and not list(outside.iterdir())
    (export_dir / "afile").write_text("x")
    text = await refused("table_export", workspace=WS, table=TABLE, **window(probe), path="afile")
    assert "is a file; give a folder" in text

    first = await tool("table_export", workspace=WS, table=TABLE, **window(probe), path="kept")
    later = {"start": (probe["start"] + dt.timedelta(hours=1)).isoformat(), "end": probe["end"].isoformat()}
    text = await refused("table_export", workspace=WS, table=TABLE, **later, path="kept")
    assert "already holds an export of table ExportProbe_CL" in text and "overwrite=true" in text
    assert sorted(p.name for p in (export_dir / "kept").glob("*.jsonl")) == [f["file"] for f in first["files"]]
    replaced = await tool("table_export", workspace=WS, table=TABLE, **later, path="kept", overwrite=True)
    assert replaced["start"] == later["start"].replace("+00:00", "Z") and replaced["rows"] < first["rows"]
    assert sorted(p.name for p in (export_dir / "kept").glob("*.jsonl")) == [f["file"] for f in replaced["files"]]

    stray = export_dir / "stray"
    stray.mkdir()
    planned = first["files"][0]["file"]
    (stray / planned).write_text("someone else's file\n")
    text = await refused("table_export", workspace=WS, table=TABLE, **window(probe), path="stray")
    assert "no manifest" in text and (stray / planned).read_text() == "someone else's file\n"


async def test_bad_export_arguments_are_explained(refused) -> None:
    text = await refused("table_export", workspace=WS, table="Syslog; drop", start="P1D")
    assert "not a table name" in text
    text = await refused("table_export", workspace=WS, table="Syslog", start="yesterday")
    assert "ISO 8601" in text
    text = await refused("table_export", workspace=WS, table="Syslog", start="P1D", format="parquet")
    assert "use jsonl or csv" in text
    text = await refused("table_export", workspace=WS, table="Syslog", start="P1D", max_rows_per_slice=600_000)
    assert "500000" in text
    text = await refused("table_export", workspace=WS, table="Syslog", query="Syslog", start="P1D")
    assert "either table" in text
