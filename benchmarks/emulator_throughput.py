"""How fast is the emulator? Requests/s and p50/p99 latency of a GET incident and a KQL query.

Later fan-out benchmarks inject 200 ms of latency per call; this shows the emulator itself is far
from being their bottleneck. The emulator runs as its own process (as in the demo); the load comes
from this process over loopback, bounded in count, and stops by itself.

    python -m hatch run bench            # or: python benchmarks/emulator_throughput.py --requests 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import ssl
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx


def start_emulator() -> tuple[subprocess.Popen[str], dict[str, Any], float]:
    """Spawn the console script; also return the seconds from spawn to its start-up JSON line."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sentinelkit_emulator", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, info, time.perf_counter() - start


def token(info: dict[str, Any], scope: str) -> str:
    managing = next(t for t in info["tenants"] if t["role"] == "managing")
    r = httpx.post(
        f"{info['authority_url']}/{managing['id']}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": managing["client_id"],
              "client_secret": managing["client_secret"], "scope": scope},
        verify=ssl.create_default_context(cafile=info["ca_path"]),
    )
    r.raise_for_status()
    return r.json()["access_token"]


async def load(name: str, make_request: Any, total: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    queue = iter(range(total))
    errors = 0

    async def worker() -> None:
        nonlocal errors
        for _ in queue:
            start = time.perf_counter()
            response = await make_request()
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "name": name,
        "requests": total,
        "errors": errors,
        "rps": total / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def main(requests: int, queries: int, concurrency: int) -> None:
    proc, info, startup = start_emulator()
    try:
        workspace = next(w for w in info["workspaces"] if w["name"] == "law-fabrikam-prod")
        arm_headers = {"Authorization": "Bearer " + token(info, "https://management.azure.com/.default")}
        logs_headers = {"Authorization": "Bearer " + token(info, "https://api.loganalytics.io/.default")}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=info["ca_path"]), limits=limits, timeout=30) as client:
            incidents_url = (f"{info['arm_url']}{workspace['id']}/providers/Microsoft.SecurityInsights/incidents")
            listing = await client.get(incidents_url, params={"api-version": "2025-09-01", "$top": "1"},
                                       headers=arm_headers)
            listing.raise_for_status()
            incident_url = f"{info['arm_url']}{listing.json()['value'][0]['id']}?api-version=2025-09-01"
            query_url = f"{info['logs_url']}/v1/workspaces/{workspace['customer_id']}/query"
            kql = "SecurityIncident | where TimeGenerated > ago(7d) | summarize count() by Severity, Status"
            await client.post(query_url, json={"query": kql}, headers=logs_headers)  # warm the table cache
            results = [
                await load("GET incident", lambda: client.get(incident_url, headers=arm_headers), requests,
                           concurrency),
                await load("KQL query (summarize, 7 days)",
                           lambda: client.post(query_url, json={"query": kql}, headers=logs_headers),
                           queries, concurrency),
            ]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    print(f"emulator start-up (spawn to JSON line, scenario seeded): {startup:.2f} s")
    print(f"emulator on loopback, {concurrency} concurrent connections from one client process\n")
    print(f"{'request':32} {'count':>6} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(f"{r['name']:32} {r['requests']:>6} {r['errors']:>6} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="GET incident requests (default 2000)")
    parser.add_argument("--queries", type=int, default=300, help="KQL queries (default 300)")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.queries, args.concurrency))
