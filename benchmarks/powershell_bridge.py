"""PowerShell bridge benchmark: call round-trip and pool throughput through the fake host.

pwsh cannot be installed on the build machines, so this measures the bridge itself (process
handling, JSON-lines protocol, pool) against ``packages/pack-powershell/tests/support/fake_host.py``,
which answers at once: the figures are the bridge's overhead, not PowerShell's.

    python benchmarks/powershell_bridge.py [--calls 300] [--pool 1 2 4] [--size 1000]

Prints, per measurement: median and p95 round-trip of sequential calls on a warm host, cold start
(spawn → ready), throughput of concurrent calls for each pool size, and the cost of a large output.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "packages" / "pack-powershell"
sys.path[:0] = [str(PACK / "src"), str(ROOT / "packages" / "core" / "src")]

from sentinelkit_powershell.bridge import PowerShellBridge  # noqa: E402
from sentinelkit_powershell.catalog import build_catalog  # noqa: E402
from sentinelkit_powershell.settings import PowerShellSettings  # noqa: E402

SCRIPT = PACK / "tests" / "data" / "Behaviours.ps1"
FAKE = PACK / "tests" / "support" / "fake_host.py"


def bridge(pool: int) -> PowerShellBridge:
    settings = PowerShellSettings(scripts=[SCRIPT], host_command=[sys.executable, str(FAKE)], pool_size=pool)
    catalog = build_catalog(settings)
    return PowerShellBridge(settings, {n: g.function for n, g in catalog.tools.items()})


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


async def main(args: argparse.Namespace) -> None:
    b = bridge(1)
    start = time.perf_counter()
    await b.invoke("Get-Pid", {}, read_only=True)
    cold = (time.perf_counter() - start) * 1000
    rtts = []
    for i in range(args.calls):
        t = time.perf_counter()
        await b.invoke("Get-Echo", {"Text": "x" * 64, "Number": i}, read_only=True)
        rtts.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    big = await b.invoke("Get-Huge", {"Count": 1000, "Size": args.size}, read_only=True)
    big_ms = (time.perf_counter() - t) * 1000
    await b.aclose()
    print(f"cold start (spawn fake host → ready → first answer): {cold:.1f} ms")
    print(f"round-trip, warm host, {args.calls} sequential calls: median {statistics.median(rtts):.3f} ms, "
          f"p95 {pct(rtts, 0.95):.3f} ms")
    print(f"large output: 1000 objects × {args.size} chars ({len(big.output)} items, "
          f"~{1000 * (args.size + 20) / 1e6:.1f} MB of JSON) in {big_ms:.1f} ms")
    for pool in args.pool:
        b = bridge(pool)
        await asyncio.gather(*(b.invoke("Get-Pid", {}, read_only=True) for _ in range(pool)))  # warm every host
        t = time.perf_counter()
        await asyncio.gather(*(b.invoke("Get-Echo", {"Number": i}, read_only=True) for i in range(args.calls)))
        elapsed = time.perf_counter() - t
        t = time.perf_counter()
        await asyncio.gather(*(b.invoke("Get-Slow", {"Seconds": 0.05}, read_only=True) for _ in range(pool * 4)))
        slow = time.perf_counter() - t
        await b.aclose()
        print(f"pool {pool}: {args.calls / elapsed:,.0f} calls/s (instant calls); {pool * 4} calls of 50 ms "
              f"in {slow * 1000:.0f} ms (ideal {4 * 50} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--pool", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--size", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
