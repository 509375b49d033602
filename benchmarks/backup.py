"""Backup benchmark, through a real MCP client (fastmcp, in-process) to the server the core builds from the
installed packs, against the emulator, with latency injected on every ARM call:

- ``backup_export`` of every installed kind of one workspace versus every Sentinel workspace (all tenants):
  wall time, all/one (target <= 2x: fan-out over workspaces and kinds, not a loop) and files/s;
- ``drift_check`` of one workspace versus every workspace against that backup (all/one, target <= 2x);
- ``backup_restore``: the whole backup into the workspaces it came from, unchanged (the plan: every object
  read live and compared), one versus all workspaces; and one workspace's backup into a fresh workspace of
  another tenant, confirmed (every object written: files/s).

    python benchmarks/backup.py [--latency-ms 200] [--runs 3]

Each measurement uses a server of its own whose workspace discovery and ARM tokens are warmed up before the
latency is injected, with the read cache cleared, so that the figure is the tool itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ONE = "law-tailspin"
SOURCE = "law-northwind"  # restored into FRESH, a new workspace of fabrikam (another tenant)
FRESH = ("fabrikam", "rg-sentinel", "law-bench-restored")


def new_workspace() -> None:
    """FRESH as a Sentinel workspace, made with Microsoft's SDKs (the emulator's reset removes it again)."""
    from azure.identity import ClientSecretCredential
    from azure.mgmt.loganalytics import LogAnalyticsManagementClient
    from azure.mgmt.loganalytics.models import Workspace
    from azure.mgmt.securityinsight import SecurityInsightsMgmtClient

    tenant, rg, name = FRESH
    principal = EMU.principal("sentinelkit-mssp")
    credential = ClientSecretCredential(principal["tenant_id"], principal["client_id"], principal["client_secret"],
                                        authority=EMU.info["authority_url"], connection_verify=EMU.info["ca_path"],
                                        disable_instance_discovery=True)
    options = {"base_url": EMU.info["arm_url"], "connection_verify": EMU.info["ca_path"],
               "credential_scopes": ["https://management.azure.com/.default"]}
    subscription = EMU.tenant(tenant)["subscriptions"][0]["id"]
    with LogAnalyticsManagementClient(credential, subscription, **options) as la:
        la.workspaces.begin_create_or_update(rg, name, Workspace(location="westeurope")).result()
    with SecurityInsightsMgmtClient(credential, subscription, **options) as si:
        si.sentinel_onboarding_states.create(rg, name, "default", {"properties": {}})


async def timed(tool: str, args: dict[str, Any], latency_ms: int,
                before: Callable[[], None] | None = None) -> tuple[float, dict[str, Any]]:
    from fastmcp import Client

    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings

    if before:
        before()
    server = build_server(load_settings())
    async with Client(server) as client:
        await client.call_tool("workspace_list", {})  # discovery and ARM tokens, as in a running server
        server._sentinelkit_runtime.cache.clear()
        fault = EMU.add_fault(match={"service": "arm"}, latency_ms=latency_ms) if latency_ms else None
        try:
            start = time.perf_counter()
            result = await client.call_tool(tool, args, raise_on_error=False)
            elapsed = time.perf_counter() - start
        finally:
            if fault:
                EMU.admin.delete(f"/faults/{fault['id']}")
    data = result.structured_content or {}
    if result.is_error:
        raise SystemExit(f"{tool} {args} failed: {result.content[0].text if result.content else data}")
    return elapsed, data


def fresh_folder(name: str) -> Callable[[], None]:
    def clear() -> None:
        shutil.rmtree(EXPORTS / name, ignore_errors=True)
    return clear


def reset_with_fresh_workspace() -> None:
    EMU.reset()
    new_workspace()


def plans(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data.get("would_change", {}).get("changes", {}).get("plans", {}))


async def main(runs: int, latency_ms: int) -> None:
    EMU.reset()
    EXPORTS.mkdir(parents=True, exist_ok=True)
    await timed("backup_export", {"path": "warm-up"}, 0)  # imports every kind's modules once
    cases: list[tuple[str, str, dict[str, Any], Callable[[], None] | None]] = [
        ("export, 1 workspace", "backup_export", {"workspace": ONE, "path": "one"}, fresh_folder("one")),
        ("export, all workspaces", "backup_export", {"path": "all"}, fresh_folder("all")),
        ("drift_check, 1 workspace", "drift_check", {"baseline": "all", "workspaces": [ONE], "limit": 500}, None),
        ("drift_check, all workspaces", "drift_check", {"baseline": "all", "limit": 500}, None),
        ("restore plan, 1 workspace", "backup_restore", {"backup": "one", "dry_run": True}, None),
        ("restore plan, all workspaces", "backup_restore", {"backup": "all", "dry_run": True}, None),
        ("restore into a fresh workspace", "backup_restore",
         {"backup": "all", "source": SOURCE, "workspace": FRESH[2], "confirm": True}, reset_with_fresh_workspace),
    ]
    times: dict[str, list[float]] = {label: [] for label, *_ in cases}
    facts: dict[str, str] = {}
    files_per_s: dict[str, list[float]] = {}
    for _ in range(runs):
        EMU.reset()  # the scenario's workspaces only (the last run's fresh workspace goes)
        for label, tool, args, before in cases:
            elapsed, data = await timed(tool, args, latency_ms, before)
            times[label].append(elapsed)
            if tool == "backup_export":
                assert data["status"] == "complete", data
                files = data["objects"]
                facts[label] = f"{data['workspaces']} workspaces, {files} objects in {len(data['kinds'])} kinds"
            elif tool == "drift_check":
                files = 0
                facts[label] = f"{len(data['workspaces'])} workspaces, {len(data['drift'])} drift rows"
            elif args.get("dry_run"):
                files = 0
                counts = [p["counts"] for p in plans(data).values()]
                facts[label] = (f"{len(counts)} workspaces, {sum(sum(c.values()) for c in counts)} objects planned, "
                                f"{sum(c.get('unchanged', 0) for c in counts)} unchanged")
            else:
                counts = data.get("counts", {})
                files = sum(counts.values())
                facts[label] = (", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
                                + (f"; {len(data['errors'])} error(s)" if data.get("errors") else ""))
            if files:
                files_per_s.setdefault(label, []).append(files / elapsed)
    EMU.reset()
    print(f"latency injected on every ARM call: {latency_ms} ms; runs: {runs}")
    for label, values in times.items():
        rate = f"; {statistics.median(files_per_s[label]):.0f} files/s" if label in files_per_s else ""
        print(f"{label:32s} median {statistics.median(values) * 1000:7.0f} ms  ({facts[label]}{rate}; runs: "
              f"{', '.join(f'{v * 1000:.0f}' for v in values)})")
    for what in ("export", "drift_check", "restore plan"):
        ratio = statistics.median(times[f"{what}, all workspaces"]) / statistics.median(times[f"{what}, 1 workspace"])
        print(f"{what} all/one: {ratio:.2f}x (target <= 2x)")


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
        EXPORTS = Path(os.environ["SENTINELKIT_EXPORT_DIR"])
        asyncio.run(main(options.runs, options.latency_ms))
    shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0)
