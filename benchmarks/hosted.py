"""Hosted mode under load: 1, 2 and 4 stateless replicas of ``sentinelkit serve --http`` behind nginx
(round-robin), sharing Redis, against the emulator with 100 ms injected on every ARM call; 50 concurrent
MCP clients (``fastmcp.Client`` over streamable HTTP) call tools for 60 s (half of the calls a fan-out over every
tenant). Prints requests/s, p50/p99 per
tool, the error rate, and the ARM requests each tenant received per second, which must stay within the
per-tenant budget ``[hosted] arm_requests_per_second`` whatever the number of replicas (the last row runs
4 replicas without Redis: each replica then keeps its own budget, and together they exceed it).

    python benchmarks/hosted.py [--duration 60] [--clients 50] [--replicas 1,2,4] [--budget 10] [--burst 10]

Every process is real and local: the emulator (``sentinelkit-emulator``, its own process), redis-server
and nginx from Debian's packages on free 127.0.0.1 ports, the replicas as subprocesses. The load
generator, the emulator and the replicas share this machine's cores: quote the machine's load with the
figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import ssl
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

WORKSPACES = ["law-contoso-soc", "law-fabrikam-prod", "law-northwind", "law-tailspin", "law-woodgrove"]


def start_emulator(folder: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "sentinelkit_emulator", "--data-dir", str(folder / "emulator")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        raise SystemExit("the emulator did not start")
    return proc, json.loads(line)


def admin(info: dict[str, Any]) -> Any:
    import httpx

    return httpx.Client(base_url=info["admin_url"], verify=ssl.create_default_context(cafile=info["ca_path"]),
                        timeout=60)


def pick(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """50 %: a first page of the incidents of every workspace (a fan-out: one fresh ARM list per tenant);
    30 %: those of one workspace; 20 %: the workspace list (discovery, shared through Redis)."""
    draw = rng.random()
    if draw < 0.5:
        return "incident_list all", {"workspaces": "all", "limit": 10}
    if draw < 0.8:
        return "incident_list one", {"workspace": rng.choice(WORKSPACES), "limit": 10}
    return "workspace_list", {}


async def client_loop(url: str, stop_at: float, seed: int, latencies: dict[str, list[float]],
                      errors: dict[str, int]) -> None:
    from fastmcp import Client

    rng = random.Random(seed)
    async with Client(url, timeout=300) as client:
        while time.monotonic() < stop_at:
            tool, args = pick(rng)
            start = time.perf_counter()
            try:
                result = await client.call_tool(tool.split()[0], args, raise_on_error=False)
                ok = not result.is_error and not (result.structured_content or {}).get("errors")
            except Exception:
                ok = False
            latencies[tool].append(time.perf_counter() - start)
            if not ok:
                errors[tool] += 1


async def run_load(url: str, clients: int, duration: float) -> tuple[dict[str, list[float]], dict[str, int], float]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    start = time.monotonic()
    await asyncio.gather(*(client_loop(url, start + duration, i, latencies, errors) for i in range(clients)))
    return latencies, errors, time.monotonic() - start


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(info: dict[str, Any], count: int, shared: bool, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from sentinelkit_devkit.emulator import emulator_environment
    from sentinelkit_devkit.services import RedisServer, free_port, nginx_balancer, replicas

    work = folder / f"{count}-{'redis' if shared else 'alone'}"
    work.mkdir()
    env = emulator_environment(info, work)
    lb_port = free_port()
    config = work / "sentinelkit.toml"
    config.write_text(Path(env["SENTINELKIT_CONFIG"]).read_text() + (
        f'\n[http]\nstateless = true\nallowed_hosts = ["127.0.0.1:{lb_port}"]\n'
        f"\n[hosted]\narm_requests_per_second = {args.budget}\narm_burst = {args.burst}\n"))
    env.update(SENTINELKIT_CONFIG=str(config), SENTINELKIT_CACHE_DIR=str(folder / "schemas"), LOG_LEVEL="WARNING")
    with RedisServer(work / "redis") as redis, admin(info) as emu:
        if shared:
            env["SENTINELKIT_REDIS_URL"] = redis.url
        with replicas(env, count, logs=work) as addresses, nginx_balancer(addresses, work / "nginx", lb_port) as lb:
            url = f"{lb}/mcp"
            asyncio.run(run_load(url, min(count * 2, args.clients), 3))  # warm: discovery, schemas, connections
            emu.delete("/faults")
            emu.post("/faults", json={"match": {"service": "arm"}, "latency_ms": args.latency_ms}).raise_for_status()
            emu.delete("/traffic")
            latencies, errors, elapsed = asyncio.run(run_load(url, args.clients, args.duration))
            traffic = emu.get("/traffic").json()
            emu.delete("/faults")
    calls = sum(len(v) for v in latencies.values())
    per_tenant = {k.split(":", 1)[1]: n / elapsed for k, n in traffic["requests"].items() if k.startswith("arm:")}
    return {"replicas": count, "shared": shared, "calls": calls, "rps": calls / elapsed,
            "errors": sum(errors.values()) / max(calls, 1),
            "tools": {t: (len(v), pct(v, 0.5), pct(v, 0.99)) for t, v in sorted(latencies.items())},
            "arm_per_tenant": per_tenant}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--replicas", default="1,2,4")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--budget", type=float, default=1,
                        help="ARM requests per second per tenant, all replicas together (low, so that the load "
                             "exceeds it on a small machine)")
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--skip-unshared", action="store_true", help="leave out the 4 replicas without Redis row")
    args = parser.parse_args()
    os.environ.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        emulator, info = start_emulator(folder)
        try:
            plan = [(int(n), True) for n in args.replicas.split(",")]
            if not args.skip_unshared:
                plan.append((max(n for n, _ in plan), False))
            for count, shared in plan:
                rows.append(run(info, count, shared, args, folder))
                print(f"... {count} replica(s){'' if shared else ' without Redis'} done", file=sys.stderr)
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
    load = os.getloadavg()
    print(f"{args.clients} MCP clients for {args.duration:.0f} s, {args.latency_ms} ms on every ARM call, budget "
          f"{args.budget:g} ARM requests/s per tenant (burst {args.burst}); {os.cpu_count()} cores, load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")
    print(f"{'replicas':<22}{'calls/s':>8}{'errors':>8}  {'p50 / p99 ms per tool':<52}{'ARM req/s per tenant (max)':>28}")
    for r in rows:
        name = f"{r['replicas']} {'+ Redis' if r['shared'] else 'no Redis (alone)'}"
        tools = "; ".join(f"{t} {p50:.0f}/{p99:.0f} (n={n})" for t, (n, p50, p99) in r["tools"].items())
        arm = r["arm_per_tenant"]
        top = max(arm.values()) if arm else 0.0
        print(f"{name:<22}{r['rps']:>8.1f}{r['errors'] * 100:>7.2f}%  {tools:<52}{top:>10.2f}  "
              + ", ".join(f"{t} {v:.1f}" for t, v in sorted(arm.items())))
    allowed = args.budget + args.burst / args.duration
    over = [r for r in rows if r["shared"] and max(r["arm_per_tenant"].values() or [0]) > allowed * 1.05]
    print(f"budget held with Redis: {'yes' if not over else 'NO'} (allowed {allowed:.2f}/s per tenant including the burst)")


if __name__ == "__main__":
    main()
