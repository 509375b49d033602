"""Scale benchmark: sentinelkit over 6, 100 and 1,000 workspaces, each tool against one workspace.

    python benchmarks/scale.py [--worlds 6,100,1000] [--runs 5] [--latency-ms 200]

For each world the emulator runs in a process of its own (``sentinelkit-emulator``: the six-workspace
scenario, or a generated world of ``--tenants N --workspaces-per-tenant 10``) and ``sentinelkit serve``
in another, driven over stdio by the mcp SDK's client, so that the server's CPU time and peak memory
(``/proc``) are its own, apart from the emulator's. Discovery, tokens and one unmeasured call of each tool
come first (they seed the emulator's workspaces and its KQL databases); then 200 ms of latency is injected
on every emulator call, and each tool is called over every Sentinel workspace and over one, alternately,
``--runs`` times:

- ``incident_list`` (25 rows): the first page, and the page after it (its ``next_cursor``)
- ``sentinel_health_check`` quick (``refresh``: ARM and KQL read again, not the cache)
- ``logs_query`` (a summarize over Heartbeat)

It prints the medians, each ratio all/one, and per world the server's CPU time during the measured calls
next to the emulator's, and the server's peak resident memory. Aims (issue 14): incident_list <= 2x at 100
workspaces and <= 4x at 1,000; the health check <= 3x at 100; the server's peak memory at 1,000 under
100 MB above the six-workspace world's. The machine's load average is printed with the figures.
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
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

SIZES = {6: None, 100: (10, 10), 1000: (100, 10)}  # workspaces -> (tenants, workspaces per tenant)
QUERY = "Heartbeat | summarize beats = count() by Computer"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class World:
    """An emulator process of the given size, and its admin API."""

    def __init__(self, size: tuple[int, int] | None) -> None:
        import httpx

        cmd = [sys.executable, "-m", "sentinelkit_emulator"]
        if size:
            cmd += ["--tenants", str(size[0]), "--workspaces-per-tenant", str(size[1])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.info = json.loads(self.proc.stdout.readline())
        self.admin = httpx.Client(base_url=self.info["admin_url"], verify=self.info["ca_path"], timeout=60)

    def latency(self, ms: int) -> None:
        self.admin.delete("/faults").raise_for_status()
        if ms:
            self.admin.post("/faults", json={"match": {}, "latency_ms": ms}).raise_for_status()

    def close(self) -> None:
        self.admin.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Server:
    """``sentinelkit serve`` over stdio (mcp SDK client); its process id from a file it writes first."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env, self.pidfile = env, workdir / "server.pid"
        self.stack = AsyncExitStack()
        self.session: Any = None

    async def __aenter__(self) -> Server:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        script = f"import os, sys; open({str(self.pidfile)!r}, 'w').write(str(os.getpid())); " \
                 "from sentinelkit.cli import main; sys.exit(main(['serve']))"
        params = StdioServerParameters(command=sys.executable, args=["-c", script], env=self.env)
        read, write = await self.stack.enter_async_context(stdio_client(params))
        self.session = await self.stack.enter_async_context(ClientSession(read, write))
        await self.session.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stack.aclose()

    @property
    def pid(self) -> int:
        return int(self.pidfile.read_text())

    async def call(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        result = await self.session.call_tool(tool, args)
        text = result.content[0].text if result.content else ""
        assert not result.is_error, f"{tool} {args}: {text[:500]}"
        data = result.structured_content or json.loads(text)
        assert not data.get("errors"), f"{tool}: {data['errors']}"
        return dict(data)


async def timed(server: Server, tool: str, args: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    data = await server.call(tool, args)
    return time.perf_counter() - start, data


async def measure_world(workspaces: int, runs: int, latency_ms: int) -> dict[str, Any]:
    from sentinelkit_devkit.emulator import emulator_environment

    world = World(SIZES[workspaces])
    workdir = Path(tempfile.mkdtemp(prefix="sentinelkit-scale-"))
    env = {**os.environ, **emulator_environment(world.info, workdir), "SENTINELKIT_CACHE_DIR": str(workdir)}
    one = next(w["name"] for w in world.info["workspaces"] if w["sentinel"])
    calls = {
        "incident_list first page": ("incident_list", {"limit": 25}),
        "incident_list next page": ("incident_list", {"limit": 25}),
        "sentinel_health_check quick": ("sentinel_health_check", {"check_depth": "quick", "refresh": True}),
        "logs_query": ("logs_query", {"query": QUERY}),
    }
    scope = {"incident_list": ({"workspace": one}, {"workspaces": "all"}),
             "sentinel_health_check": ({"workspaces": [one]}, {"tenant_scope": "all"}),
             "logs_query": ({"workspaces": [one]}, {"workspaces": "all"})}
    times: dict[str, dict[str, list[float]]] = {name: {"one": [], "all": []} for name in calls}
    try:
        async with Server(env, workdir) as server:
            started = time.perf_counter()
            await server.call("workspace_list", {})
            for tool, args in calls.values():  # seeds the emulator's workspaces and KQL databases
                await server.call(tool, {**args, **scope[tool][1]})
            warm = time.perf_counter() - started
            world.latency(latency_ms)
            server_cpu, emulator_cpu = cpu_seconds(server.pid), cpu_seconds(world.proc.pid)
            counted = 0
            for _ in range(runs):
                for name, (tool, args) in calls.items():
                    for which, extra in zip(("one", "all"), scope[tool], strict=True):
                        if name == "incident_list next page":
                            first = await server.call(tool, {**args, **extra})
                            seconds, data = await timed(server, tool, {**args, **extra,
                                                                       "cursor": first["next_cursor"]})
                        else:
                            seconds, data = await timed(server, tool, {**args, **extra})
                        times[name][which].append(seconds)
                        if which == "all" and tool == "incident_list":
                            counted = int(data["workspaces"])
            server_cpu = cpu_seconds(server.pid) - server_cpu
            emulator_cpu = cpu_seconds(world.proc.pid) - emulator_cpu
            rss = peak_rss_mb(server.pid)
    finally:
        world.close()
    return {"workspaces": workspaces, "sentinel_workspaces": counted, "times": times, "server_cpu": server_cpu,
            "emulator_cpu": emulator_cpu, "rss": rss, "warm": warm, "load": load()}


def report(result: dict[str, Any], runs: int) -> None:
    print(f"\n== {result['workspaces']} workspaces ({result['sentinel_workspaces']} with Sentinel), load average "
          f"{result['load']} ==")
    print(f"warm-up (discovery, first call of each tool: the emulator seeds): {result['warm']:.1f} s")
    for name, t in result["times"].items():
        m_one, m_all = statistics.median(t["one"]), statistics.median(t["all"])
        print(f"  {name:<30} one {m_one * 1000:7.0f} ms   all {m_all * 1000:7.0f} ms   ratio {m_all / m_one:5.2f}x"
              f"   (all: {', '.join(f'{x * 1000:.0f}' for x in t['all'])})")
    calls = len(result["times"]) * 2 * runs
    print(f"  CPU during the {calls} measured calls: server {result['server_cpu']:.2f} s, "
          f"emulator {result['emulator_cpu']:.2f} s; server peak RSS {result['rss']:.0f} MB")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", default="6,100,1000", help="world sizes, from 6, 100, 1000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=int, default=200)
    options = parser.parse_args()
    os.environ.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")
    results = []
    for size in (int(s) for s in options.worlds.split(",")):
        result = await measure_world(size, options.runs, options.latency_ms)
        report(result, options.runs)
        results.append(result)
    base = next((r for r in results if r["workspaces"] == 6), None)
    if base:
        for r in results:
            if r is not base:
                print(f"server peak RSS at {r['workspaces']} workspaces: {r['rss'] - base['rss']:+.0f} MB over the "
                      f"6-workspace world (aim at 1,000: < 100 MB)")


if __name__ == "__main__":
    asyncio.run(main())
