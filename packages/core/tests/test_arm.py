"""The ARM client packs use: paging through nextLink, and the read cache."""

from __future__ import annotations

from fastmcp import Client

from sentinelkit.server import runtime_of


async def test_list_follows_next_links_across_pages(make_server) -> None:
    server = make_server()
    runtime = runtime_of(server)
    async with Client(server):
        ws = await runtime.workspaces.resolve("law-fabrikam-prod")
        arm = runtime.arm(ws.via)
        path = f"{ws.id}/providers/Microsoft.SecurityInsights/incidents"
        pages = [page async for page in arm.iter_pages(path, "2025-09-01", params={"$top": 5})]
        everything = await arm.list(path, "2025-09-01", params={"$top": 5})
        capped = await arm.list(path, "2025-09-01", params={"$top": 5}, max_items=7)
    assert len(pages) > 2 and all(len(p) <= 5 for p in pages)
    assert len(everything) == sum(len(p) for p in pages) >= 12
    assert len({i["name"] for i in everything}) == len(everything)
    assert len(capped) == 7
