"""KQL validation benchmark: what Microsoft's parser (Kusto.Language in V8) costs in sentinelkit-kql.

Measures, for the published Sentinel queries kept as test data (packages/kql/tests/data) against
Sentinel's own table schemas: importing the package, loading V8 and the parser, the first check,
a warm syntax-only parse and a warm parse + schema check per query, the resident memory before and
after loading, and the syntax-only fallback (duckdb-kql's grammar) on the same queries.

    python benchmarks/kql_validate.py [--runs 5] [--rounds 5]

Cold figures (import, load, first check, memory) come from ``--runs`` fresh processes (medians);
warm figures from ``--rounds`` passes over every query in one process (median and p95 per query).
The parser is fetched into the user cache first if it is not there (one download, ~3.5 MB).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KQL = ROOT / "packages" / "kql"
sys.path[:0] = [str(KQL / "src")]

from sentinelkit_kql import KqlValidator, Schema, Table, package  # noqa: E402

DATA = KQL / "tests" / "data"

COLD = r'''
import json, sys, time
t0 = time.perf_counter()
import sentinelkit_kql as k
t1 = time.perf_counter()

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

data = json.loads(sys.stdin.read())
schema = k.Schema([k.Table(n, [tuple(c) for c in cols]) for n, cols in data["tables"].items()])
before = rss_mb()
v = k.KqlValidator(require_microsoft=True)
t2 = time.perf_counter()
v.load()
t3 = time.perf_counter()
r = v.validate(data["query"], schema)
t4 = time.perf_counter()
assert r.engine == "microsoft", r.reason
print(json.dumps({"import": t1 - t0, "load": t3 - t2, "first": t4 - t3, "rss_before": before,
                  "rss_after": rss_mb()}))
'''


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def load_data() -> tuple[dict[str, list[list[str]]], list[str]]:
    tables = {n: t["columns"] for n, t in json.loads((DATA / "sentinel_tables.json").read_text())["tables"].items()}
    entries = json.loads((DATA / "sentinel_queries.json").read_text())["queries"]
    return tables, [(DATA / e["file"]).read_text() for e in entries]


def per_query_ms(check: object, queries: list[str], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter()
            check(q)  # type: ignore[operator]
            times.append((time.perf_counter() - t) * 1000)
    return times


def main(args: argparse.Namespace) -> None:
    print(f"parser files: {package.ensure()}")
    tables, queries = load_data()
    schema = Schema([Table(n, [(c, t) for c, t in cols]) for n, cols in tables.items()])
    first_query = queries[0]

    cold = []
    for _ in range(args.runs):
        done = subprocess.run([sys.executable, "-c", COLD], input=json.dumps({"tables": tables, "query": first_query}),
                              capture_output=True, text=True, check=True, env={"PYTHONPATH": str(KQL / "src"),
                                                                                "HOME": str(Path.home())})
        cold.append(json.loads(done.stdout))
    med = {key: statistics.median(c[key] for c in cold) for key in cold[0]}
    print(f"cold, median of {args.runs} fresh processes: import {med['import'] * 1000:.0f} ms, "
          f"load V8 + parser {med['load'] * 1000:.0f} ms, first check (declares {len(tables)} tables) "
          f"{med['first'] * 1000:.0f} ms")
    print(f"resident memory: {med['rss_before']:.0f} MB before loading, {med['rss_after']:.0f} MB after "
          f"(+{med['rss_after'] - med['rss_before']:.0f} MB)")

    v = KqlValidator(require_microsoft=True)
    v.load()
    v.validate(first_query, schema)
    parse = per_query_ms(lambda q: v.validate(q), queries, args.rounds)
    full = per_query_ms(lambda q: v.validate(q, schema), queries, args.rounds)
    v.close()
    size = statistics.median(len(q) for q in queries)
    print(f"warm, {len(queries)} published queries (median {size:.0f} chars) x {args.rounds} rounds:")
    print(f"  parse only:           median {statistics.median(parse):.2f} ms, p95 {pct(parse, 0.95):.2f} ms")
    print(f"  parse + schema check: median {statistics.median(full):.2f} ms, p95 {pct(full, 0.95):.2f} ms")

    from sentinelkit_kql import fallback

    syntax = per_query_ms(lambda q: fallback.check_syntax(q, "benchmark"), queries, args.rounds)
    print(f"  syntax-only fallback (duckdb-kql): median {statistics.median(syntax):.2f} ms, "
          f"p95 {pct(syntax, 0.95):.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes for the cold figures")
    parser.add_argument("--rounds", type=int, default=5, help="passes over every query for the warm figures")
    main(parser.parse_args())
