"""Reading workbooks through a real MCP client: the listing (one workspace, every tenant, filters, paging)
and one workbook's summary, outline, raw JSON and single steps — cross-checked with
azure-mgmt-applicationinsights reading the same workbooks from the emulator."""

from __future__ import annotations

import json
from typing import Any

from workbooks_testkit import SEEDED, WORKSPACES, data, error, sdk_by_name, sdk_workbooks


async def test_list_one_workspace_matches_the_sdk_and_never_shows_content(call, insights) -> None:
    out = data(await call("workbook_list", workspace="law-contoso-soc", fields=["*"]))
    sdk = {w.name: w for w in sdk_workbooks(insights, "law-contoso-soc", content=True)}
    assert {r["name"] for r in out["workbooks"]} == SEEDED["law-contoso-soc"] == {w.display_name for w in sdk.values()}
    for row in out["workbooks"]:
        wb = sdk[row["id"]]
        assert row["name"] == wb.display_name and row["size"] == len(wb.serialized_data.encode("utf-8"))
        assert row["template"] == json.loads(wb.serialized_data)["fromTemplateId"]
        assert row["modified"].startswith(wb.time_modified.strftime("%Y-%m-%dT%H:%M:%S"))
        assert row["author"] and row["steps"] == 2 and row["workspace"] == "law-contoso-soc"
    assert "serializedData" not in json.dumps(out) and "Usage | where" not in json.dumps(out)


async def test_list_fans_out_over_every_tenant_with_default_fields(call) -> None:
    out = data(await call("workbook_list", limit=100))
    assert out["workspaces"] == len(SEEDED) and "errors" not in out
    by_ws: dict[str, set[str]] = {}
    for row in out["workbooks"]:
        assert set(row) == {"name", "id", "workspace", "modified", "author", "template", "size"}
        by_ws.setdefault(row["workspace"], set()).add(row["name"])
    assert by_ws == SEEDED
    only = data(await call("workbook_list", tenant="fabrikam", name_contains="activity"))
    assert [(r["workspace"], r["name"]) for r in only["workbooks"]] == [("law-fabrikam-prod", "Azure Activity")]


async def test_list_pages_with_a_cursor(call) -> None:
    first = data(await call("workbook_list", limit=5, fields=["workspace", "name"]))
    assert first["count"] == 5 and first["total"] == 13 and "next_cursor" in first
    rest = data(await call("workbook_list", limit=50, cursor=first["next_cursor"], fields=["workspace", "name"]))
    seen = first["workbooks"] + rest["workbooks"]
    assert len(seen) == 13 and len({(r["workspace"], r["name"]) for r in seen}) == 13


async def test_summary_counts_steps_and_tables(call, insights) -> None:
    out = data(await call("workbook_get", workspace="law-fabrikam-prod", workbook="identity & access"))
    wb = sdk_by_name(insights, "law-fabrikam-prod", "Identity & Access")
    assert out["id"] == wb.name and out["etag"] == wb.etag and out["revision"] == wb.revision
    assert out["steps"] == 2 and out["queries"] == 1 and out["tables"] == ["SigninLogs"]
    assert out["source_id"] == wb.source_id and out["template"] == "sentinel-IdentityAndAccess"
    assert "serializedData" not in json.dumps(out)


async def test_outline_shows_each_step_its_kql_and_tables(call) -> None:
    out = data(await call("workbook_get", workspace="law-contoso-soc", workbook="Security Operations Efficiency",
                          view="outline"))
    assert [(s["step"], s["type"]) for s in out["steps"]] == [("1", "text"), ("2", "query")]
    assert out["steps"][0]["title"] == "Security Operations Efficiency"
    assert out["steps"][1]["query"].startswith("SecurityIncident | summarize arg_max")
    assert out["steps"][1]["tables"] == ["SecurityIncident"]


async def test_raw_json_pages_and_one_step_in_full(call, insights) -> None:
    wb = sdk_by_name(insights, "law-tailspin", "Azure Activity")
    items: list[dict[str, Any]] = json.loads(wb.serialized_data)["items"]
    raw = data(await call("workbook_get", workspace="law-tailspin", workbook=wb.name, view="raw", limit=1))
    assert raw["count"] == 1 and raw["total"] == 2 and raw["items"][0] == {"step": "1", **items[0]}
    assert raw["workbook_json"]["fromTemplateId"] == "sentinel-AzureActivity" and "next_cursor" in raw
    picked = data(await call("workbook_get", workspace="law-tailspin", workbook=wb.name, view="raw",
                             fields=["step", "content.query"]))
    assert picked["items"][1] == {"step": "2", "content.query": items[1]["content"]["query"]}
    one = data(await call("workbook_get", workspace="law-tailspin", workbook="Azure Activity", step="2"))
    assert one["step"]["query"] == items[1]["content"]["query"] and one["json"] == items[1]
    assert one["step"]["tables"] == ["AzureActivity"]


async def test_unknown_workbooks_and_steps_are_clear_errors(call) -> None:
    text = error(await call("workbook_get", workspace="law-northwind", workbook="Azure Activty"))
    assert "no Sentinel workbook 'Azure Activty' in workspace law-northwind" in text and "closest: Azure Activity" in text
    text = error(await call("workbook_get", workspace="law-northwind", workbook="00000000-0000-4000-8000-000000000000"))
    assert "00000000-0000-4000-8000-000000000000" in text and "workbook_list" in text
    text = error(await call("workbook_get", workspace="law-northwind", workbook="Azure Activity", step="7"))
    assert "no step '7'" in text and "outline" in text


async def test_a_workbook_id_of_another_workspace_is_not_found_here(call, insights) -> None:
    other = sdk_by_name(insights, "law-fabrikam-prod", "Azure Activity")
    text = error(await call("workbook_get", workspace="law-northwind", workbook=other.name))
    assert "law-northwind" in text and WORKSPACES["law-northwind"][0] in text
