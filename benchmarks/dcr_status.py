"""Data collection benchmark: ``dcr_status`` and ``dcr_list`` for one workspace versus every emulator
workspace (all tenants), with latency injected on every emulator call, through a real MCP client
(fastmcp, in-process) to the server the core builds from the installed packs.

    python benchmarks/dcr_status.py [--latency-ms 200] [--runs 3]

Each run uses a server of its own whose workspace discovery and tokens are warmed up before the latency
is injected, so the figure is the tool itself: per workspace one rule listing, one association listing per
rule, one Usage query (and a workspace read per foreign destination), all workspaces concurrently.
Target: all/one <= 2x (fan-out, not a loop).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


async def timed(tool: str, args: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    from fastmcp import Client

    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings

    server = build_server(load_settings())
    async with Client(server) as client:
        await client.call_tool("workspace_list", {})  # discovery and ARM tokens, as in a running server
        await client.call_tool("dcr_status", {"workspace": "law-woodgrove", "rule": "dcr-woodgrove-linux-syslog"})
        server._sentinelkit_runtime.cache.clear()  # measure the tool, not the read cache the warm-up filled
        fault = EMU.add_fault(match={}, latency_ms=LATENCY_MS)
        try:
            start = time.perf_counter()
            result = await client.call_tool(tool, args)
            elapsed = time.perf_counter() - start
        finally:
            EMU.admin.delete(f"/faults/{fault['id']}")
    return elapsed, result.structured_content or {}


async def main(runs: int) -> None:
    cases = [("dcr_status", {"workspace": "law-tailspin"}, "dcr_status, 1 workspace"),
             ("dcr_status", {}, "dcr_status, all workspaces"),
             ("dcr_list", {"workspace": "law-tailspin"}, "dcr_list, 1 workspace"),
             ("dcr_list", {}, "dcr_list, all workspaces")]
    times: dict[str, list[float]] = {label: [] for _, _, label in cases}
    counts: dict[str, int] = {}
    await timed("dcr_status", {})  # loads the emulator's KQL databases
    for _ in range(runs):
        for tool, args, label in cases:
            elapsed, data = await timed(tool, args)
            times[label].append(elapsed)
            counts[label] = data.get("summary", {}).get("workspaces") or data.get("workspaces") or 0
    print(f"latency injected on every emulator call: {LATENCY_MS} ms; runs: {runs}")
    for label, values in times.items():
        print(f"{label:30s} median {statistics.median(values) * 1000:7.0f} ms  ({counts[label]} workspaces; runs: "
              f"{', '.join(f'{v * 1000:.0f}' for v in values)})")
    for tool in ("dcr_status", "dcr_list"):
        ratio = statistics.median(times[f"{tool}, all workspaces"]) / statistics.median(times[f"{tool}, 1 workspace"])
        print(f"{tool} all/one: {ratio:.2f}x (target <= 2x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    LATENCY_MS = options.latency_ms

    from sentinelkit_devkit.emulator import emulator_environment

    from sentinelkit_emulator import Emulator

    with Emulator() as EMU:
        workdir = Path(tempfile.mkdtemp(prefix="sentinelkit-bench-"))
        os.environ.update(emulator_environment(EMU.info, workdir))
        os.environ["SENTINELKIT_CACHE_DIR"] = str(workdir)
        asyncio.run(main(options.runs))
    sys.exit(0)
