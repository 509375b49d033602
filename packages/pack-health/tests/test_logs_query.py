"""logs_query: one KQL query across workspaces and tenants through a real MCP client."""

from __future__ import annotations

from typing import Any

from .conftest import call


async def test_one_table_across_tenants_with_tenant_and_workspace_columns(client: Any, emulator: Any) -> None:
    answer = await call(
        client,
        "logs_query",
        {
            "query": "Heartbeat | summarize Beats = count() by Computer",
            "workspaces": "all",
            "timespan": "PT6H",
            "limit": 100,
        },
    )
    assert answer["columns"][:2] == ["TenantId", "Workspace"] and {"Computer", "Beats"} <= set(answer["columns"])
    workspaces = {row["Workspace"] for row in answer["rows"]}
    assert workspaces == {"law-contoso-soc", "law-fabrikam-prod", "law-northwind", "law-tailspin", "law-woodgrove"}
    tenant_ids = {t["name"]: t["id"] for t in emulator.info["tenants"]}
    nw = [r for r in answer["rows"] if r["Workspace"] == "law-northwind"]
    assert {r["TenantId"] for r in nw} == {tenant_ids["northwind"]}
    # nw-dc-02 has been silent for 26 hours: no beats in the last 6
    assert "nw-dc-02.northwind.local" not in {r["Computer"] for r in nw}
    assert answer["workspaces"] == {"workspaces": 5, "succeeded": 5, "failed": 0}


async def test_tenant_filter_limit_and_cursor(client: Any) -> None:
    args = {
        "query": "SecurityIncident | summarize count() by IncidentNumber | order by IncidentNumber asc",
        "tenant": "fabrikam",
        "limit": 10,
        "timespan": "P30D",
    }
    first = await call(client, "logs_query", args)
    assert {r["Workspace"] for r in first["rows"]} == {"law-fabrikam-prod"}
    assert first["count"] == 10 and first["next_cursor"] and "cursor=" in first["truncated"]
    second = await call(client, "logs_query", {**args, "cursor": first["next_cursor"]})
    numbers = [r["IncidentNumber"] for r in first["rows"] + second["rows"]]
    assert numbers == list(range(1, 21))


async def test_query_own_tenantid_column_is_kept(client: Any) -> None:
    answer = await call(
        client,
        "logs_query",
        {"query": "Heartbeat | take 1 | project TenantId, Computer", "workspaces": ["law-tailspin"]},
    )
    [row] = answer["rows"]
    assert row["TenantId1"] != row["TenantId"] and row["Computer"].startswith("ts-")


async def test_management_commands_are_refused(client: Any) -> None:
    for command in (".show tables", "  // list them\n.drop table Heartbeat"):
        result = await client.call_tool("logs_query", {"query": command}, raise_on_error=False)
        assert result.is_error
        text = result.content[0].text
        assert "management commands" in text and "refused" in text


async def test_per_workspace_errors_do_not_hide_the_others(client: Any, emulator_faults: Any) -> None:
    await call(client, "workspace_list")
    emulator_faults.add_fault(match={"service": "logs", "tenant": "tailspin"}, status=403)
    answer = await call(
        client,
        "logs_query",
        {"query": "Heartbeat | summarize count()", "workspaces": ["law-tailspin", "law-woodgrove"]},
    )
    assert [r["Workspace"] for r in answer["rows"]] == ["law-woodgrove"]
    error = answer["errors"]["law-tailspin"]
    assert "403" in error and "tenant tailspin" in error and "role" in error


async def test_bad_kql_is_reported_per_workspace_with_the_service_message(client: Any) -> None:
    answer = await call(
        client, "logs_query", {"query": "Heartbeat | where NoSuchColumn == 1", "workspaces": ["law-northwind"]}
    )
    assert answer["rows"] == []
    error = answer["errors"]["law-northwind"]
    assert "400" in error and "law-northwind" in error and "NoSuchColumn" in error


async def test_bad_kql_shows_the_service_message_and_position(client: Any) -> None:
    answer = await call(client, "logs_query", {"query": "Heartbeat\n| summarize by ", "workspaces": ["law-northwind"]})
    error = answer["errors"]["law-northwind"]
    assert "SYN0002" in error and "could not be parsed" in error
    assert "line 2, pos 15" in error  # the user's own line and position (the added `| take` does not move it)


async def test_malformed_timespan_is_refused_before_any_query(client: Any, emulator_faults: Any) -> None:
    counter = emulator_faults.add_fault(match={"service": "logs"}, latency_ms=1)
    result = await client.call_tool(
        "logs_query", {"query": "Heartbeat | take 1", "timespan": "1d"}, raise_on_error=False
    )
    assert result.is_error and "ISO 8601" in result.content[0].text and "P1D" in result.content[0].text
    faults = emulator_faults.admin.get("/faults").json()["value"]
    assert next(f["hits"] for f in faults if f["id"] == counter["id"]) == 0
