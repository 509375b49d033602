"""Health-check benchmark: the quick check of every emulator workspace versus one workspace, with
200 ms of latency injected on every emulator call, in the same run; then a second run within the cache
TTL, answered from the cache.

    python benchmarks/health_check.py [--latency-ms 200] [--runs 3]

Each measurement uses a server of its own whose workspace discovery and tokens are warmed up before
the latency is injected (and one unmeasured check first loads the emulator's KQL databases), so that
the figure is the health check itself: per workspace one KQL query and a few ARM reads, all
workspaces concurrently. Target: all/one <= 2x. Calls go through a real MCP client (fastmcp,
in-process) to the server the core builds from the installed packs; the emulator runs in a process
of its own. The same is then measured without injected latency, to separate the emulator's own
compute on this machine from the waiting the pack overlaps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


class Admin:
    """The emulator's admin API (faults), over HTTPS with its CA."""

    def __init__(self, info: dict[str, Any]) -> None:
        import httpx

        self.admin = httpx.Client(base_url=info["admin_url"], verify=info["ca_path"], timeout=30)

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        response = self.admin.post("/faults", json=fault)
        response.raise_for_status()
        return response.json()


async def timed_check(args: dict[str, Any], *, repeat: bool, latency_ms: int) -> tuple[float, float | None, int]:
    from fastmcp import Client

    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings

    server = build_server(load_settings())
    async with Client(server) as client:
        # discovery and tokens (ARM and Log Analytics, every credential) before the latency, as in a running server
        await client.call_tool("workspace_list", {})
        await client.call_tool("logs_query", {"query": "print 1", "workspaces": "all"})
        fault = EMU.add_fault(match={}, latency_ms=latency_ms) if latency_ms else {"id": "none"}
        try:
            start = time.perf_counter()
            result = await client.call_tool("sentinel_health_check", args)
            first = time.perf_counter() - start
            again = None
            if repeat:
                start = time.perf_counter()
                cached = await client.call_tool("sentinel_health_check", args)
                again = time.perf_counter() - start
                assert "cached" in (cached.structured_content or {}), "second run was not answered from the cache"
        finally:
            EMU.admin.delete(f"/faults/{fault['id']}")
    data = result.structured_content or {}
    return first, again, int(data.get("summary", {}).get("workspaces", 0))


async def warm_emulator() -> None:
    """One unmeasured check, so that the emulator's per-workspace KQL databases are loaded."""
    from fastmcp import Client

    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings

    async with Client(build_server(load_settings())) as client:
        await client.call_tool("sentinel_health_check", {"check_depth": "quick"})


async def measure(runs: int, latency_ms: int) -> tuple[list[float], list[float], list[float], int]:
    one, every, cached = [], [], []
    count = 0
    for _ in range(runs):
        t_one, _, n_one = await timed_check(
            {"workspaces": ["law-woodgrove"], "check_depth": "quick"}, repeat=False, latency_ms=latency_ms
        )
        t_all, t_cached, count = await timed_check(
            {"tenant_scope": "all", "check_depth": "quick"}, repeat=True, latency_ms=latency_ms
        )
        assert n_one == 1
        one.append(t_one)
        every.append(t_all)
        cached.append(t_cached or 0.0)
    return one, every, cached, count


def ms(values: list[float]) -> str:
    return ", ".join(f"{x * 1000:.0f}" for x in values)


async def main(runs: int) -> None:
    await warm_emulator()
    one, every, cached, count = await measure(runs, LATENCY_MS)
    m_one, m_all = statistics.median(one), statistics.median(every)
    print(f"latency injected on every call: {LATENCY_MS} ms; runs: {runs}")
    print(f"quick check, 1 workspace:         median {m_one * 1000:6.0f} ms  (runs: {ms(one)})")
    print(f"quick check, all {count} workspaces:   median {m_all * 1000:6.0f} ms  (runs: {ms(every)})")
    print(f"ratio all/one: {m_all / m_one:.2f}x (target <= 2x)")
    print(
        f"second run within the cache TTL (all workspaces): median {statistics.median(cached) * 1000:.1f} ms "
        f"(runs: {', '.join(f'{x * 1000:.1f}' for x in cached)})"
    )
    if LATENCY_MS:
        # the same without injected latency: what is left is the emulator's own work on this machine (its KQL
        # engine runs the six queries on the machine's cores), which Azure does on its side, in parallel
        b_one, b_all, _, _ = await measure(runs, 0)
        z_one, z_all = statistics.median(b_one), statistics.median(b_all)
        print(
            f"without injected latency: 1 workspace {z_one * 1000:.0f} ms, all {z_all * 1000:.0f} ms "
            f"(the emulator's own compute on this machine)"
        )
        print(
            f"time added by the {LATENCY_MS} ms latency: 1 workspace {(m_one - z_one) * 1000:.0f} ms, "
            f"all {(m_all - z_all) * 1000:.0f} ms (ratio {(m_all - z_all) / max(m_one - z_one, 1e-9):.2f}x)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    LATENCY_MS = options.latency_ms

    from sentinelkit_devkit.emulator import emulator_environment

    # the emulator in a process of its own: Azure's compute is not on this machine's event loop either
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentinelkit_emulator"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        EMU = Admin(info)
        workdir = Path(tempfile.mkdtemp(prefix="sentinelkit-bench-"))
        os.environ.update(emulator_environment(info, workdir))
        os.environ["SENTINELKIT_CACHE_DIR"] = str(workdir)
        asyncio.run(main(options.runs))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
