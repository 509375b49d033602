"""incident_list through a real MCP client (in-process fastmcp.Client) against the emulator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from incidents_testkit import SEEDED, WORKSPACES, data, error, every_row

from sentinelkit import KitError
from sentinelkit_incidents.listing import _token

COMPACT = {"id", "number", "title", "severity", "status", "owner", "created", "tenant", "workspace"}


async def test_one_workspace_compact_rows_newest_first(mcp_client) -> None:
    page = data(await mcp_client.call_tool("incident_list", {"workspace": "law-northwind", "limit": 10}))
    assert page["count"] == 10 and "next_cursor" in page and "total" not in page  # known on the last page
    rows = page["incidents"]
    assert all(set(r) == COMPACT for r in rows)
    assert {(r["tenant"], r["workspace"]) for r in rows} == {("northwind", "law-northwind")}
    created = [r["created"] for r in rows]
    assert created == sorted(created, reverse=True)
    assert rows[0]["number"] == SEEDED["law-northwind"]  # numbered in creation order


async def test_cursor_pages_neither_repeat_nor_skip(mcp_client) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        args = {"workspace": "law-tailspin", "limit": 30, **({"cursor": cursor} if cursor else {})}
        page = data(await mcp_client.call_tool("incident_list", args))
        seen += [r["number"] for r in page["incidents"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert sorted(seen) == list(range(1, SEEDED["law-tailspin"] + 1))


async def test_planted_backlog_is_found_by_its_filter(mcp_client) -> None:
    args = {"severity": "high", "status": "New", "owner": "unassigned", "created_before": "P7D"}
    one = data(await mcp_client.call_tool("incident_list", {"workspace": "law-fabrikam-prod", **args}))
    assert one["total"] == 12
    assert all(r["owner"] is None and r["severity"] == "High" and r["status"] == "New" for r in one["incidents"])
    week_ago = datetime.now(UTC) - timedelta(days=7)
    assert all(datetime.fromisoformat(r["created"].replace("Z", "+00:00")[:26] + "+00:00") < week_ago
               for r in one["incidents"])
    as_time = {**args, "created_before": week_ago.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert data(await mcp_client.call_tool("incident_list", {"workspace": "law-fabrikam-prod", **as_time}))["total"] == 12
    everywhere = data(await mcp_client.call_tool("incident_list", {"workspaces": "all", **args, "limit": 50}))
    assert everywhere["total"] == 12 and everywhere["workspaces"] == 5 and "errors" not in everywhere
    assert {r["workspace"] for r in everywhere["incidents"]} == {"law-fabrikam-prod"}


async def test_small_pages_over_all_workspaces_follow_the_merged_order(mcp_client) -> None:
    """Each workspace is first asked for a share of the page (5 of 7 rows here) and read on when its rows
    could fill it: page after page is exactly the merged stream of one big page."""
    fields = ["number", "workspace", "created"]
    whole = data(await mcp_client.call_tool("incident_list", {"workspaces": "all", "limit": 70, "fields": fields}))
    paged: list[dict[str, object]] = []
    cursor = None
    for _ in range(10):
        args = {"workspaces": "all", "limit": 7, "fields": fields, **({"cursor": cursor} if cursor else {})}
        page = data(await mcp_client.call_tool("incident_list", args))
        assert page["count"] == 7
        paged += page["incidents"]
        cursor = page["next_cursor"]
    assert paged == whole["incidents"]


async def test_one_workspace_holding_a_whole_page_is_read_on(mcp_client) -> None:
    """The planted backlog lies in one workspace: its first share (5 rows) is all on the page, so it is read
    on for the rest, and the next page holds the remaining rows."""
    args = {"workspaces": "all", "severity": "high", "status": "New", "owner": "unassigned", "created_before": "P7D",
            "fields": ["number", "workspace", "created"]}
    alone = data(await mcp_client.call_tool("incident_list", {**args, "workspaces": ["law-fabrikam-prod"], "limit": 50}))
    first = data(await mcp_client.call_tool("incident_list", {**args, "limit": 7}))
    second = data(await mcp_client.call_tool("incident_list", {**args, "limit": 7, "cursor": first["next_cursor"]}))
    assert (first["count"], second["count"], second["total"]) == (7, 5, 12) and "next_cursor" not in second
    assert first["incidents"] + second["incidents"] == alone["incidents"]


async def test_relative_times_mean_the_same_on_every_page(mcp_client) -> None:
    """``P7D`` is resolved when the first page is asked: a next page asked seconds later continues the same
    listing (not refused as another one), while a changed filter still is."""
    args = {"workspace": "law-fabrikam-prod", "created_before": "P7D", "limit": 5, "fields": ["number"]}
    first = data(await mcp_client.call_tool("incident_list", args))
    second_now = datetime.now(UTC).replace(microsecond=0)
    while datetime.now(UTC).replace(microsecond=0) == second_now:  # the next page falls in another second
        await asyncio.sleep(0.05)
    second = data(await mcp_client.call_tool("incident_list", {**args, "cursor": first["next_cursor"]}))
    whole = data(await mcp_client.call_tool("incident_list", {**args, "limit": 10}))
    assert [r["number"] for r in first["incidents"] + second["incidents"]] == [r["number"] for r in whole["incidents"]]
    other = await mcp_client.call_tool("incident_list", {**args, "created_before": "P8D",
                                                         "cursor": first["next_cursor"]}, raise_on_error=False)
    assert "belongs to another listing" in error(other)


async def test_all_workspaces_every_tenant_each_row_says_where(mcp_client) -> None:
    first = data(await mcp_client.call_tool("incident_list", {"workspaces": "all", "limit": 500}))
    assert first["workspaces"] == 5
    assert first["count"] < 500 and "cursor=" in first["truncated"]  # the size budget cut the page, and says so
    rows = await every_row(mcp_client, "incident_list", {"workspaces": "all", "limit": 500,
                                                         "fields": ["number", "tenant", "workspace", "created"]})
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        counts[(r["tenant"], r["workspace"])] = counts.get((r["tenant"], r["workspace"]), 0) + 1
    assert counts == {(WORKSPACES[w][0], w): n for w, n in SEEDED.items()}
    created = [r["created"] for r in rows]
    assert created == sorted(created, reverse=True)  # one list, newest first across workspaces


async def test_tenant_narrows_the_fan_out(mcp_client) -> None:
    page = data(await mcp_client.call_tool("incident_list", {"tenant": "woodgrove", "limit": 100}))
    assert page["total"] == page["count"] == SEEDED["law-woodgrove"] and page["workspaces"] == 1
    assert {r["tenant"] for r in page["incidents"]} == {"woodgrove"}


async def test_filters_title_label_product_updated_and_order(mcp_client) -> None:
    base = {"workspace": "law-fabrikam-prod", "limit": 200,
            "fields": ["id", "title", "labels", "products", "severity", "updated", "owner"]}
    every = await every_row(mcp_client, "incident_list", base)
    assert len(every) == SEEDED["law-fabrikam-prod"]
    some = every[5]
    word = some["title"].split()[0].lower()
    by_title = await every_row(mcp_client, "incident_list", {**base, "title": word})
    assert by_title and all(word in r["title"].lower() for r in by_title)
    assert len(by_title) == sum(word in r["title"].lower() for r in every)
    labelled = [r for r in every if r["labels"]]
    label = labelled[0]["labels"][0]
    by_label = await every_row(mcp_client, "incident_list", {**base, "labels": [label]})
    assert {r["id"] for r in by_label} == {r["id"] for r in every if label in r["labels"]}
    product = next(p for r in every for p in r["products"] if p != "Azure Sentinel")
    by_product = await every_row(mcp_client, "incident_list", {**base, "product": product})
    assert by_product and {r["id"] for r in by_product} == {r["id"] for r in every if product in r["products"]}
    by_severity = await every_row(mcp_client, "incident_list", {**base, "order": "severity desc"})
    rank = {"High": 3, "Medium": 2, "Low": 1, "Informational": 0}
    ranks = [rank[r["severity"]] for r in by_severity]
    assert ranks == sorted(ranks, reverse=True)
    recent = await every_row(mcp_client, "incident_list", {**base, "updated_after": "P2D"})
    now = datetime.now(UTC)
    early, late = ((now - timedelta(days=2, minutes=m)).strftime("%Y-%m-%dT%H:%M") for m in (1, -1))
    assert all(r["updated"] >= early for r in recent)
    assert {r["id"] for r in every if r["updated"] >= late} <= {r["id"] for r in recent}
    owned = next(r["owner"] for r in every if r["owner"])
    mine = await every_row(mcp_client, "incident_list", {**base, "owner": owned})
    assert mine and {r["id"] for r in mine} == {r["id"] for r in every if r["owner"] == owned}


async def test_fields_unknown_and_bad_arguments_say_what_to_pass(mcp_client) -> None:
    text = error(await mcp_client.call_tool("incident_list", {"workspace": "law-tailspin", "fields": ["colour"]},
                                            raise_on_error=False))
    assert "colour" in text and "severity" in text
    text = error(await mcp_client.call_tool("incident_list", {"workspace": "law-tailspin", "severity": "Critical"},
                                            raise_on_error=False))
    assert "Critical" in text and "Informational" in text
    text = error(await mcp_client.call_tool("incident_list", {"workspace": "law-tailspin", "created_after": "yesterday"},
                                            raise_on_error=False))
    assert "P30D" in text and "ISO 8601" in text
    text = error(await mcp_client.call_tool("incident_list", {"workspace": "law-tailspn"}, raise_on_error=False))
    assert "law-tailspin" in text  # the closest known name


async def test_a_failing_tenant_is_reported_not_fatal(mcp_client, emulator_faults) -> None:
    emulator_faults.add_fault(match={"service": "arm", "tenant": "northwind", "path": "/incidents"}, status=403)
    page = data(await mcp_client.call_tool("incident_list", {"workspaces": "all", "limit": 5}))
    assert set(page["errors"]) == {"law-northwind"} and "without cursor" in page["note"]
    assert "403" in page["errors"]["law-northwind"] and "northwind" in page["errors"]["law-northwind"]
    rows = await every_row(mcp_client, "incident_list", {"workspaces": "all", "limit": 200,
                                                         "fields": ["workspace"]})
    assert len(rows) == sum(SEEDED.values()) - SEEDED["law-northwind"]  # the others' pages go on to the end
    assert "law-northwind" not in {r["workspace"] for r in rows}


async def test_throttled_workspace_says_so_and_what_to_do(mcp_client, emulator_faults) -> None:
    emulator_faults.add_fault(match={"service": "arm", "tenant": "tailspin", "path": "/incidents"}, status=429,
                              retry_after=1)
    text = error(await mcp_client.call_tool("incident_list", {"workspace": "law-tailspin"}, raise_on_error=False))
    assert "429" in text and "throttling" in text and "law-tailspin" in text and "tailspin" in text
    text = error(await mcp_client.call_tool("incident_get", {"workspace": "law-tailspin", "incident_id": "7"},
                                            raise_on_error=False))
    assert "429" in text and "incident 7" in text and "law-tailspin" in text


async def test_a_workspace_without_sentinel_is_an_error_of_its_own(mcp_client) -> None:
    page = data(await mcp_client.call_tool("incident_list", {"workspaces": ["law-fabrikam-ops", "law-tailspin"],
                                                             "limit": 100}))
    assert list(page["errors"]) == ["law-fabrikam-ops"]
    assert "not onboarded to Microsoft Sentinel" in page["errors"]["law-fabrikam-ops"]
    assert page["total"] == SEEDED["law-tailspin"] and {r["workspace"] for r in page["incidents"]} == {"law-tailspin"}


async def test_fan_out_reports_progress(make_server) -> None:
    from fastmcp import Client

    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    async with Client(make_server(), progress_handler=progress) as client:
        data(await client.call_tool("incident_list", {"workspaces": "all", "limit": 1}))
    assert seen and seen[-1][0] == seen[-1][1] == 5
    assert any("law-woodgrove" in (m or "") for _, _, m in seen)


def test_a_next_link_gives_its_skip_token_however_spelled() -> None:
    """The $skipToken of a nextLink, however its name is cased or its $ encoded, decoded once; none: a clear
    error (the listing cannot continue from such a page)."""
    base = "https://management.azure.com/subscriptions/s/providers/Microsoft.SecurityInsights/incidents"
    assert _token(f"{base}?api-version=2025-09-01&%24filter=a+eq+1&$skipToken=ab%2Bc+d%3D&$top=4") == "ab+c d="
    assert _token(f"{base}?%24SKIPTOKEN=zz&api-version=2025-09-01") == "zz"
    assert _token(None) is None
    with pytest.raises(KitError, match="no \\$skipToken"):
        _token(f"{base}?api-version=2025-09-01&skipToken=zz")
