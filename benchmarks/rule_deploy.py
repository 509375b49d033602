"""Analytics rule rollout benchmark: ``rule_deploy`` of one rule file to one workspace versus every emulator
workspace (all tenants), with latency injected on every emulator call, through a real MCP client (fastmcp,
in-process) to the server the core builds from the installed packs.

    python benchmarks/rule_deploy.py [--latency-ms 200] [--runs 3]

Each run starts from the emulator's initial state and a server whose workspace discovery, tokens and KQL
parser are warmed up before the latency is injected, with the read cache cleared: per workspace the rule
listing, the tables and saved functions (for validation against the workspace's schema) and the PUT, all
workspaces concurrently, behind one confirmation. Target: all/one <= 2x (fan-out, not a loop).
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

RULE_FILE = """name: Burst of failed Azure portal sign-ins
kind: Scheduled
severity: Low
queryFrequency: 1h
queryPeriod: 1h
triggerOperator: gt
triggerThreshold: 10
tactics:
  - CredentialAccess
relevantTechniques:
  - T1110
query: |
  SigninLogs
  | where AppDisplayName =~ "Azure Portal" and ResultType != "0"
  | summarize Failures = count() by UserPrincipalName
"""


async def timed(args: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    from fastmcp import Client

    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings

    EMU.reset()
    server = build_server(load_settings())
    async with Client(server) as client:
        await client.call_tool("workspace_list", {})  # discovery and ARM tokens, as in a running server
        await client.call_tool("kql_validate", {"query": "SigninLogs | take 1", "workspace": "law-tailspin"})  # V8
        server._sentinelkit_runtime.cache.clear()  # measure the tool, not the read cache the warm-up filled
        fault = EMU.add_fault(match={}, latency_ms=LATENCY_MS)
        try:
            start = time.perf_counter()
            result = await client.call_tool("rule_deploy", {"yaml": RULE_FILE, "confirm": True, **args})
            elapsed = time.perf_counter() - start
        finally:
            EMU.admin.delete(f"/faults/{fault['id']}")
    return elapsed, result.structured_content or {}


async def main(runs: int) -> None:
    cases = [({"workspaces": ["law-tailspin"]}, "rule_deploy, 1 workspace"), ({}, "rule_deploy, all workspaces")]
    times: dict[str, list[float]] = {label: [] for _, label in cases}
    deployed: dict[str, int] = {}
    await timed({})  # loads the parser and the emulator's schemas once
    for _ in range(runs):
        for args, label in cases:
            elapsed, data = await timed(args)
            times[label].append(elapsed)
            deployed[label] = int(data.get("deployed") or 0)
    print(f"latency injected on every emulator call: {LATENCY_MS} ms; runs: {runs}")
    for label, values in times.items():
        print(f"{label:30s} median {statistics.median(values) * 1000:7.0f} ms  ({deployed[label]} workspaces "
              f"deployed; runs: {', '.join(f'{v * 1000:.0f}' for v in values)})")
    ratio = statistics.median(times["rule_deploy, all workspaces"]) / statistics.median(times["rule_deploy, 1 workspace"])
    print(f"rule_deploy all/one: {ratio:.2f}x (target <= 2x)")


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
