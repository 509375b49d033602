"""Table export benchmark: rows/s of ``table_export`` and the server's peak memory while it exports a table of
1,000,000 rows (it must stream: one time slice in memory at a time, not the export).

    python benchmarks/table_export.py [--rows 1000000] [--slice-rows 50000] [--format jsonl]

Three processes, as in use: the emulator (Azure), ``sentinelkit serve`` over stdio (the server measured) and
this script, the MCP client (the mcp SDK's stdio client). The rows go into a custom table through the
emulator's admin API (``POST /_emulator/logs``), spread over 10 days. One small export first loads the
emulator's query engine and the server's modules; then the server's peak-RSS counter is reset
(``/proc/<pid>/clear_refs``) and the whole table is exported once. Reported: rows/s of the export
(wall time of the call), the server's resident memory before, and its peak during the export
(VmHWM) minus that. Target: a peak increase under 100 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TABLE = "ExportBench_CL"
WORKSPACE = "law-tailspin"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=10)


def status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fill(admin: Any, rows: int) -> float:
    """``rows`` rows into the benchmark table, in chunks of 50,000; seconds taken."""
    started = time.perf_counter()
    step = SPAN / rows
    for offset in range(0, rows, 50_000):
        chunk = [{"TimeGenerated": (START + step * i).isoformat().replace("+00:00", "Z"), "Seq": i,
                  "Computer": f"host-{i % 97:02d}.contoso.com", "Message": f"benchmark event {i} of {rows}",
                  "Severity": i % 5, "Details": {"n": i, "ok": i % 3 == 0}}
                 for i in range(offset, min(rows, offset + 50_000))]
        response = admin.post("/logs", json={"workspace": WORKSPACE, "table": TABLE, "rows": chunk})
        response.raise_for_status()
    return time.perf_counter() - started


async def main(options: argparse.Namespace, info: dict[str, Any], env: dict[str, str]) -> None:
    import httpx
    from sentinelkit_devkit.process import result_json, serve_pids, stdio_session

    admin = httpx.Client(base_url=info["admin_url"], verify=ssl.create_default_context(cafile=info["ca_path"]),
                         timeout=300)
    async with stdio_session(env) as session:
        pid = serve_pids()[0]
        created = result_json(await session.call_tool("table_create", {
            "workspace": WORKSPACE, "name": TABLE,
            "columns": ["Seq:long", "Computer:string", "Message:string", "Severity:int", "Details:dynamic"]}))
        assert created["created"], created
        seconds = fill(admin, options.rows)
        print(f"{options.rows:,} rows appended to {TABLE} in {seconds:.1f} s (emulator admin API)")
        # warm-up: the emulator loads the table into its query engine, the server imports what an export uses
        warm = result_json(await session.call_tool("table_export", {
            "workspace": WORKSPACE, "table": TABLE, "start": START.isoformat(),
            "end": (START + dt.timedelta(minutes=1)).isoformat(), "path": "warm-up"}))
        assert warm["complete"], warm
        before = status(pid)
        cpu_before = cpu_seconds(pid)
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
        slices: list[float] = []

        async def progress(done: float, total: float | None, message: str | None) -> None:
            slices.append(time.perf_counter())

        started = time.perf_counter()
        result = await session.call_tool("table_export", {
            "workspace": WORKSPACE, "table": TABLE, "start": START.isoformat(), "end": (START + SPAN).isoformat(),
            "format": options.format, "max_rows_per_slice": options.slice_rows, "path": "benchmark"},
            progress_callback=progress)
        elapsed = time.perf_counter() - started
        after = status(pid)
        cpu = cpu_seconds(pid) - cpu_before
        answer = result_json(result)
    admin.close()
    assert answer["complete"] and answer["rows"] == options.rows, answer
    size = sum(f.stat().st_size for f in Path(answer["directory"]).iterdir())
    peak = (after["VmHWM"] - before["VmRSS"]) / 1024
    print(f"export of {answer['rows']:,} rows ({options.format}, {answer['slices']['total']} slices of at most "
          f"{options.slice_rows:,} rows, {size / 1e6:.0f} MB of files): {elapsed:.1f} s, "
          f"{answer['rows'] / elapsed:,.0f} rows/s")
    print(f"the server's own CPU time: {cpu:.1f} s ({answer['rows'] / cpu:,.0f} rows per CPU second); the rest of "
          "the wall time is the emulator answering the queries (its KQL engine converts every value to JSON)")
    print(f"server RSS before the export {before['VmRSS'] / 1024:.0f} MB, peak during it {after['VmHWM'] / 1024:.0f} MB: "
          f"peak increase {peak:.0f} MB (target < 100 MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--slice-rows", type=int, default=50_000)
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    options = parser.parse_args()

    from sentinelkit_devkit.emulator import emulator_environment

    # the emulator in a process of its own, like Azure: its work is not the server's
    proc = subprocess.Popen([sys.executable, "-m", "sentinelkit_emulator"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        workdir = Path(tempfile.mkdtemp(prefix="sentinelkit-bench-"))
        env = emulator_environment(info, workdir)
        env["SENTINELKIT_CACHE_DIR"] = str(workdir)
        asyncio.run(main(options, info, env))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
