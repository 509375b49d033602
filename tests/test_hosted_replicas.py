"""Stateless replicas sharing state in Redis: two ``sentinelkit serve --http`` processes behind a real nginx
(round-robin), a real ``redis-server`` — all started here on free 127.0.0.1 ports — and the emulator.

Whichever replica answers: discovery and reads one replica made serve the other, a paging cursor from
one continues on the other, a change previewed on one is confirmed on the other (and refused if it
changed meanwhile). Redis going away leaves the service answering from Azure, saying so, until it is back.
"""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastmcp import Client
from sentinelkit_devkit.emulator import emulator_environment
from sentinelkit_devkit.services import RedisServer, binary, free_port, nginx_balancer, replicas

pytestmark = pytest.mark.skipif(binary("redis-server") is None or binary("nginx") is None,
                                reason="needs redis-server and nginx from Debian (apt-get install redis-server nginx; "
                                       ".ci/run installs them)")

FABRIKAM = "law-fabrikam-prod"


@pytest.fixture(scope="module")
def cluster(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("hosted-replicas")
    env = emulator_environment(emulator.info, folder)
    config = folder / "sentinelkit.toml"
    lb_port = free_port()  # the name clients reach the replicas by: each replica must accept it as Host
    config.write_text(Path(env["SENTINELKIT_CONFIG"]).read_text()
                      + f'\n[http]\nstateless = true\nallowed_hosts = ["127.0.0.1:{lb_port}"]\n')
    with RedisServer(folder / "redis") as redis:
        env.update(SENTINELKIT_CONFIG=str(config), SENTINELKIT_REDIS_URL=redis.url,
                   SENTINELKIT_CACHE_DIR=str(folder / "schemas"))
        with replicas(env, 2, logs=folder) as (a, b), nginx_balancer([a, b], folder / "nginx", lb_port) as balancer:
            yield {"a": f"http://{a}/mcp", "b": f"http://{b}/mcp", "lb": f"{balancer}/mcp", "redis": redis}


def _arm_requests(emulator: Any) -> int:
    return sum(n for key, n in emulator.traffic()["requests"].items() if key.startswith("arm:"))


async def _call(url: str, tool: str, arguments: dict[str, Any] | None = None) -> Any:
    async with Client(url) as client:
        result = await client.call_tool(tool, arguments or {}, raise_on_error=False)
    assert not result.is_error, result.content
    return result.structured_content


async def test_discovery_by_one_replica_serves_the_other(emulator: Any, cluster: dict[str, Any]) -> None:
    first = await _call(cluster["a"], "workspace_list")
    before = _arm_requests(emulator)
    second = await _call(cluster["b"], "workspace_list")
    assert second == first and first["count"] > 1
    assert _arm_requests(emulator) == before  # the other replica's scan, from Redis: no ARM call


async def test_a_paging_cursor_from_one_replica_continues_on_the_other(emulator: Any, cluster: dict[str, Any]) -> None:
    page1 = await _call(cluster["a"], "incident_list", {"workspace": FABRIKAM, "limit": 3})
    _create_incident(emulator, FABRIKAM)  # newest first: a fresh re-read would shift page 2 by one
    page2 = await _call(cluster["b"], "incident_list", {"workspace": FABRIKAM, "limit": 3,
                                                        "cursor": page1["next_cursor"]})
    first, second = ([i["number"] for i in p["incidents"]] for p in (page1, page2))
    assert len(second) == 3 and not set(first) & set(second)
    assert first + second == sorted(first + second, reverse=True)  # created desc: one snapshot, in order


async def test_a_change_previewed_on_one_replica_is_confirmed_on_the_other(emulator: Any,
                                                                          cluster: dict[str, Any]) -> None:
    number = _create_incident(emulator, FABRIKAM)
    args = {"workspace": FABRIKAM, "incident_id": str(number), "classification": "FalsePositive",
            "classification_reason": "IncorrectAlertLogic"}
    preview = await _call(cluster["a"], "incident_close", args)
    assert preview["confirmation_required"] is True
    applied = await _call(cluster["b"], "incident_close", {**args, "confirm": True})
    assert "confirmation_required" not in applied
    assert _incident(emulator, FABRIKAM, number)["properties"]["status"] == "Closed"


async def test_a_confirmation_is_refused_when_the_change_is_no_longer_the_previewed_one(
        emulator: Any, cluster: dict[str, Any]) -> None:
    number = _create_incident(emulator, FABRIKAM)
    args = {"workspace": FABRIKAM, "incident_id": str(number), "classification": "BenignPositive",
            "classification_reason": "SuspiciousButExpected"}
    await _call(cluster["a"], "incident_close", args)
    _patch_incident(emulator, FABRIKAM, number, severity="Low")  # someone else changes it meanwhile
    refused = await _call(cluster["b"], "incident_close", {**args, "confirm": True})
    assert refused["changed_since_preview"] is True and refused["confirmation_required"] is True
    assert _incident(emulator, FABRIKAM, number)["properties"]["status"] != "Closed"
    applied = await _call(cluster["a"], "incident_close", {**args, "confirm": True})  # what was just shown
    assert "confirmation_required" not in applied
    assert _incident(emulator, FABRIKAM, number)["properties"]["status"] == "Closed"


async def test_a_question_asked_by_one_replica_is_answered_on_the_other(emulator: Any, cluster: dict[str, Any]) -> None:
    """2026-07-28 clients are asked (InputRequiredResult) and call again with the answer: through the
    round-robin balancer, the second call reaches the other replica."""
    number = _create_incident(emulator, FABRIKAM)
    asked: list[str] = []

    async def accept(message: str, response_type: Any, params: Any, context: Any) -> dict[str, bool]:
        asked.append(message)
        return {"confirm": True}

    async with Client(cluster["lb"], elicitation_handler=accept) as client:
        result = await client.call_tool("incident_close", {"workspace": FABRIKAM, "incident_id": str(number),
                                                           "classification": "Undetermined"})
    assert not result.is_error and asked and "confirmation_required" not in (result.structured_content or {})
    assert _incident(emulator, FABRIKAM, number)["properties"]["status"] == "Closed"


async def test_the_load_balancer_spreads_calls_over_both_replicas(cluster: dict[str, Any]) -> None:
    answers = [await _call(cluster["lb"], "workspace_list", {"tenant": "northwind"}) for _ in range(4)]
    assert all([w["name"] for w in a["workspaces"]] == ["law-northwind"] for a in answers)


async def test_without_redis_the_service_answers_from_azure_and_recovers(emulator: Any,
                                                                         cluster: dict[str, Any]) -> None:
    redis: RedisServer = cluster["redis"]
    redis.stop()
    try:
        before = _arm_requests(emulator)
        answer = await _call(cluster["a"], "incident_list", {"workspace": FABRIKAM, "limit": 2})
        assert answer["incidents"] and _arm_requests(emulator) > before
        status = (await _call(cluster["a"], "hosted_status"))["shared_state"]
        assert status["backend"] == "redis" and status["available"] is False
        assert "answering from Azure directly" in status["meanwhile"]
    finally:
        redis.start()
    deadline = time.monotonic() + 30  # a bound: the replica tries Redis again a second after a failure
    while not (await _call(cluster["a"], "hosted_status"))["shared_state"]["available"]:
        assert time.monotonic() < deadline, "the replica never found Redis again"
        time.sleep(0.5)
    await _call(cluster["a"], "workspace_list")  # shared again: the other replica reads this scan
    before = _arm_requests(emulator)
    await _call(cluster["b"], "workspace_list", {"refresh": False})
    assert _arm_requests(emulator) == before


# -- the emulator's ARM, as another actor would change it ---------------------------------------------
def _arm(emulator: Any) -> httpx.Client:
    principal = emulator.principal("sentinelkit-mssp")
    token = emulator.issue_token(client_id=principal["client_id"])
    return httpx.Client(base_url=emulator.info["arm_url"], timeout=30,
                        verify=ssl.create_default_context(cafile=emulator.info["ca_path"]),
                        headers={"Authorization": f"Bearer {token}"}, params={"api-version": "2025-09-01"})


def _incidents_path(emulator: Any, workspace: str) -> str:
    ws = next(w for w in emulator.info["workspaces"] if w["name"] == workspace)
    return f"{ws['id']}/providers/Microsoft.SecurityInsights/incidents"


def _create_incident(emulator: Any, workspace: str) -> int:
    with _arm(emulator) as arm:
        done = arm.put(f"{_incidents_path(emulator, workspace)}/{uuid.uuid4()}",
                       json={"properties": {"title": "Replica test", "severity": "High", "status": "New"}})
    done.raise_for_status()
    return int(done.json()["properties"]["incidentNumber"])


def _incident(emulator: Any, workspace: str, number: int) -> dict[str, Any]:
    with _arm(emulator) as arm:
        found = arm.get(_incidents_path(emulator, workspace),
                        params={"$filter": f"properties/incidentNumber eq {number}"}).json()["value"]
    return dict(found[0])


def _patch_incident(emulator: Any, workspace: str, number: int, **changes: Any) -> None:
    current = _incident(emulator, workspace, number)
    body = {"etag": current["etag"], "properties": {**current["properties"], **changes}}
    with _arm(emulator) as arm:
        arm.put(current["id"], json=body).raise_for_status()
