"""Shared state between replicas: two ``RedisState`` objects on one real ``redis-server`` stand for two
replicas (the end-to-end version, through nginx and MCP clients, is tests/test_hosted_replicas.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sentinelkit_devkit.services import RedisServer, binary

from sentinelkit.sharedstate import RedisState, SharedState, redacted_url

needs_redis = pytest.mark.skipif(binary("redis-server") is None, reason="needs redis-server (apt-get install "
                                                                         "redis-server; .ci/run installs it)")
INCIDENTS = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.operationalinsights/workspaces/w/providers/" \
            "microsoft.securityinsights/incidents"


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


def test_one_process_budget_lets_a_burst_through_then_spaces_requests() -> None:
    state = SharedState()
    waits = [state.reserve("arm:t1", rate=10, burst=3) for _ in range(6)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == sorted(waits[3:]) and waits[5] == pytest.approx(0.3, abs=0.05)
    assert state.reserve("arm:t2", rate=10, burst=3) == 0  # another tenant has its own bucket


@needs_redis
def test_replicas_draw_from_one_bucket_per_tenant(redis: RedisServer) -> None:
    a, b = RedisState(redis.url, "t"), RedisState(redis.url, "t")
    waits = [(a if i % 2 else b).reserve("arm:fabrikam", rate=10, burst=4) for i in range(10)]
    assert waits[:4] == [0, 0, 0, 0]
    # every further request, whichever replica sends it, waits one more tenth of a second
    assert waits[4:] == sorted(waits[4:]) and waits[9] == pytest.approx(0.6, abs=0.1)
    assert a.reserve("arm:northwind", rate=10, burst=4) == 0


@needs_redis
def test_a_write_on_one_replica_invalidates_the_reads_of_the_other(redis: RedisServer) -> None:
    a, b = RedisState(redis.url, "t").cache(300), RedisState(redis.url, "t").cache(300)
    a.put("default", f"{INCIDENTS}?$top=50", {"value": [1, 2]})
    a.put("default", "/subscriptions/s2/providers/x", {"other": True})
    assert b.get("default", f"{INCIDENTS}?$top=50") == {"value": [1, 2]}
    assert b.invalidate_write(f"{INCIDENTS}/abc") == 1
    assert a.get("default", f"{INCIDENTS}?$top=50") is None
    assert a.get("default", "/subscriptions/s2/providers/x") == {"other": True}  # another subscription: kept


@needs_redis
def test_redis_down_means_no_cache_then_a_missed_invalidation_clears_it(redis: RedisServer) -> None:
    state = RedisState(redis.url, "t")
    cache = state.cache(300)
    cache.put("default", INCIDENTS, {"before": True})
    redis.stop()
    assert cache.get("default", INCIDENTS) is None  # reads go to Azure
    cache.invalidate_write(f"{INCIDENTS}/abc")  # cannot reach Redis: remembered
    status = state.status()
    assert status["available"] is False and "Azure directly" in status["meanwhile"]
    state.set_json("pending:x", "digest", 60)  # confirmations fall back to this process
    assert state.pop_json("pending:x") == "digest"
    redis.start()  # a Redis that kept its data (a partition, not a restart)
    RedisState(redis.url, "t").cache(300).put("default", INCIDENTS, {"stale": True})
    state.link._next_try = 0  # the retry delay has passed
    assert state.status()["available"] is True
    assert cache.get("default", INCIDENTS) is None  # cleared: the write it missed may have made it stale


def test_a_redis_password_never_shows() -> None:
    assert redacted_url("redis://:s3cret@cache.internal:6380/2") == "redis://:***@cache.internal:6380/2"


@needs_redis
async def test_config_check_reports_the_shared_state(sentinelkit_settings, redis: RedisServer) -> None:
    from sentinelkit.check import run_check

    lines: list[str] = []
    settings = sentinelkit_settings.model_copy(update={"redis_url": redis.url})
    await run_check(settings, out=lines.append)
    assert f"OK   shared state: Redis at {redis.url}" in lines
    redis.stop()
    lines.clear()
    await run_check(settings, out=lines.append)
    assert any(line.startswith("WARN shared state") and "unreachable" in line for line in lines), lines
