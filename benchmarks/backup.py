"""Backup benchmark, through a real MCP client (fastmcp, in-process) to the server the core builds from the
installed packs, against the emulator, with latency injected on every ARM call:

- ``backup_export`` of every installed kind of one workspace versus every Sentinel workspace (all tenants):
  wall time, all/one (target <= 2x: fan-out over workspaces and kinds, not a loop) and files/s;
- ``drift_check`` of one workspace versus every workspace against that backup (all/one, target <= 2x);
- ``backup_restore``: the whole backup into the workspaces it came from, unchanged (the plan: every object
  read live and compared), one versus all workspaces; and one workspace's backup into a fresh workspace of
  another tenant, confirmed (every object written: files/s).

    python benchmarks/backup.py [--latency-ms 200] [--runs 3]

The emulator runs in a process of its own. Each measurement uses a server of its own whose workspace discovery and ARM tokens are warmed up before the
latency is injected, with the read cache cleared, so that the figure is the tool itself. The same cases are then
measured without injected latency: what is left is the work of the one emulator process (every tenant's Azure)
and of the server on this machine; the difference is the waiting, which a fan-out overlaps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ONE = "law-tailspin"
SOURCE = "law-northwind"  # restored into FRESH, a new workspace of fabrikam (another tenant)
FRESH = ("fabrikam", "rg-sentinel", "law-bench-restored")


class Admin:
    """The emulator, in a process of its own, through its admin API and its start-up JSON."""

    def __init__(self, info: dict[str, Any]) -> None:
        import httpx

        self.info = info
        self.admin = httpx.Client(base_url=info["admin_url"], verify=info["ca_path"], timeout=60)

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        response = self.admin.post("/faults", json=fault)
        response.raise_for_status()
        return dict(response.json())

    def reset(self) -> None:
        self.admin.post("/reset").raise_for_status()

    def tenant(self, name: str) -> dict[str, Any]:
        return next(t for t in self.info["tenants"] if name in (t["name"], t["id"]))

    def principal(self, name: str) -> dict[str, Any]:
        return next({**p, "tenant_id": t["id"]} for t in self.info["tenants"] for p in t["principals"]
                    if p["name"] == name)


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
    """Removes a backup folder of an earlier run, so that each export writes every file."""
    def clear() -> None:
        shutil.rmtree(EXPORTS / name, ignore_errors=True)
    return clear


def reset_with_fresh_workspace() -> None:
    EMU.reset()
    new_workspace()


def plans(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data.get("would_change", {}).get("changes", {}).get("plans", {}))


CASES: list[tuple[str, str, dict[str, Any], Callable[[], None] | None]] = [
    ("export, 1 workspace", "backup_export", {"workspace": ONE, "path": "one"}, None),
    ("export, all workspaces", "backup_export", {"path": "all"}, None),
    ("drift_check, 1 workspace", "drift_check", {"baseline": "all", "workspaces": [ONE], "limit": 500}, None),
    ("drift_check, all workspaces", "drift_check", {"baseline": "all", "limit": 500}, None),
    ("restore plan, 1 workspace", "backup_restore", {"backup": "one", "dry_run": True}, None),
    ("restore plan, all workspaces", "backup_restore", {"backup": "all", "dry_run": True}, None),
    ("restore into a fresh workspace", "backup_restore",
     {"backup": "all", "source": SOURCE, "workspace": FRESH[2], "confirm": True}, None),
]


def describe(tool: str, args: dict[str, Any], data: dict[str, Any]) -> tuple[str, int]:
    """What the call did, and how many object files it wrote or read (0 for a comparison)."""
    if tool == "backup_export":
        assert data["status"] == "complete", data
        return f"{data['workspaces']} workspaces, {data['objects']} objects in {len(data['kinds'])} kinds", data["objects"]
    if tool == "drift_check":
        return f"{len(data['workspaces'])} workspaces, {len(data['drift'])} drift rows", 0
    if args.get("dry_run"):
        counts = [p["counts"] for p in plans(data).values()]
        return (f"{len(counts)} workspaces, {sum(sum(c.values()) for c in counts)} objects planned, "
                f"{sum(c.get('unchanged', 0) for c in counts)} unchanged"), 0
    counts = data.get("counts", {})
    return (", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
            + (f"; {len(data['errors'])} error(s)" if data.get("errors") else "")), sum(counts.values())


async def measure(runs: int, latency_ms: int) -> dict[str, list[float]]:
    """Every case ``runs`` times; prints the figures and answers the times per case."""
    times: dict[str, list[float]] = {label: [] for label, *_ in CASES}
    facts: dict[str, str] = {}
    files_per_s: dict[str, list[float]] = {}
    for _ in range(runs):
        EMU.reset()  # the scenario's workspaces only (the last run's fresh workspace goes)
        for label, tool, args, _ in CASES:
            before = {"backup_export": fresh_folder(str(args.get("path"))),
                      "backup_restore": reset_with_fresh_workspace if args.get("confirm") else None}.get(tool)
            elapsed, data = await timed(tool, args, latency_ms, before)
            times[label].append(elapsed)
            facts[label], files = describe(tool, args, data)
            if files:
                files_per_s.setdefault(label, []).append(files / elapsed)
    EMU.reset()
    print(f"latency injected on every ARM call: {latency_ms} ms; runs: {runs}")
    for label, values in times.items():
        rate = f"; {statistics.median(files_per_s[label]):.0f} files/s" if label in files_per_s else ""
        print(f"{label:32s} median {statistics.median(values) * 1000:7.0f} ms  ({facts[label]}{rate}; runs: "
              f"{', '.join(f'{v * 1000:.0f}' for v in values)})")
    return times


def median_ms(times: dict[str, list[float]], label: str) -> float:
    return statistics.median(times[label]) * 1000


async def main(runs: int, latency_ms: int) -> None:
    EMU.reset()
    EXPORTS.mkdir(parents=True, exist_ok=True)
    await timed("backup_export", {"path": "warm-up"}, 0)  # imports every kind's modules once
    waited = await measure(runs, latency_ms)
    for what in ("export", "drift_check", "restore plan"):
        one, every = median_ms(waited, f"{what}, 1 workspace"), median_ms(waited, f"{what}, all workspaces")
        print(f"{what} all/one: {every / one:.2f}x (target <= 2x)")
    if latency_ms:
        # the same without injected latency: what is left is the emulator's and the server's own work on this
        # machine (one emulator process answers every tenant); the difference is the waiting, overlapped or not
        print()
        bare = await measure(runs, 0)
        for what in ("export", "drift_check", "restore plan"):
            one = median_ms(waited, f"{what}, 1 workspace") - median_ms(bare, f"{what}, 1 workspace")
            every = median_ms(waited, f"{what}, all workspaces") - median_ms(bare, f"{what}, all workspaces")
            print(f"{what}: time added by the latency: 1 workspace {one:.0f} ms, all workspaces {every:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    from sentinelkit_devkit.emulator import emulator_environment

    # the emulator in a process of its own: Azure's compute is not on this process's event loop (nor its GIL)
    proc = subprocess.Popen([sys.executable, "-m", "sentinelkit_emulator"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    workdir = Path(tempfile.mkdtemp(prefix="sentinelkit-bench-"))
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        EMU = Admin(info)
        os.environ.update(emulator_environment(info, workdir))
        os.environ["SENTINELKIT_CACHE_DIR"] = str(workdir)
        EXPORTS = Path(os.environ["SENTINELKIT_EXPORT_DIR"])
        asyncio.run(main(options.runs, options.latency_ms))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0)
