"""Fan-out benchmark of the incidents pack: ``incident_list`` across every emulator workspace
(``workspaces="all"``: 5 workspaces in 5 tenants, one reached with its own credential) against one
workspace, with 200 ms of latency injected on every ARM call. Prints the medians and their ratio
(aim: ≤ 2×, i.e. the workspaces are read concurrently, not one after the other).

    python benchmarks/incidents_fanout.py [--runs 9] [--latency-ms 200]

The server is the real one (``build_server`` with every installed pack) driven by a real
``fastmcp.Client`` in this process; the emulator runs in a background thread of this process and
serves HTTPS. Workspace discovery is warmed first (it is cached for the cache TTL in real use too);
each measured ``incident_list`` is a first page, which the pack always reads fresh from ARM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path


async def measure(runs: int, latency_ms: int) -> None:
    from fastmcp import Client
    from sentinelkit_devkit.emulator import emulator_environment

    from sentinelkit.packs import PackManager
    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings
    from sentinelkit_emulator import Emulator

    with Emulator() as emu, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(emulator_environment(emu.info, Path(tmp)))
        settings = load_settings()
        server = build_server(settings, PackManager(enabled=settings.pack_enabled))
        async with Client(server) as client:
            await client.call_tool("workspace_list", {})  # discovery, cached as in real use
            one_args = {"workspace": "law-fabrikam-prod", "limit": 25}
            all_args = {"workspaces": "all", "limit": 25}
            check = await client.call_tool("incident_list", all_args)
            assert not check.is_error and check.structured_content["workspaces"] == 5, check
            emu.add_fault(match={"service": "arm"}, latency_ms=latency_ms)
            one: list[float] = []
            every: list[float] = []
            for _ in range(runs):  # alternate, so that machine noise hits both alike
                for args, sink in ((one_args, one), (all_args, every)):
                    start = time.perf_counter()
                    result = await client.call_tool("incident_list", args)
                    sink.append(time.perf_counter() - start)
                    assert not result.is_error and "errors" not in result.structured_content, result
            emu.clear_faults()
    m_one, m_all = statistics.median(one), statistics.median(every)
    print(f"incident_list, {latency_ms} ms latency on every ARM call, {runs} runs each")
    print(f"  one workspace (law-fabrikam-prod): median {m_one * 1000:7.1f} ms  (min {min(one) * 1000:.1f})")
    print(f"  all 5 workspaces, 5 tenants:       median {m_all * 1000:7.1f} ms  (min {min(every) * 1000:.1f})")
    print(f"  ratio all/one: {m_all / m_one:.2f}x (aim <= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--latency-ms", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")
    asyncio.run(measure(args.runs, args.latency_ms))


if __name__ == "__main__":
    main()
