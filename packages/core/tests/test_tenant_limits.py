"""Per-tenant concurrency limits: with Lighthouse one credential reaches many customers, and ARM
throttles each of them separately, so the core bounds the requests in flight per target tenant.
Checked with the emulator's traffic statistics (peak requests in flight), not with timings."""

from __future__ import annotations

import asyncio
import types

import pytest
from fastmcp import Client

from sentinelkit import READ_ONLY, hookimpl, tool


@tool(READ_ONLY)
async def group_read_burst(kit, workspaces: list[str], reads: int = 6) -> int:
    """Reads each workspace's resource group ``reads`` times at once (a test tool).

    Args:
        workspaces: Workspaces whose resource groups to read.
        reads: Concurrent reads per workspace.
    """
    targets = [await kit.workspace(w) for w in workspaces]

    async def read(ws) -> None:
        rg = f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}"
        await kit.arm(ws).get(rg, "2024-03-01", cache=False)

    await asyncio.gather(*(read(ws) for ws in targets for _ in range(reads)))
    return len(targets) * reads


@hookimpl
def register_tools(register):
    register(group_read_burst)


async def test_requests_in_flight_are_bounded_per_tenant_not_globally(make_server, emulator) -> None:
    pack = types.SimpleNamespace(register_tools=register_tools, __name__="tests.burst")
    server = make_server(plugins={"burst": pack}, concurrency=2)
    emulator.add_fault(match={"service": "arm", "path": "/resourceGroups/[^/]+$"}, latency_ms=300)
    try:
        async with Client(server) as client:
            await client.call_tool("workspace_list", {})  # discovery first: only the burst is measured
            emulator.reset_traffic()
            result = await client.call_tool("group_read_burst",
                                            {"workspaces": ["law-northwind", "law-tailspin"], "reads": 6})
            assert result.content[0].text == "12"
    finally:
        emulator.clear_faults()
    peak = emulator.traffic()["max_in_flight"]
    assert peak["arm:northwind"] == 2 and peak["arm:tailspin"] == 2  # the limit, for each tenant at once


async def test_a_slow_customer_tenant_does_not_hold_back_the_others(make_server, emulator) -> None:
    """Through Lighthouse one credential reaches fabrikam, northwind and tailspin. fabrikam's resource group
    hangs: its two places fill, and the other customers' requests are all served meanwhile — the limit is the
    target tenant's, not the credential's (the probe passes no ``where``: the tenant comes from the path)."""
    pack = types.SimpleNamespace(register_tools=register_tools, __name__="tests.burst")
    server = make_server(plugins={"burst": pack}, concurrency=2)
    async with Client(server) as client:
        await client.call_tool("workspace_list", {})  # discovery first: only the burst is measured
        emulator.reset_traffic()
        emulator.add_fault(match={"service": "arm", "path": "/resourceGroups/rg-sentinel$", "tenant": "fabrikam"},
                           hang_seconds=4, count=2)
        try:
            burst = asyncio.create_task(client.call_tool(
                "group_read_burst", {"workspaces": ["law-fabrikam-prod", "law-northwind", "law-tailspin"], "reads": 4}))
            for _ in range(300):  # until the others are done (bounded: 15 s)
                served = emulator.traffic()["requests"]
                if served.get("arm:northwind") == 4 and served.get("arm:tailspin") == 4:
                    break
                await asyncio.sleep(0.05)
            assert not burst.done(), "fabrikam's hanging reads should still be in flight"
            assert served.get("arm:northwind") == 4 and served.get("arm:tailspin") == 4, served
            assert served.get("arm:fabrikam") == 2, served  # its limit is full; its other reads wait
            result = await burst
        finally:
            emulator.clear_faults()
    assert result.content[0].text == "12"
    traffic = emulator.traffic()  # the two hung reads answered 504 and were retried: 4 reads + 2 retries
    assert traffic["requests"]["arm:fabrikam"] == 6 and traffic["max_in_flight"]["arm:fabrikam"] == 2


@tool(READ_ONLY)
async def workspace_read_fan_out(kit) -> int:
    """Reads every Sentinel workspace once, through the core's fan-out (a test tool)."""
    targets = await kit.targets(workspaces="all")

    async def read(ws) -> None:
        await kit.arm(ws).get(ws.id, "2025-07-01", cache=False)

    done = await kit.fan_out(targets, read)
    assert not done.errors, done.error_messages()
    return len(done.results)


@hookimpl(specname="register_tools")
def register_fan_out(register):
    register(workspace_read_fan_out)


@pytest.fixture(scope="module")
def world():
    """A generated MSSP world (the emulator's --tenants/--workspaces-per-tenant): 4 customers x 5 workspaces."""
    from sentinelkit_emulator import Emulator

    with Emulator(tenants=4, workspaces_per_tenant=5) as emu:
        yield emu


async def test_a_wide_fan_out_keeps_each_tenant_under_its_limit_and_a_slow_tenant_holds_back_no_other(
        world, monkeypatch, tmp_path) -> None:
    """20 workspaces in 4 tenants, at most 2 requests per tenant, 64 workspaces at once: customer-001's first
    two reads hang. Its limit is full, so its other reads wait; every other tenant's reads are all served
    meanwhile (with one number capping both, as before, the two hung reads held the whole fan-out)."""
    from sentinelkit_devkit.emulator import emulator_environment

    from sentinelkit.packs import PackManager
    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings

    for key, value in emulator_environment(world.info, tmp_path).items():
        monkeypatch.setenv(key, value)
    settings = load_settings(concurrency=2, fan_out_concurrency=64)
    manager = PackManager(settings=settings, entry_points=False)
    manager.add(types.SimpleNamespace(register_tools=register_fan_out, __name__="tests.fanout"), "fanout")
    server = build_server(settings, manager)
    slow, others = "customer-001", ("customer-002", "customer-003", "customer-004")
    async with Client(server) as client:
        await client.call_tool("workspace_list", {})  # discovery first: only the fan-out is measured
        world.reset_traffic()
        world.add_fault(match={"service": "arm", "tenant": slow, "path": "/workspaces/[^/]+$"}, hang_seconds=4,
                        count=2)
        world.add_fault(match={"service": "arm", "path": "/workspaces/[^/]+$"}, latency_ms=100)
        try:
            call = asyncio.create_task(client.call_tool("workspace_read_fan_out", {}))
            for _ in range(300):  # until the other tenants are done (bounded: 15 s)
                served = world.traffic()["requests"]
                if all(served.get(f"arm:{t}") == 5 for t in others):
                    break
                await asyncio.sleep(0.05)
            assert not call.done(), "the slow tenant's hung reads should still be in flight"
            assert all(served.get(f"arm:{t}") == 5 for t in others), served
            assert served.get(f"arm:{slow}") == 2, served  # its limit is full; its other reads wait
            result = await call
        finally:
            world.clear_faults()
    assert result.content[0].text == "20"
    traffic = world.traffic()  # the two hung reads answered 504 and were retried: 5 reads + 2 retries
    assert traffic["requests"][f"arm:{slow}"] == 7
    assert {t: traffic["max_in_flight"][f"arm:{t}"] for t in (slow, *others)} == dict.fromkeys((slow, *others), 2)
