"""Failures along the way: one customer's outage does not fail a hunt or a sync elsewhere, and item writes
that fail are reported per item and audited as a partial change (the emulator's fault injection)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hunting_testkit import data

pytestmark = pytest.mark.usefixtures("restore")


async def test_a_tenant_outage_is_that_workspaces_error_in_a_hunt(emulator_faults, call) -> None:
    emulator_faults.add_fault(match={"tenant": "northwind"}, status=503)
    answer = data(await call("hunting_run", tactic="InitialAccess", workspaces="all"))
    # northwind's outage starts at sign-in: discovery cannot list its subscription, and the answer says so
    (why,) = [v for k, v in answer["errors"].items() if "Northwind" in k]
    assert "tenant northwind" in why and "subscription Northwind Security" in answer["summary"].split("not reached: ")[1]
    (query,) = answer["queries"]
    assert set(query["results"]) == {"law-contoso-soc", "law-fabrikam-prod", "law-tailspin", "law-woodgrove"}
    assert answer["summary"].startswith("InitialAccess: hits in 4 of 4 customers")


async def test_failed_item_writes_are_reported_and_audited_as_partial(emulator_faults, call, si,
                                                                      sentinelkit_env) -> None:
    emulator_faults.add_fault(match={"method": "PUT", "path": r"/watchlistItems/[^/]+$"}, status=400,
                              fraction=0.3, seed=11)
    rows = [{"UserPrincipalName": f"vip{i:03d}@tailspintoys.com", "Title": "x"} for i in range(60)]
    result = data(await call("watchlist_item_add", workspace="law-tailspin", alias="VIPUsers", rows=rows))
    failed = [r for r in result["results"] if r["result"] == "failed"]
    assert failed and result["counts"]["added"] + len(failed) == 60 and result["written"] == 60 - len(failed)
    client, rg, ws = si("law-tailspin")
    stored = {i.properties.items_key_value["UserPrincipalName"] for i in client.watchlist_items.list(rg, ws, "VIPUsers")}
    assert not {r["key"] for r in failed} & stored and len(stored) == 6 + 60 - len(failed)
    audit = [json.loads(line) for line in Path(sentinelkit_env["SENTINELKIT_AUDIT_LOG"]).read_text().splitlines()]
    assert audit[-1]["tool"] == "watchlist_item_add" and audit[-1]["outcome"] == "partial"
    emulator_faults.clear_faults()
    retry = data(await call("watchlist_item_add", workspace="law-tailspin", alias="VIPUsers", rows=rows))
    assert retry["counts"]["unchanged"] == 60 - len(failed)
