"""Per-tenant concurrency limits: with Lighthouse one credential reaches many customers, and ARM
throttles each of them separately, so the core bounds the requests in flight per target tenant.
Checked with the emulator's traffic statistics (peak requests in flight), not with timings."""

from __future__ import annotations

import asyncio
import types

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
