"""The validator as a long-lived service: one V8 for many threads and tasks, cheap to import, lazy,
and a process that used it still exits."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sentinelkit_kql import KqlValidator, Result, Schema, Table, package

SCHEMA = Schema([Table.parse("T(a:string, b:long)")])


def expected(query: str) -> list[str]:
    """The mistake each generated query contains (none for even numbers)."""
    return [] if "nope" not in query else ["KS142"]


def queries(n: int) -> list[str]:
    return [f"T | where b == {i}" if i % 2 == 0 else f"T | where nope{i} == {i}" for i in range(n)]


def test_many_threads_share_one_validator(validator: KqlValidator) -> None:
    qs = queries(60)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda q: validator.validate(q, SCHEMA), qs))
    assert [[d.code for d in r.diagnostics] for r in results] == [expected(q) for q in qs]
    for q, r in zip(qs, results, strict=True):
        assert r.query == q and all(q[d.start:d.start + d.length].startswith("nope") for d in r.diagnostics)


async def test_tasks_validate_without_blocking_the_loop(validator: KqlValidator) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beat = asyncio.create_task(ticker())
    qs = queries(20)
    results = await asyncio.gather(*(validator.avalidate(q, SCHEMA) for q in qs))
    beat.cancel()
    assert [[d.code for d in r.diagnostics] for r in results] == [expected(q) for q in qs]
    assert ticks > len(qs)  # the loop kept running while V8 worked


def test_a_validator_made_inside_an_event_loop_works_after_the_loop_is_gone(parser_cache: Path) -> None:
    """mini-racer adopts a running loop if it finds one; this validator must not depend on that loop."""
    async def make() -> KqlValidator:
        v = KqlValidator(cache_dir=parser_cache, allow_download=False, require_microsoft=True)
        assert (await v.avalidate("T | take 1", SCHEMA)).ok
        v.validate("T | take 1", SCHEMA)  # also synchronously, on the loop's own thread
        return v

    v = asyncio.run(make())
    outcome: list[Result] = []
    worker = threading.Thread(target=lambda: outcome.append(v.validate("T | where zz == 1", SCHEMA)), daemon=True)
    worker.start()
    worker.join(120)  # a guard against a hang, not a measurement
    assert not worker.is_alive(), "validation hung after the loop that created the validator closed"
    assert [d.code for d in outcome[0].diagnostics] == ["KS142"]
    v.close()


def test_close_frees_v8_and_the_next_validation_loads_it_again(parser_cache: Path) -> None:
    v = KqlValidator(cache_dir=parser_cache, allow_download=False, require_microsoft=True)
    assert v.engine is None
    assert v.validate("T | take 1", SCHEMA).engine == "microsoft"
    v.close()
    assert v.engine is None
    assert v.validate("T | where x == 1", SCHEMA).errors[0].code == "KS142"
    v.close()


def test_a_check_that_runs_too_long_falls_back_and_the_parser_recovers(parser_cache: Path) -> None:
    v = KqlValidator(cache_dir=parser_cache, allow_download=False, timeout=0.0001)
    slow = v.validate("T | where b == 1 | where c == 2", SCHEMA)
    assert (slow.engine, slow.complete) == ("syntax-only", False)
    assert slow.reason == ("Microsoft's KQL parser did not finish within 0.0001 s; only the syntax was checked, "
                           "with duckdb-kql's ANTLR grammar")
    v.timeout = 30
    again = v.validate("T | where b == 1 | where c == 2", SCHEMA)
    assert again.engine == "microsoft" and [d.code for d in again.diagnostics] == ["KS142"], again.reason
    v.close()


def test_many_schemas_in_turn(validator: KqlValidator) -> None:
    """More workspaces than the parser keeps declared at once: each still gets its own columns."""
    for i in range(40):
        schema = Schema([Table("T", {f"c{i}": "string"})])
        assert validator.validate(f"T | where c{i} == 'x'", schema).ok
        assert validator.validate(f"T | where c{i + 1} == 'x'", schema).errors[0].code == "KS142"


def run_python(code: str, parser_cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SENTINELKIT_CACHE_DIR": str(parser_cache), package.REGISTRY_ENV: "http://127.0.0.1:9"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env,
                          check=False)


def test_importing_loads_nothing_heavy(parser_cache: Path) -> None:
    done = run_python(
        "import sys, sentinelkit_kql, sentinelkit_kql.engine as e\n"
        "heavy = [m for m in ('py_mini_racer', 'duckdb_kql', 'antlr4', 'urllib.request', 'tarfile') if m in sys.modules]\n"
        "print(heavy, e._shared)\n", parser_cache)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] None"


def test_a_process_that_validated_exits_normally(parser_cache: Path) -> None:
    """V8 is torn down at exit (otherwise mini-racer's finaliser hangs the interpreter)."""
    done = run_python(
        "import sentinelkit_kql as k\n"
        "r = k.validate('T | where x == 1', k.Schema([k.Table.parse('T(a:string)')]))\n"
        "print(k.shared_validator() is k.shared_validator(), r.engine, [d.code for d in r.diagnostics])\n",
        parser_cache)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True microsoft ['KS142']"
