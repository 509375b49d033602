"""Revisions (every save keeps one), restoring one, and deleting a workbook — through a real MCP client,
cross-checked with azure-mgmt-applicationinsights."""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.applicationinsights.v2023_06_01.models import WorkbookUpdateParameters
from workbooks_testkit import WORKSPACES, data, error, sdk_by_name, sdk_workbooks


async def test_revisions_list_newest_first_and_restore_puts_one_back(call, insights, restore) -> None:
    tenant, rg = WORKSPACES["law-fabrikam-prod"]
    sdk = insights(tenant).workbooks
    wb = sdk_by_name(insights, "law-fabrikam-prod", "Identity & Access")
    original = json.loads(wb.serialized_data)
    edited = {**original, "items": original["items"][:1]}
    sdk.update(rg, wb.name, workbook_update_parameters=WorkbookUpdateParameters(
        display_name="Identity (trimmed)", serialized_data=json.dumps(edited)))
    out = data(await call("workbook_revisions", workspace="law-fabrikam-prod", workbook="Identity (trimmed)"))
    sdk_revisions = list(sdk.revisions_list(rg, wb.name))
    assert {r["revision"] for r in out["revisions"]} == {r.name for r in sdk_revisions} and out["total"] == 2
    newest, oldest = out["revisions"]
    assert newest["current"] is True and newest["name"] == "Identity (trimmed)" and newest["steps"] == 1
    assert oldest["revision"] == wb.revision and oldest["name"] == "Identity & Access" and oldest["steps"] == 2
    preview = data(await call("workbook_restore", workspace="law-fabrikam-prod", workbook=wb.name,
                              revision=wb.revision, dry_run=True))
    assert preview["would_change"]["changes"]["steps"] == {"now": 1, "restored": 2}
    done = data(await call("workbook_restore", workspace="law-fabrikam-prod", workbook=wb.name, revision=wb.revision))
    assert done["action"] == "restored" and done["replaced_revision"] == newest["revision"]
    back = sdk.get(rg, wb.name, can_fetch_content=True)
    assert back.display_name == "Identity & Access" and json.loads(back.serialized_data) == original
    assert len(list(sdk.revisions_list(rg, wb.name))) == 3  # the restore is a revision too: it can be undone
    same = data(await call("workbook_restore", workspace="law-fabrikam-prod", workbook=wb.name, revision=wb.revision))
    assert same["action"] == "unchanged"
    text = error(await call("workbook_restore", workspace="law-fabrikam-prod", workbook=wb.name, revision="nope"))
    assert "has no revision 'nope'" in text and wb.revision in text


async def test_delete_previews_then_deletes_with_its_revisions(call, insights, audit, restore) -> None:
    tenant, rg = WORKSPACES["law-northwind"]
    wb = sdk_by_name(insights, "law-northwind", "Data collection health monitoring")
    preview = data(await call("workbook_delete", workspace="law-northwind", workbook="Data collection health monitoring"))
    assert preview["confirmation_required"] is True and wb.name in preview["would_change"]["summary"]
    assert preview["would_change"]["changes"]["etag"] == wb.etag
    assert sdk_by_name(insights, "law-northwind", "Data collection health monitoring").etag == wb.etag
    done = data(await call("workbook_delete", workspace="law-northwind", workbook=wb.name, confirm=True))
    assert done["deleted"] == "Data collection health monitoring" and done["id"] == wb.name
    assert wb.name not in {w.name for w in sdk_workbooks(insights, "law-northwind")}
    with pytest.raises(ResourceNotFoundError):
        list(insights(tenant).workbooks.revisions_list(rg, wb.name))
    assert audit()[-1]["outcome"] == "applied" and audit()[-1]["confirmed_by"] == "confirm_flag"
    text = error(await call("workbook_delete", workspace="law-northwind", workbook=wb.name, confirm=True))
    assert "no Sentinel workbook" in text
