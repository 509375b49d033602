"""How long does the emulator take to seed its scenario and to start? Seconds per seeder, rows, spawn-to-ready.

The scenario is rebuilt at every start and every reset, so its seeding is the emulator's start-up.
This measures, in this process, ``build_store()`` (median and best of ``--runs``, wall and CPU time) with
each seeder's CPU time and that of the connector data sources (Defender XDR, AWS, DNS, UEBA, TI), the log rows
seeded; then, as separate processes, the time from spawning the emulator to its start-up JSON line
(median of ``--starts``) and the first query of a connector table (its rows are loaded into DuckDB then).

    python benchmarks/emulator_seed.py [--runs 5] [--starts 3]

To compare two versions, run it with ``PYTHONPATH=<other tree>/packages/emulator/src`` as well.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from emulator_throughput import start_emulator, token  # noqa: E402

SEEDERS_MODULE = "sentinelkit_emulator.scenario"


def timed_build(scenario: str) -> tuple[float, dict[str, float], float, Any, float]:
    """One ``build_store``: wall seconds, CPU seconds per seeder and in the connector sources, the store, and
    the total in CPU seconds (this process's own time: steadier than wall time on a busy machine)."""
    package = importlib.import_module(SEEDERS_MODULE)
    per_seeder: dict[str, float] = {}
    sources = [0.0]
    original_load: Callable[[str], Any] = package._load

    def load(path: str) -> Any:
        seeder = original_load(path)

        def run(*args: Any) -> None:
            start = time.process_time()
            seeder(*args)
            per_seeder[path.rsplit(":", 1)[1]] = time.process_time() - start
        return run

    logs = importlib.import_module(f"{SEEDERS_MODULE}.logs")
    original_sources = getattr(logs, "seed_sources", None)  # absent before the connector data sources

    def seed_sources(*args: Any) -> None:
        start = time.process_time()
        assert original_sources is not None
        original_sources(*args)
        sources[0] += time.process_time() - start

    package._load = load
    if original_sources is not None:
        logs.seed_sources = seed_sources
    try:
        gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        store = package.build_store(scenario)
        total, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        package._load = original_load
        if original_sources is not None:
            logs.seed_sources = original_sources
    return total, per_seeder, sources[0], store, cpu


def row_counts(store: Any) -> tuple[int, dict[str, int]]:
    """All log rows, and rows per table summed over workspaces."""
    per_table: dict[str, int] = defaultdict(int)
    for tables in store.logs.values():
        for table, rows in tables.items():
            per_table[table] += len(rows)
    return sum(per_table.values()), dict(per_table)


def start_and_first_query(table: str) -> tuple[float, float]:
    """Spawn the emulator: seconds to its JSON line, and to the answer of a first query of ``table``."""
    import signal
    import ssl

    proc, info, startup = start_emulator()
    try:
        workspace = next(w for w in info["workspaces"] if w["name"] == "law-fabrikam-prod")
        headers = {"Authorization": "Bearer " + token(info, "https://api.loganalytics.io/.default")}
        url = f"{info['logs_url']}/v1/workspaces/{workspace['customer_id']}/query"
        start = time.perf_counter()
        response = httpx.post(url, json={"query": f"{table} | count"}, headers=headers,
                              verify=ssl.create_default_context(cafile=info["ca_path"]), timeout=60)
        first = time.perf_counter() - start
        if response.status_code != 200:
            first = float("nan")  # the table does not exist in this version
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    return startup, first


def main(runs: int, starts: int, scenario: str) -> None:
    builds = [timed_build(scenario) for _ in range(runs)]
    totals = [b[0] for b in builds]
    rows, per_table = row_counts(builds[-1][3])
    module = importlib.import_module(SEEDERS_MODULE)
    print(f"sentinelkit_emulator from {Path(module.__file__ or '').parent.parent}")
    print(f"build_store({scenario!r}) over {runs} runs: median {statistics.median(totals):.2f} s, "
          f"best {min(totals):.2f} s (CPU: median {statistics.median(b[4] for b in builds):.2f} s); "
          f"{rows} log rows in {len(per_table)} tables")
    for name in builds[0][1]:
        print(f"  {name:16} median {statistics.median(b[1][name] for b in builds):.2f} s CPU")
    connector = [b[2] for b in builds]
    if any(connector):
        connector_tables = ("Device", "Email", "Identity", "AWSCloudTrail", "DnsEvents", "BehaviorAnalytics",
                            "ThreatIntelligenceIndicator")
        connector_rows = sum(n for t, n in per_table.items() if t.startswith(connector_tables))
        print(f"  of which connector sources: median {statistics.median(connector):.2f} s CPU, "
              f"{connector_rows} rows ({connector_rows / rows:.0%})")
    if starts:
        figures = [start_and_first_query("DeviceProcessEvents") for _ in range(starts)]
        print(f"emulator spawn to start-up JSON line over {starts} starts: median "
              f"{statistics.median(f[0] for f in figures):.2f} s, best {min(f[0] for f in figures):.2f} s")
        print(f"first query 'DeviceProcessEvents | count' (loads the table): median "
              f"{statistics.median(f[1] for f in figures) * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="in-process build_store runs (default 5)")
    parser.add_argument("--starts", type=int, default=3, help="emulator processes spawned (default 3; 0: none)")
    parser.add_argument("--scenario", default="mssp", help="scenario name (default mssp)")
    args = parser.parse_args()
    main(args.runs, args.starts, args.scenario)
