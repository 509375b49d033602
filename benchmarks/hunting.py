"""Hunting benchmark, through a real MCP client (fastmcp, in-process) to the server the core builds from
the installed packs, against the emulator:

- ``hunting_run`` of a tactic in one workspace versus every workspace of every tenant, with latency
  injected on every emulator call (target: all/one <= 2x: a fan-out, not a loop);
- ``watchlist_item_add`` of 500 items in one call (item writes in flight per workspace: 8);
- ``watchlist_create`` of a 4.2 MB CSV: one 3.8 MB upload plus the rest written item by item.

    python benchmarks/hunting.py [--latency-ms 200] [--runs 3]
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


async def call(client: Any, tool: str, args: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    result = await client.call_tool(tool, args)
    return time.perf_counter() - start, result.structured_content or {}


async def main(runs: int) -> None:
    from fastmcp import Client

    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings

    server = build_server(load_settings())
    async with Client(server) as client:
        await client.call_tool("workspace_list", {})
        await client.call_tool("hunting_run", {"tactic": "InitialAccess"})  # loads the KQL databases
        times: dict[str, list[float]] = {"1 workspace": [], "all workspaces": []}
        for _ in range(runs):
            for label, args in (("1 workspace", {"workspace": "law-tailspin"}), ("all workspaces", {})):
                server._sentinelkit_runtime.cache.clear()
                fault = EMU.add_fault(match={}, latency_ms=LATENCY_MS)
                try:
                    elapsed, data = await call(client, "hunting_run", {"tactic": "InitialAccess", **args})
                finally:
                    EMU.admin.delete(f"/faults/{fault['id']}")
                times[label].append(elapsed)
        print(f"hunting_run tactic InitialAccess, latency {LATENCY_MS} ms per emulator call, runs {runs}")
        for label, values in times.items():
            print(f"  {label:15s} median {statistics.median(values) * 1000:7.0f} ms  "
                  f"({', '.join(f'{v * 1000:.0f}' for v in values)})")
        ratio = statistics.median(times["all workspaces"]) / statistics.median(times["1 workspace"])
        print(f"  all/one: {ratio:.2f}x (target <= 2x); last summary: {data['summary']}")

        rows = [{"UserPrincipalName": f"bench{i:04d}@tailspintoys.com", "Title": "Analyst", "Department": "SOC"}
                for i in range(500)]
        elapsed, data = await call(client, "watchlist_item_add", {"workspace": "law-tailspin", "alias": "VIPUsers",
                                                                  "rows": rows})
        print(f"watchlist_item_add 500 items: {elapsed:.2f} s ({500 / elapsed:.0f} items/s), counts {data['counts']}")

        csv = "Indicator,Note\n" + "".join(f"10.{i // 65536}.{i // 256 % 256}.{i % 256},seen in campaign {i:06d} "
                                          f"{'by the CTI team of the MSSP and first reported by a customer ' * 1}\n"
                                          for i in range(42_000))
        elapsed, data = await call(client, "watchlist_create", {
            "workspace": "law-northwind", "alias": "BenchIOCs", "display_name": "bench", "search_key": "Indicator",
            "csv_text": csv})
        print(f"watchlist_create {len(csv.encode()) / 1e6:.1f} MB, {data['items']} items: {elapsed:.1f} s "
              f"({data['uploaded_in_one_put']} in one PUT, {data['written_one_by_one']} written one by one)")


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
