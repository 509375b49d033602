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
