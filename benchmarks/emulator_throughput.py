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
import multiprocessing
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


async def _drive(method: str, url: str, headers: dict[str, str], body: Any, total: int, concurrency: int,
                 ca_path: str) -> tuple[list[float], int]:
    """One client process: ``total`` requests over ``concurrency`` keep-alive connections."""
    latencies: list[float] = []
    errors = 0
    remaining = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=ca_path), limits=limits,
                                 timeout=30) as client:
        async def worker() -> None:
            nonlocal errors
            for _ in remaining:
                start = time.perf_counter()
                response = await client.request(method, url, headers=headers, json=body)
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def _client_process(args: tuple[str, str, dict[str, str], Any, int, int, str]) -> tuple[list[float], int]:
    return asyncio.run(_drive(*args))


def load(name: str, method: str, url: str, headers: dict[str, str], body: Any, total: int, concurrency: int,
         clients: int, ca_path: str) -> dict[str, Any]:
    """Spread ``total`` requests over ``clients`` processes (one Python client cannot saturate the server)."""
    share = [total // clients + (i < total % clients) for i in range(clients)]
    start = time.perf_counter()
    with multiprocessing.Pool(clients) as pool:
        parts = pool.map(_client_process, [(method, url, headers, body, n, concurrency, ca_path) for n in share])
    elapsed = time.perf_counter() - start
    latencies = sorted(lat for part, _ in parts for lat in part)
    return {
        "name": name,
        "requests": total,
        "errors": sum(e for _, e in parts),
        "rps": total / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
    }


def main(requests: int, queries: int, concurrency: int, clients: int) -> None:
    proc, info, startup = start_emulator()
    try:
        workspace = next(w for w in info["workspaces"] if w["name"] == "law-fabrikam-prod")
        arm_headers = {"Authorization": "Bearer " + token(info, "https://management.azure.com/.default")}
        logs_headers = {"Authorization": "Bearer " + token(info, "https://api.loganalytics.io/.default")}
        verify = ssl.create_default_context(cafile=info["ca_path"])
        incidents_url = f"{info['arm_url']}{workspace['id']}/providers/Microsoft.SecurityInsights/incidents"
        listing = httpx.get(incidents_url, params={"api-version": "2025-09-01", "$top": "1"}, headers=arm_headers,
                            verify=verify)
        listing.raise_for_status()
        incident_url = f"{info['arm_url']}{listing.json()['value'][0]['id']}?api-version=2025-09-01"
        query_url = f"{info['logs_url']}/v1/workspaces/{workspace['customer_id']}/query"
        kql = {"query": "SecurityIncident | where TimeGenerated > ago(7d) | summarize count() by Severity, Status"}
        # warm caches (the first query loads the engine and the table: seconds on a busy machine)
        httpx.post(query_url, json=kql, headers=logs_headers, verify=verify, timeout=120).raise_for_status()
        results = [
            load("GET incident", "GET", incident_url, arm_headers, None, requests, concurrency, clients,
                 info["ca_path"]),
            load("KQL query (summarize, 7 days)", "POST", query_url, logs_headers, kql, queries, concurrency,
                 clients, info["ca_path"]),
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    print(f"emulator start-up (spawn to JSON line, scenario seeded): {startup:.2f} s")
    print(f"emulator on loopback; load from {clients} client processes x {concurrency} connections\n")
    print(f"{'request':32} {'count':>6} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(f"{r['name']:32} {r['requests']:>6} {r['errors']:>6} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="GET incident requests (default 2000)")
    parser.add_argument("--queries", type=int, default=300, help="KQL queries (default 300)")
    parser.add_argument("--concurrency", type=int, default=4, help="connections per client process (default 4)")
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    args = parser.parse_args()
    main(args.requests, args.queries, args.concurrency, args.clients)
