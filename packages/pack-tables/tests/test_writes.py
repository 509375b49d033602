"""Table writes through a real MCP client: previews with before/after, confirmation of what lowers or deletes,
long-running writes followed to their end with progress, and every known rule refused before anything is sent —
cross-checked with azure-mgmt-loganalytics reading the emulator's state."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.loganalytics.models import SearchResults, Table

ORDERS = {"workspace": "law-tailspin", "name": "Orders_CL",
          "columns": ["OrderId:string", {"name": "Amount", "type": "double", "description": "in EUR"}, "Paid:bool"],
          "retention_days": 60, "total_retention_days": 400, "description": "Web shop orders"}


def sdk_get(la: Any, workspace: str, table: str) -> Any:
    tables, rg, name = la(workspace)
    return tables.get(rg, name, table)


async def test_create_previews_the_exact_schema_then_creates_it(tool, refused, la, audit_records, restore) -> None:
    preview = await tool("table_create", **ORDERS, dry_run=True)
    changes = preview["would_change"]["changes"]
    assert preview["dry_run"] is True and changes["plan"] == "Analytics"
    assert changes["columns"] == [{"name": "TimeGenerated", "type": "dateTime"},
                                  {"name": "OrderId", "type": "string"},
                                  {"name": "Amount", "type": "real", "description": "in EUR"},
                                  {"name": "Paid", "type": "boolean"}]
    assert changes["body"]["properties"]["retentionInDays"] == 60 and "TimeGenerated was added" in changes["note"]
    with pytest.raises(ResourceNotFoundError):
        sdk_get(la, "law-tailspin", "Orders_CL")
    assert audit_records()[-1]["outcome"] == "dry_run"

    out = await tool("table_create", **ORDERS)
    assert out["created"] is True and out["provisioning_state"] == "Succeeded"
    sdk = sdk_get(la, "law-tailspin", "Orders_CL")
    assert [(c.name, c.type) for c in sdk.schema.columns] == [("TimeGenerated", "dateTime"), ("OrderId", "string"),
                                                              ("Amount", "real"), ("Paid", "boolean")]
    assert (sdk.retention_in_days, sdk.total_retention_in_days, sdk.plan) == (60, 400, "Analytics")
    assert sdk.schema.description == "Web shop orders" and sdk.schema.columns[2].description == "in EUR"
    assert audit_records()[-1]["outcome"] == "applied" and audit_records()[-1]["tenant"] == "tailspin"
    text = await refused("table_create", **ORDERS)
    assert "already exists" in text and "table_update_schema" in text and "nothing was changed" in text


async def test_create_from_sample_records_infers_the_column_types(tool, la, restore) -> None:
    samples = [{"TimeGenerated": "2025-03-01T10:00:00Z", "Host": "web-01", "LatencyMs": 12, "Score": 0.5,
                "Blocked": False, "Headers": {"ua": "curl"}, "Seen": "2025-03-01T09:59:58.123Z"},
               {"TimeGenerated": "2025-03-01T10:00:01Z", "Host": "web-02", "LatencyMs": 7, "Score": 1,
                "Blocked": True, "Headers": None, "Tags": ["a", "b"], "Seen": "yesterday"}]
    out = await tool("table_create", workspace="law-tailspin", name="EdgeRequests_CL", sample_records=samples,
                     plan="Basic", total_retention_days=90)
    sdk = sdk_get(la, "law-tailspin", "EdgeRequests_CL")
    assert [(c.name, c.type) for c in sdk.schema.columns] == [
        ("TimeGenerated", "dateTime"), ("Host", "string"), ("LatencyMs", "long"), ("Score", "real"),
        ("Blocked", "boolean"), ("Headers", "dynamic"), ("Seen", "string"), ("Tags", "dynamic")]
    assert (sdk.plan, sdk.retention_in_days, sdk.total_retention_in_days) == ("Basic", 30, 90)
    assert out["plan"] == "Basic" and "note" not in out  # the samples had TimeGenerated


@pytest.mark.parametrize(("args", "needle"), [
    ({"name": "Orders", "columns": ["OrderId"]}, "custom tables end with '_CL' (e.g. Orders_CL)"),
    ({"name": "Orders_CL", "columns": ["TenantId:string"]}, "column name 'TenantId' is reserved"),
    ({"name": "Orders_CL", "columns": ["Took:timespan"]}, "type 'timespan', which custom tables do not have"),
    ({"name": "Orders_CL", "columns": ["Order Id:string"]}, "column name 'Order Id' is invalid"),
    ({"name": "Orders_CL", "columns": ["A"], "retention_days": 1000}, "retention_days 1000 is out of range"),
    ({"name": "Orders_CL", "columns": ["A"], "total_retention_days": 5000}, "between 4 and 4383"),
    ({"name": "Orders_CL", "columns": ["A"], "retention_days": 90, "total_retention_days": 30}, "below retention_days"),
    ({"name": "Orders_CL", "columns": ["A"], "plan": "Basic", "retention_days": 90}, "fixed at 30 days"),
    ({"name": "Orders_CL", "columns": ["A"], "plan": "Premium"}, "use Analytics, Basic or Auxiliary"),
    ({"name": "Orders_CL", "sample_records": [{"order-id": 1}]}, "project-rename OrderId = ['order-id']"),
    ({"name": "Orders_CL", "sample_records": [{"TimeGenerated": "soon"}]}, "TimeGenerated must be a dateTime"),
    ({"name": "Orders_CL"}, "give either columns or sample_records"),
])
async def test_bad_input_is_refused_before_anything_is_sent(refused, la, args: dict[str, Any], needle: str) -> None:
    text = await refused("table_create", workspace="law-tailspin", **args)
    assert needle in text, text
    with pytest.raises(ResourceNotFoundError):
        sdk_get(la, "law-tailspin", args["name"])


async def test_columns_are_added_never_retyped_or_removed(tool, refused, la, restore) -> None:
    before = [c.name for c in sdk_get(la, "law-fabrikam-prod", "FirewallTraffic_CL").schema.columns]
    out = await tool("table_update_schema", workspace="law-fabrikam-prod", table="FirewallTraffic_CL",
                     columns=["Region:string", {"name": "Risk", "type": "real", "description": "0-1"}, "Protocol:string"])
    assert out["added"] == ["Region", "Risk"]  # Protocol exists as string: left alone
    sdk = sdk_get(la, "law-fabrikam-prod", "FirewallTraffic_CL")
    assert [c.name for c in sdk.schema.columns] == before + ["Region", "Risk"]
    text = await refused("table_update_schema", workspace="law-fabrikam-prod", table="FirewallTraffic_CL",
                         columns=["DestinationPort:string"])
    assert "DestinationPort of FirewallTraffic_CL is int" in text and "can't change a column's type" in text
    again = await tool("table_update_schema", workspace="law-fabrikam-prod", table="FirewallTraffic_CL",
                       columns=["Region:string"])
    assert again["changed"] is False
    text = await refused("table_update_schema", workspace="law-northwind", table="SecurityEvent",
                         columns=["Region:string"])
    assert "only custom columns whose names end with '_CF'" in text and "Region_CF" in text
    await tool("table_update_schema", workspace="law-northwind", table="SecurityEvent", columns=["Region_CF:string"])
    assert [c.name for c in sdk_get(la, "law-northwind", "SecurityEvent").schema.columns] == ["Region_CF"]


async def test_a_plan_switch_is_confirmed_keeps_the_total_and_waits_a_week(tool, refused, la, restore) -> None:
    preview = await tool("table_set_plan", workspace="law-fabrikam-prod", table="FirewallTraffic_CL", plan="Basic")
    changes = preview["would_change"]["changes"]
    assert preview["confirmation_required"] is True
    assert (changes["before"]["plan"], changes["before"]["retention_days"]) == ("Analytics", 180)
    assert (changes["after"]["plan"], changes["after"]["retention_days"], changes["after"]["total_retention_days"]) == (
        "Basic", 30, 180)
    assert any("billed per GB scanned" in n for n in changes["notes"]) and changes["volume_30d_gb"] > 0
    assert sdk_get(la, "law-fabrikam-prod", "FirewallTraffic_CL").plan == "Analytics"

    out = await tool("table_set_plan", workspace="law-fabrikam-prod", table="FirewallTraffic_CL", plan="Basic",
                     confirm=True)
    sdk = sdk_get(la, "law-fabrikam-prod", "FirewallTraffic_CL")
    assert (sdk.plan, sdk.retention_in_days, sdk.total_retention_in_days) == ("Basic", 30, 180)
    assert (out["plan"], out["total_retention_days"], out["provisioning_state"]) == ("Basic", 180, "Succeeded")
    text = await refused("table_set_plan", workspace="law-fabrikam-prod", table="FirewallTraffic_CL",
                         plan="Analytics", confirm=True)
    assert "one switch per table per week" in text and "Try again after" in text and "nothing was sent" in text
    assert sdk_get(la, "law-fabrikam-prod", "FirewallTraffic_CL").plan == "Basic"


@pytest.mark.parametrize(("workspace", "table", "plan", "needle"), [
    ("law-tailspin", "CheckoutEvents_CL", "Auxiliary", "the Auxiliary plan is chosen when a custom table is created"),
    ("law-northwind", "LegacyInventory_CL", "Basic", "HTTP Data Collector API (Classic)"),
    # which Azure tables may use Basic only the service knows: its own reason comes back
    ("law-northwind", "SecurityEvent", "Basic", "HTTP 400 (InvalidParameter: Table 'SecurityEvent' doesn't support "
                                                "the Basic plan"),
])
async def test_plans_a_table_cannot_have_are_refused(refused, la, workspace: str, table: str, plan: str,
                                                     needle: str) -> None:
    text = await refused("table_set_plan", workspace=workspace, table=table, plan=plan, confirm=True)
    assert needle in text, text
    assert sdk_get(la, workspace, table).plan == "Analytics"


async def test_raising_retention_applies_without_asking_and_a_lowering_is_refused_there(
        tool, refused, la, audit_records, restore) -> None:
    preview = await tool("table_set_retention", workspace="law-northwind", table="SecurityEvent", retention_days=90,
                         total_retention_days=365, dry_run=True)
    assert preview["would_change"]["changes"]["before"]["total_retention_days"] == 30
    assert preview["would_change"]["changes"]["after"]["total_retention_days"] == 365
    out = await tool("table_set_retention", workspace="law-northwind", table="SecurityEvent", retention_days=90,
                     total_retention_days=365)
    assert "confirmation_required" not in out and out["updated"] is True
    sdk = sdk_get(la, "law-northwind", "SecurityEvent")
    assert (sdk.retention_in_days, sdk.total_retention_in_days, sdk.archive_retention_in_days) == (90, 365, 275)
    assert audit_records()[-1]["outcome"] == "applied"
    text = await refused("table_set_retention", workspace="law-northwind", table="SecurityEvent",
                         total_retention_days=180)
    assert "total retention falls from 365 to 180 days" in text and "185 days of data" in text
    assert "table_lower_retention" in text and "Nothing was sent" in text
    assert sdk_get(la, "law-northwind", "SecurityEvent").total_retention_in_days == 365


async def test_lowering_retention_is_confirmed_and_says_how_much_data_goes(tool, la, restore) -> None:
    preview = await tool("table_lower_retention", workspace="law-woodgrove", table="SecurityEvent",
                         total_retention_days=730)
    assert preview["confirmation_required"] is True
    assert "2556 to 730 days" in preview["would_change"]["summary"]
    assert "1826 days of data" in preview["would_change"]["summary"]
    assert sdk_get(la, "law-woodgrove", "SecurityEvent").total_retention_in_days == 2556
    out = await tool("table_lower_retention", workspace="law-woodgrove", table="SecurityEvent",
                     total_retention_days=730, confirm=True)
    assert out["total_retention_days"] == 730 and "1826 days of data" in out["data_no_longer_kept"][0]
    sdk = sdk_get(la, "law-woodgrove", "SecurityEvent")
    assert (sdk.retention_in_days, sdk.total_retention_in_days) == (365, 730)
    # -1: back to the workspace's default (90 days); the older data stays in long-term retention
    reset = await tool("table_lower_retention", workspace="law-woodgrove", table="SecurityEvent", retention_days=-1,
                       confirm=True)
    assert "long-term retention until day 730" in reset["data_no_longer_kept"][0]
    sdk = sdk_get(la, "law-woodgrove", "SecurityEvent")
    assert (sdk.retention_in_days, sdk.retention_in_days_as_default, sdk.total_retention_in_days) == (90, True, 730)


async def test_retention_rules_known_in_advance_are_refused_before_sending(refused) -> None:
    text = await refused("table_set_retention", workspace="law-fabrikam-prod", table="AppAudit_CL",
                         retention_days=60)
    assert "Basic plan: its interactive retention is fixed" in text
    text = await refused("table_set_retention", workspace="law-northwind", table="SecurityEvent",
                         retention_days=120, total_retention_days=100)
    assert "below the interactive retention (120 days)" in text
    text = await refused("table_set_retention", workspace="law-northwind", table="SecurityEvent", retention_days=3)
    assert "between 4 and 730" in text
    text = await refused("table_set_retention", workspace="law-northwind", table="SecurityEvent")
    assert "give retention_days, total_retention_days or both" in text


async def test_custom_and_search_result_tables_are_deleted_azure_tables_never(tool, refused, la, restore) -> None:
    tables, rg, name = la("law-tailspin")
    tables.begin_create_or_update(rg, name, "FailedLogons_SRCH", Table(search_results=SearchResults(
        query="SecurityEvent | where EventID == 4625", start_search_time="2025-01-01T00:00:00Z",
        end_search_time="2025-01-02T00:00:00Z"))).result()
    listed = await tool("table_list", workspace="law-tailspin", type="search_results")
    assert [t["name"] for t in listed["tables"]] == ["FailedLogons_SRCH"]
    for table, kind in (("FailedLogons_SRCH", "search_results"), ("CheckoutEvents_CL", "custom")):
        preview = await tool("table_delete", workspace="law-tailspin", table=table)
        assert preview["confirmation_required"] is True and preview["would_change"]["changes"]["type"] == kind
        sdk_get(la, "law-tailspin", table)  # still there
        done = await tool("table_delete", workspace="law-tailspin", table=table, confirm=True)
        assert done["deleted"] == table
        with pytest.raises(ResourceNotFoundError):
            sdk_get(la, "law-tailspin", table)
    text = await refused("table_delete", workspace="law-tailspin", table="Heartbeat", confirm=True)
    assert "Azure table" in text and "can't be deleted" in text and "nothing was sent" in text
    sdk_get(la, "law-tailspin", "Heartbeat")


async def test_a_table_still_updating_is_reported_not_overwritten(tool, refused, arm, emulator, restore) -> None:
    await tool("table_get", workspace="law-contoso-soc", table="SocAutomationAudit_CL")  # discovery and tokens first
    path = emulator.workspace("law-contoso-soc")["id"] + "/tables/SocAutomationAudit_CL"
    running = arm.patch(path, params={"api-version": "2025-07-01"}, json={"properties": {"totalRetentionInDays": 400}})
    assert running.status_code == 202  # accepted; not polled yet: the table is Updating
    text = await refused("table_set_retention", workspace="law-contoso-soc", table="SocAutomationAudit_CL",
                         total_retention_days=500)
    assert "still being changed (provisioningState Updating)" in text and "nothing was sent" in text
    while arm.get(running.headers["Azure-AsyncOperation"]).json()["status"] != "Succeeded":
        pass
    out = await tool("table_get", workspace="law-contoso-soc", table="SocAutomationAudit_CL")
    assert (out["provisioning_state"], out["total_retention_days"]) == ("Succeeded", 400)  # not overwritten


async def test_a_write_reports_progress_and_answers_with_the_final_state(mcp_client, restore) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    result = await mcp_client.call_tool("table_set_retention", {"workspace": "law-tailspin", "table": "CheckoutEvents_CL",
                                                            "total_retention_days": 200}, progress_handler=progress)
    assert result.structured_content["provisioning_state"] == "Succeeded"
    assert result.structured_content["total_retention_days"] == 200
    assert seen[0][0] == 0 and "sending" in str(seen[0][2]) and "CheckoutEvents_CL" in str(seen[0][2])
    assert seen[-1][:2] == (2, 2) and str(seen[-1][2]).endswith("Succeeded")
