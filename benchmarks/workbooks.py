"""Workbooks benchmark, through a real MCP client (fastmcp, in-process) to the server the core builds from
the installed packs, against the emulator:

- ``workbook_list`` for one workspace versus every workspace (all tenants), and ``workbook_copy`` of one
  workbook to one target versus every other workspace, with latency injected on every emulator call
  (target: all/one <= 2x: fan-out, not a loop);
- importing the real Azure-Sentinel templates of the pack's tests (no latency): time per import, which
  includes the table check of every query (and Microsoft's KQL parser when sentinelkit-kql is installed).

    python benchmarks/workbooks.py [--latency-ms 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parent.parent / "packages/pack-workbooks/tests/data/templates"


async def timed(tool: str, args: dict[str, Any], latency_ms: int) -> tuple[float, dict[str, Any]]:
    from fastmcp import Client

    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings

    EMU.reset()
    server = build_server(load_settings())
    async with Client(server) as client:
        await client.call_tool("workspace_list", {})  # discovery and ARM tokens, as in a running server
        await client.call_tool("workbook_list", {"workspace": "law-woodgrove"})
        server._sentinelkit_runtime.cache.clear()  # measure the tool, not the read cache the warm-up filled
        fault = EMU.add_fault(match={}, latency_ms=latency_ms)
        try:
            start = time.perf_counter()
            result = await client.call_tool(tool, args)
            elapsed = time.perf_counter() - start
        finally:
            EMU.admin.delete(f"/faults/{fault['id']}")
    return elapsed, result.structured_content or {}


async def fan_out(runs: int, latency_ms: int) -> None:
    copy = {"workspace": "law-fabrikam-prod", "workbook": "Identity & Access"}
    cases = [("workbook_list", {"workspace": "law-tailspin"}, "workbook_list, 1 workspace"),
             ("workbook_list", {}, "workbook_list, all workspaces"),
             ("workbook_copy", {**copy, "to_workspaces": ["law-tailspin"]}, "workbook_copy, 1 target"),
             ("workbook_copy", {**copy, "to_workspaces": "all"}, "workbook_copy, all targets")]
    times: dict[str, list[float]] = {label: [] for _, _, label in cases}
    counts: dict[str, int] = {}
    for _ in range(runs):
        for tool, args, label in cases:
            elapsed, data = await timed(tool, args, latency_ms)
            times[label].append(elapsed)
            counts[label] = len(data.get("targets") or []) or data.get("workspaces") or 0
    print(f"latency injected on every emulator call: {latency_ms} ms; runs: {runs}")
    for label, values in times.items():
        print(f"{label:32s} median {statistics.median(values) * 1000:7.0f} ms  ({counts[label]} workspaces; runs: "
              f"{', '.join(f'{v * 1000:.0f}' for v in values)})")
    for tool, one, many in (("workbook_list", "1 workspace", "all workspaces"), ("workbook_copy", "1 target", "all targets")):
        ratio = statistics.median(times[f"{tool}, {many}"]) / statistics.median(times[f"{tool}, {one}"])
        print(f"{tool} all/one: {ratio:.2f}x (target <= 2x)")


async def templates(workdir: Path) -> None:
    from fastmcp import Client
    from sentinelkit_workbooks.checks import microsoft_validator

    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings

    EMU.reset()
    exports = Path(os.environ["SENTINELKIT_EXPORT_DIR"])
    exports.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in TEMPLATES.glob("*.json") if p.name != "PROVENANCE.json")
    times: list[float] = []
    queries = 0
    async with Client(build_server(load_settings())) as client:
        await client.call_tool("workbook_list", {"workspace": "law-contoso-soc"})
        for path in files:
            shutil.copy(path, exports / path.name)
            start = time.perf_counter()
            result = await client.call_tool("workbook_import", {
                "workspace": "law-contoso-soc", "path": path.name, "display_name": path.stem,
                "accept_missing_tables": True})
            times.append(time.perf_counter() - start)
            queries += result.structured_content["tables"]["checked"]
    validator = "Microsoft's parser" if microsoft_validator() is not None else "table check only"
    print(f"import of {len(files)} real templates ({queries} queries checked, {validator}): median "
          f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms, total {sum(times):.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    from sentinelkit_devkit.emulator import emulator_environment

    from sentinelkit_emulator import Emulator

    with Emulator() as EMU:
        workdir = Path(tempfile.mkdtemp(prefix="sentinelkit-bench-"))
        os.environ.update(emulator_environment(EMU.info, workdir))
        os.environ["SENTINELKIT_CACHE_DIR"] = str(workdir)
        asyncio.run(fan_out(options.runs, options.latency_ms))
        asyncio.run(templates(workdir))
        print(json.dumps({"workdir": str(workdir)}))
    sys.exit(0)
