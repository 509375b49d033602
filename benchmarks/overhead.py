"""Overhead benchmark: what sentinelkit adds to one ARM request, and what a tool call adds to that.

    python benchmarks/overhead.py [--requests 300]

Against the emulator (a process of its own, HTTPS with its own CA: the case in which azure-core's own
transport builds a TLS context per request), the same ARM GET of one incident is sent ``--requests``
times, interleaved, by:

- ``requests`` with a kept-alive ``Session`` (the raw baseline);
- the core's ARM client (``Runtime.arm().get``, uncached): pipeline, retry and token policies, the
  per-tenant limit, and the shared connection pool (one TLS context per endpoint);
- azure-core's aiohttp transport given the CA path the way azure-core documents it (``connection_verify``),
  for comparison: a new TLS context, hence a new connection and handshake, per request;
- a tool over MCP that makes that one ARM call (a probe pack, a real ``fastmcp.Client`` in process).

It prints p50 and p99 of each, the core's ratio to ``requests`` (aim <= 1.2x) and the tool's p50 over the
core's GET (aim <= 3 ms), with the machine's load average; and the CPU time each costs its process: the core's
GET in this process, the tool call in the server's (JSON-RPC, FastMCP, the core, the GET), which on a busy
machine says more than the wall time of a round trip through three processes.
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
import types
from pathlib import Path
from typing import Any

from sentinelkit import READ_ONLY, Kit, hookimpl, tool

API = "2025-09-01"
PATH = ""  # the incident's ARM path, set once the emulator is up


@tool(READ_ONLY)
async def incident_read_probe(kit: Kit, path: str) -> dict[str, Any]:
    """Read one ARM resource, uncached (a benchmark probe: exactly one ARM call).

    Args:
        path: ARM path of the resource.
    """
    data = await kit.arm().get(path, API, cache=False)
    return {"name": data.get("name")}


@hookimpl
def register_tools(register: Any) -> None:
    register(incident_read_probe)


def server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(name: str, values: list[float]) -> str:
    return (f"{name:<52} p50 {percentile(values, 0.5) * 1000:6.2f} ms   p99 {percentile(values, 0.99) * 1000:6.2f} ms"
            f"   mean {statistics.fmean(values) * 1000:6.2f} ms")


async def main(requests_count: int) -> None:
    import requests
    from azure.core import AsyncPipelineClient
    from azure.core.rest import HttpRequest
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from sentinelkit.azure.pipeline import SingleAttemptTransport
    from sentinelkit.runtime import Runtime
    from sentinelkit.settings import load_settings

    settings = load_settings()
    runtime = Runtime(settings)
    arm = runtime.arm()
    await runtime.workspaces.discover()  # the per-tenant limit knows whose subscription the path is in
    token = (await runtime.credentials.get().get_token(settings.arm_scope)).token
    url = f"{settings.arm_endpoint}{PATH}?api-version={API}"
    session = requests.Session()
    session.verify = str(settings.ca_bundle)
    session.headers["Authorization"] = f"Bearer {token}"
    per_request_tls = AsyncPipelineClient(base_url=settings.arm_endpoint,
                                          transport=SingleAttemptTransport(connection_verify=str(settings.ca_bundle)))

    async def azure_core_default() -> None:
        request = HttpRequest("GET", url, headers={"Authorization": f"Bearer {token}"})
        response = await per_request_tls.send_request(request)
        assert response.status_code == 200, response.status_code

    samples: dict[str, list[float]] = {"requests": [], "core": [], "azure-core": [], "tool": []}
    pidfile = Path(tempfile.mkdtemp(prefix="sentinelkit-overhead-")) / "server.pid"
    params = StdioServerParameters(command=sys.executable, args=[__file__, "--serve", str(pidfile)],
                                   env=dict(os.environ))
    cpu: dict[str, float] = {"core": 0.0, "tool": 0.0}
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()

        async def over_mcp() -> None:
            result = await client.call_tool("incident_read_probe", {"path": PATH})
            assert not result.is_error, result.content[0].text

        async def core() -> None:
            await arm.get(PATH, API, cache=False)

        def raw() -> None:
            response = session.get(url)
            assert response.status_code == 200, response.status_code

        for _ in range(10):  # warm: tokens, connections, the probe built on its first call
            raw()
            await core()
            await over_mcp()
            await azure_core_default()
        server = int(pidfile.read_text())
        for _ in range(requests_count):
            for name, run in (("requests", raw), ("core", core), ("tool", over_mcp), ("azure-core", azure_core_default)):
                before = time.process_time() if name == "core" else server_cpu(server) if name == "tool" else 0.0
                start = time.perf_counter()
                outcome = run()
                if asyncio.iscoroutine(outcome):
                    await outcome
                samples[name].append(time.perf_counter() - start)
                if name == "core":
                    cpu["core"] += time.process_time() - before
                elif name == "tool":
                    cpu["tool"] += server_cpu(server) - before
    await per_request_tls.close()
    await runtime.aclose()
    session.close()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"ARM GET of one incident, {requests_count} times each, interleaved; load average {load}")
    print(line("requests, kept-alive Session (raw)", samples["requests"]))
    print(line("sentinelkit ArmClient.get (shared pool, one TLS context)", samples["core"]))
    print(line("azure-core aiohttp transport, connection_verify=CA path", samples["azure-core"]))
    print(line("tool making that one call, over MCP (stdio)", samples["tool"]))
    core_p50, raw_p50 = percentile(samples["core"], 0.5), percentile(samples["requests"], 0.5)
    tool_p50 = percentile(samples["tool"], 0.5)
    print(f"core / raw: p50 {core_p50 / raw_p50:.2f}x, p99 "
          f"{percentile(samples['core'], 0.99) / percentile(samples['requests'], 0.99):.2f}x (aim <= 1.2x)")
    print(f"tool over MCP - core GET: p50 {(tool_p50 - core_p50) * 1000:+.2f} ms (aim <= 3 ms)")
    core_cpu, tool_cpu = cpu["core"] / requests_count * 1000, cpu["tool"] / requests_count * 1000
    print(f"CPU per call: core GET {core_cpu:.2f} ms (this process), tool call {tool_cpu:.2f} ms (the server's "
          f"process: {tool_cpu - core_cpu:+.2f} ms over the GET)")


def serve(pidfile: str) -> None:
    """The server the benchmark calls: every installed pack, plus the probe."""
    Path(pidfile).write_text(str(os.getpid()))
    from sentinelkit.packs import PackManager
    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings

    settings = load_settings()
    manager = PackManager(settings=settings)
    manager.load()
    manager.add(types.SimpleNamespace(register_tools=register_tools, __name__="bench.probe"), "probe")
    from sentinelkit.stdiopipes import run

    run(build_server(settings, manager))  # as `sentinelkit serve` does


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2])
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    options = parser.parse_args()
    from sentinelkit_devkit.emulator import emulator_environment

    proc = subprocess.Popen([sys.executable, "-m", "sentinelkit_emulator"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        workdir = Path(tempfile.mkdtemp(prefix="sentinelkit-overhead-"))
        os.environ.update(emulator_environment(info, workdir))
        os.environ["SENTINELKIT_CACHE_DIR"] = str(workdir)
        import httpx

        ws = next(w for w in info["workspaces"] if w["name"] == "law-fabrikam-prod")
        with httpx.Client(verify=info["ca_path"]) as http:  # the first incident's path, through the admin token
            token = http.post(f"{info['admin_url']}/token", json={"client_id": info["env"]["AZURE_CLIENT_ID"]}).json()
            listed = http.get(f"{info['arm_url']}{ws['id']}/providers/Microsoft.SecurityInsights/incidents",
                              params={"api-version": API, "$top": 1},
                              headers={"Authorization": f"Bearer {token['access_token']}"}).json()
        PATH = listed["value"][0]["id"]
        asyncio.run(main(options.requests))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
