"""Export and import through a real MCP client: stable files, round trips that give the same bytes, workspace
references pointed at the target, etags, previews — cross-checked with azure-mgmt-applicationinsights."""

from __future__ import annotations

import json
from pathlib import Path

from azure.mgmt.applicationinsights.v2023_06_01.models import WorkbookUpdateParameters
from workbooks_testkit import WORKSPACES, data, error, sdk_by_name, sdk_workbooks


async def test_export_is_pretty_sorted_and_byte_identical_when_unchanged(call, export_dir: Path, insights) -> None:
    first = data(await call("workbook_export", workspace="law-tailspin", workbook="Azure Activity"))
    file = export_dir / first["path"]
    assert first["written"] is True and first["path"] == "workbooks/law-tailspin/Azure Activity.json"
    text = file.read_text()
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    wb = sdk_by_name(insights, "law-tailspin", "Azure Activity")
    assert doc["id"] == wb.name and doc["displayName"] == wb.display_name and doc["sourceId"] == wb.source_id
    assert doc["workbook"] == json.loads(wb.serialized_data) and doc["format"] == "sentinelkit.workbook/1"
    assert not {"etag", "revision", "timeModified", "userId"} & set(doc)
    again = data(await call("workbook_export", workspace="law-tailspin", workbook=wb.name))
    assert again["written"] is False and again["sha256"] == first["sha256"] and file.read_text() == text
    gallery = data(await call("workbook_export", workspace="law-tailspin", workbook="Azure Activity", form="gallery"))
    template = json.loads((export_dir / gallery["path"]).read_text())
    assert gallery["path"].endswith("Azure Activity.gallery.json")
    assert template["items"] == doc["workbook"]["items"] and template["fallbackResourceIds"] == [wb.source_id]
    assert template["$schema"].endswith("/schema/workbook.json") and template["version"] == "Notebook/1.0"


async def test_export_never_leaves_the_export_directory_or_overwrites_unasked(call, export_dir: Path) -> None:
    text = error(await call("workbook_export", workspace="law-tailspin", workbook="Azure Activity",
                            path="../outside.json"))
    assert "leads out of the export directory" in text and not (export_dir.parent / "outside.json").exists()
    text = error(await call("workbook_export", workspace="law-tailspin", workbook="Azure Activity", path="/tmp/x.json"))
    assert "absolute path" in text
    other = export_dir / "mine.json"
    other.write_text("{}")
    text = error(await call("workbook_export", workspace="law-tailspin", workbook="Azure Activity", path="mine.json"))
    assert "already exists" in text and other.read_text() == "{}"
    done = data(await call("workbook_export", workspace="law-tailspin", workbook="Azure Activity", path="mine.json",
                           overwrite=True))
    assert done["written"] is True and json.loads(other.read_text())["displayName"] == "Azure Activity"
    assert [p.name for p in export_dir.iterdir() if p.name.startswith(".")] == []  # no temporary file left


async def test_reimporting_an_unchanged_export_writes_nothing(call, insights) -> None:
    exported = data(await call("workbook_export", workspace="law-woodgrove", workbook="Azure Activity"))
    before = sdk_by_name(insights, "law-woodgrove", "Azure Activity")
    out = data(await call("workbook_import", workspace="law-woodgrove", path=exported["path"]))
    assert out["action"] == "unchanged" and "nothing was written" in out["message"]
    after = sdk_by_name(insights, "law-woodgrove", "Azure Activity")
    assert after.etag == before.etag and after.revision == before.revision


async def test_export_change_import_export_gives_the_same_bytes(call, export_dir: Path, insights, restore) -> None:
    tenant, rg = WORKSPACES["law-northwind"]
    first = data(await call("workbook_export", workspace="law-northwind", workbook="Azure Activity", path="a.json"))
    wb = sdk_by_name(insights, "law-northwind", "Azure Activity")
    changed = json.loads(wb.serialized_data)
    changed["items"].append({"type": 1, "content": {"json": "added in the portal"}, "name": "text - 9"})
    insights(tenant).workbooks.update(rg, wb.name, workbook_update_parameters=WorkbookUpdateParameters(
        display_name="Azure Activity (edited)", serialized_data=json.dumps(changed)))
    preview = data(await call("workbook_import", workspace="law-northwind", path="a.json", dry_run=True))
    change = preview["would_change"]["changes"]
    assert preview["dry_run"] is True and change["action"] == "update" and change["id"] == wb.name
    assert change["replaces"]["display_name"] == "Azure Activity (edited)" and change["replaces"]["removed_steps"] == ["3"]
    assert change["replaces"]["renamed_to"] == "Azure Activity"
    assert sdk_by_name(insights, "law-northwind", "Azure Activity (edited)").name == wb.name  # a dry run changes nothing
    out = data(await call("workbook_import", workspace="law-northwind", path="a.json"))
    assert out["action"] == "updated" and out["id"] == wb.name
    data(await call("workbook_export", workspace="law-northwind", workbook="Azure Activity", path="b.json"))
    assert (export_dir / "a.json").read_bytes() == (export_dir / "b.json").read_bytes()
    assert first["sha256"] == data(await call("workbook_export", workspace="law-northwind", workbook=wb.name,
                                              path="c.json"))["sha256"]


async def test_export_delete_import_restores_the_same_workbook(call, export_dir: Path, insights, restore) -> None:
    data(await call("workbook_export", workspace="law-tailspin", workbook="Azure Activity", path="keep.json"))
    wb = sdk_by_name(insights, "law-tailspin", "Azure Activity")
    data(await call("workbook_delete", workspace="law-tailspin", workbook="Azure Activity", confirm=True))
    assert "Azure Activity" not in {w.display_name for w in sdk_workbooks(insights, "law-tailspin")}
    out = data(await call("workbook_import", workspace="law-tailspin", path="keep.json"))
    assert out["action"] == "created" and out["id"] == wb.name  # the file's own id, free again in its workspace
    data(await call("workbook_export", workspace="law-tailspin", workbook="Azure Activity", path="again.json"))
    assert (export_dir / "keep.json").read_bytes() == (export_dir / "again.json").read_bytes()


async def test_import_into_another_tenant_points_every_reference_at_the_target(call, export_dir: Path, insights,
                                                                               emulator, restore) -> None:
    source_ws = emulator.workspace("law-contoso-soc")
    target_ws = emulator.workspace("law-woodgrove")
    wb = sdk_by_name(insights, "law-contoso-soc", "Security Operations Efficiency")
    content = json.loads(wb.serialized_data)
    content["items"].append({"type": 3, "name": "cross", "content": {
        "version": "KqlItem/1.0", "queryType": 0, "resourceType": "microsoft.operationalinsights/workspaces",
        "crossComponentResources": [source_ws["id"]],
        "query": f"workspace('{source_ws['customer_id']}').SecurityIncident | count"}})
    (export_dir / "soe.json").write_text(json.dumps({**json.loads(await _export_text(call, export_dir)),
                                                     "workbook": content}))
    out = data(await call("workbook_import", workspace="law-woodgrove", path="soe.json"))
    assert out["action"] == "created" and out["references"]["replaced"] == {
        source_ws["id"]: 2, source_ws["customer_id"]: 1}
    copy = sdk_by_name(insights, "law-woodgrove", "Security Operations Efficiency")
    text = copy.serialized_data
    assert copy.source_id == target_ws["id"] and copy.name != wb.name and copy.location == "eastus"
    assert json.loads(text)["fallbackResourceIds"] == [target_ws["id"]]
    assert source_ws["id"].lower() not in text.lower() and source_ws["customer_id"] not in text
    assert target_ws["customer_id"] in text
    assert json.loads(text)["items"][:2] == json.loads(wb.serialized_data)["items"]


async def _export_text(call, export_dir: Path) -> str:
    done = data(await call("workbook_export", workspace="law-contoso-soc", workbook="Security Operations Efficiency",
                           overwrite=True))
    return (export_dir / done["path"]).read_text()


async def test_a_gallery_template_imports_under_the_name_given(call, export_dir: Path, insights, restore) -> None:
    template = {"version": "Notebook/1.0", "items": [
        {"type": 1, "content": {"json": "## Heartbeats"}, "name": "text - 0"},
        {"type": 3, "content": {"version": "KqlItem/1.0", "query": "Heartbeat | summarize count() by Computer",
                                "queryType": 0, "resourceType": "microsoft.operationalinsights/workspaces"},
         "name": "query - 1"}],
        "fallbackResourceIds": ["/subscriptions/764bc6a9-7927-4311-8e67-ed073090cea3/resourcegroups/other/providers/"
                                "microsoft.operationalinsights/workspaces/somebody"],
        "fromTemplateId": "sentinel-Heartbeats", "$schema": "https://github.com/Microsoft/Application-Insights-"
                                                            "Workbooks/blob/master/schema/workbook.json"}
    out = data(await call("workbook_import", workspace="law-fabrikam-prod", workbook_json=json.dumps(template),
                          display_name="Heartbeats"))
    assert out["action"] == "created" and out["tables"]["checked"] == 1 and out["tables"]["missing_tables"] == []
    wb = sdk_by_name(insights, "law-fabrikam-prod", "Heartbeats")
    stored = json.loads(wb.serialized_data)
    assert stored["items"] == template["items"] and stored["fallbackResourceIds"] == [wb.source_id]
    assert wb.category == "sentinel" and wb.kind == "shared" and wb.tags["hidden-title"] == "Heartbeats"
    again = data(await call("workbook_import", workspace="law-fabrikam-prod", workbook_json=json.dumps(template),
                            display_name="Heartbeats"))
    assert again["action"] == "unchanged"
    nameless = error(await call("workbook_import", workspace="law-fabrikam-prod", workbook_json=json.dumps(template)))
    assert "display_name" in nameless


async def test_missing_tables_are_reported_per_query_and_block_until_accepted(call, insights, restore) -> None:
    template = {"version": "Notebook/1.0", "items": [
        {"type": 3, "name": "q1", "content": {"title": "Zscaler traffic", "queryType": 0,
                                               "query": "CommonSecurityLog | union ZscalerNSSWeb_CL | count"}},
        {"type": 12, "name": "group", "content": {"version": "NotebookGroup/1.0", "items": [
            {"type": 3, "name": "q2", "content": {"title": "Okta", "query": "Okta_CL | take 10", "queryType": 0}},
            {"type": 3, "name": "arg", "content": {"query": "resources | take 1", "queryType": 1,
                                                   "resourceType": "microsoft.resourcegraph/resources"}}]}}]}
    text = error(await call("workbook_import", workspace="law-tailspin", workbook_json=json.dumps(template),
                            display_name="Third parties"))
    assert "ZscalerNSSWeb_CL" in text and "step 1 (Zscaler traffic)" in text and "step 2.1 (Okta): Okta_CL" in text
    assert "nothing was imported" in text and "accept_missing_tables" in text
    assert "Third parties" not in {w.display_name for w in sdk_workbooks(insights, "law-tailspin")}
    preview = data(await call("workbook_import", workspace="law-tailspin", workbook_json=json.dumps(template),
                              display_name="Third parties", dry_run=True))
    tables = preview["would_change"]["changes"]["tables"]
    assert tables["checked"] == 2 and tables["missing_tables"] == ["Okta_CL", "ZscalerNSSWeb_CL"]
    assert tables["not_checked"] == {"resource graph queries": 1}
    done = data(await call("workbook_import", workspace="law-tailspin", workbook_json=json.dumps(template),
                           display_name="Third parties", accept_missing_tables=True))
    assert done["action"] == "created" and done["tables"]["missing_tables"] == ["Okta_CL", "ZscalerNSSWeb_CL"]
