"""Copying one workbook to many workspaces across tenants in one call: per-target preview (create / update /
unchanged / skip), per-target results, partial outcomes in the audit — cross-checked with the SDK."""

from __future__ import annotations

import json

from azure.mgmt.applicationinsights.v2023_06_01.models import WorkbookUpdateParameters
from workbooks_testkit import WORKSPACES, data, error, sdk_by_name, sdk_workbooks


async def test_copy_previews_then_creates_updates_and_leaves_unchanged(call, insights, emulator, audit,
                                                                      restore) -> None:
    # woodgrove gets the copy first, then someone edits it there: a second copy updates it
    first = data(await call("workbook_copy", workspace="law-contoso-soc", workbook="Security Operations Efficiency",
                            to_workspaces=["law-woodgrove"]))
    assert first["targets"] == [{"workspace": "law-woodgrove", "action": "created", "id": first["targets"][0]["id"],
                                 "revision": first["targets"][0]["revision"]}]
    tenant, rg = WORKSPACES["law-woodgrove"]
    copied = sdk_by_name(insights, "law-woodgrove", "Security Operations Efficiency")
    insights(tenant).workbooks.update(rg, copied.name, workbook_update_parameters=WorkbookUpdateParameters(
        description="edited in woodgrove"))
    targets = ["law-woodgrove", "law-fabrikam-prod", "law-northwind"]
    preview = data(await call("workbook_copy", workspace="law-contoso-soc", workbook="Security Operations Efficiency",
                              to_workspaces=targets, dry_run=True))
    plan = {t["workspace"]: t for t in preview["would_change"]["changes"]["targets"]}
    assert {k: t["action"] for k, t in plan.items()} == {"law-woodgrove": "update", "law-fabrikam-prod": "create",
                                                         "law-northwind": "create"}
    assert plan["law-woodgrove"]["id"] == copied.name and plan["law-woodgrove"]["replaces"]["changed_steps"] == []
    assert preview["would_change"]["changes"]["counts"] == {"create": 2, "update": 1}
    assert all(t["tables"]["missing_tables"] == [] for t in plan.values())
    assert "Security Operations Efficiency" not in {w.display_name for w in sdk_workbooks(insights, "law-northwind")}
    done = data(await call("workbook_copy", workspace="law-contoso-soc", workbook="Security Operations Efficiency",
                           to_workspaces=targets))
    assert [(t["workspace"], t["action"]) for t in done["targets"]] == [
        ("law-woodgrove", "updated"), ("law-fabrikam-prod", "created"), ("law-northwind", "created")]
    source = json.loads(sdk_by_name(insights, "law-contoso-soc", "Security Operations Efficiency").serialized_data)
    for ws in targets:
        wb = sdk_by_name(insights, ws, "Security Operations Efficiency")
        stored = json.loads(wb.serialized_data)
        assert wb.source_id == emulator.workspace(ws)["id"] and stored["fallbackResourceIds"] == [wb.source_id]
        assert stored["items"] == source["items"] and wb.description is None
    again = data(await call("workbook_copy", workspace="law-contoso-soc", workbook="Security Operations Efficiency",
                            to_workspaces=targets))
    assert {t["action"] for t in again["targets"]} == {"unchanged"} and again["message"] == "nothing to write"
    assert [e["outcome"] for e in audit() if e["tool"] == "workbook_copy"][-3:-1] == ["dry_run", "applied"]


async def test_targets_missing_tables_are_skipped_with_the_queries_named(call, insights, restore) -> None:
    template = {"version": "Notebook/1.0", "items": [
        {"type": 3, "name": "custom", "content": {"title": "Checkout events", "queryType": 0,
                                                   "query": "CheckoutEvents_CL | summarize count() by bin(TimeGenerated, 1h)"}}]}
    data(await call("workbook_import", workspace="law-tailspin", workbook_json=json.dumps(template),
                    display_name="Checkout"))
    out = data(await call("workbook_copy", workspace="law-tailspin", workbook="Checkout",
                          to_workspaces=["law-northwind", "law-woodgrove"]))
    assert [t["action"] for t in out["targets"]] == ["skip", "skip"]
    assert "step 1 (Checkout events): CheckoutEvents_CL" in out["targets"][0]["reason"]
    assert out["targets"][0]["missing_tables"] == ["CheckoutEvents_CL"]
    assert "Checkout" not in {w.display_name for w in sdk_workbooks(insights, "law-northwind")}
    forced = data(await call("workbook_copy", workspace="law-tailspin", workbook="Checkout",
                             to_workspaces=["law-northwind"], accept_missing_tables=True))
    assert forced["targets"][0]["action"] == "created"
    assert forced["targets"][0]["missing_tables"] == ["CheckoutEvents_CL"]


async def test_copy_to_all_reaches_every_tenant_and_reports_a_failing_one(call, emulator, audit, restore) -> None:
    emulator.add_fault(match={"tenant": "northwind", "path": "/workbooks"}, status=403)
    out = data(await call("workbook_copy", workspace="law-fabrikam-prod", workbook="Identity & Access",
                          to_workspaces="all"))
    actions = {t["workspace"]: t["action"] for t in out["targets"]}
    failed = next(t for t in out["targets"] if t["workspace"] == "law-northwind")
    assert "403" in failed["error"] and "northwind" in failed["error"]
    # law-contoso-soc has the same workbook already (seeded from the same template)
    assert actions == {"law-contoso-soc": "unchanged", "law-northwind": "error", "law-tailspin": "created",
                       "law-woodgrove": "created"}
    entry = [e for e in audit() if e["tool"] == "workbook_copy"][-1]
    assert entry["outcome"] == "partial" and "law-northwind" in entry["error"]


async def test_copy_needs_a_target_other_than_the_source(call) -> None:
    text = error(await call("workbook_copy", workspace="law-tailspin", workbook="Azure Activity",
                            to_workspaces=["law-tailspin"]))
    assert "no target workspace other than law-tailspin" in text
