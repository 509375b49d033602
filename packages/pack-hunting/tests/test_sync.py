"""watchlist_sync: one watchlist made the same in many workspaces and tenants, previewed per workspace,
confirmed once, and checked afterwards with azure-mgmt-securityinsight in each workspace."""

from __future__ import annotations

import pytest
from hunting_testkit import WORKSPACES, data, error

pytestmark = pytest.mark.usefixtures("restore")
IOCS = "Indicator,Type\n203.0.113.7,ip\nbad.example,domain\n198.51.100.9,ip\n"


def _keys(si, ws_name: str, alias: str) -> set[str] | None:
    client, rg, ws = si(ws_name)
    if alias not in {w.name for w in client.watchlists.list(rg, ws)}:
        return None
    key = client.watchlists.get(rg, ws, alias).properties.items_search_key
    return {i.properties.items_key_value[key] for i in client.watchlist_items.list(rg, ws, alias)}


async def test_sync_from_csv_creates_everywhere_then_a_second_sync_changes_nothing(call, si) -> None:
    preview = data(await call("watchlist_sync", alias="MsspIOCs", csv_text=IOCS, search_key="Indicator",
                              display_name="MSSP IOCs"))
    assert preview["confirmation_required"] is True
    per_ws = preview["would_change"]["changes"]["per_workspace"]
    assert set(per_ws) == set(WORKSPACES) and all(p["create_watchlist"] and p["added"] == 3 for p in per_ws.values())
    assert all(_keys(si, w, "MsspIOCs") is None for w in WORKSPACES)
    done = data(await call("watchlist_sync", alias="MsspIOCs", csv_text=IOCS, search_key="Indicator",
                           display_name="MSSP IOCs", confirm=True))
    assert set(done["results"]) == set(WORKSPACES)
    assert all(_keys(si, w, "MsspIOCs") == {"203.0.113.7", "bad.example", "198.51.100.9"} for w in WORKSPACES)
    again = data(await call("watchlist_sync", alias="MsspIOCs", csv_text=IOCS, search_key="Indicator"))
    assert "already is the same everywhere" in again["message"]


async def test_sync_from_a_workspace_adds_updates_and_removes_per_workspace(call, si) -> None:
    client, rg, ws = si("law-northwind")
    from azure.mgmt.securityinsight import models as m

    # law-northwind already has an older VIP list: one stale item, one item with other values
    client.watchlists.begin_create_or_update(rg, ws, "VIPUsers", m.Watchlist(properties=m.WatchlistProperties(
        display_name="VIP users", provider="Microsoft", items_search_key="UserPrincipalName", content_type="text/csv",
        raw_content="UserPrincipalName,Title,Department\nformer@tailspintoys.com,Ex,Gone\n"
                    "ceo@tailspintoys.com,Old title,Executive\n"))).result()
    preview = data(await call("watchlist_sync", alias="VIPUsers", from_workspace="law-tailspin",
                              workspaces=["law-northwind", "law-fabrikam-prod"]))
    plans = preview["would_change"]["changes"]["per_workspace"]
    assert plans["law-northwind"]["create_watchlist"] is False
    assert plans["law-northwind"]["removed"] == 1 and plans["law-northwind"]["updated"] == 1
    assert plans["law-northwind"]["added"] == 5
    assert plans["law-northwind"]["examples"]["removed"] == ["former@tailspintoys.com"]
    source = _keys(si, "law-tailspin", "VIPUsers")
    done = data(await call("watchlist_sync", alias="VIPUsers", from_workspace="law-tailspin", confirm=True,
                           workspaces=["law-northwind", "law-fabrikam-prod"]))
    assert done["results"]["law-northwind"] == {"created": False, "added": 5, "updated": 1, "removed": 1}
    assert _keys(si, "law-northwind", "VIPUsers") == source == _keys(si, "law-fabrikam-prod", "VIPUsers")
    client, rg, ws = si("law-northwind")
    ceo = next(i for i in client.watchlist_items.list(rg, ws, "VIPUsers")
               if i.properties.items_key_value["UserPrincipalName"] == "ceo@tailspintoys.com")
    assert ceo.properties.items_key_value["Title"] == "Chief Executive Officer"


async def test_a_workspace_whose_watchlist_has_another_search_key_is_reported_not_changed(call, si) -> None:
    client, rg, ws = si("law-northwind")
    from azure.mgmt.securityinsight import models as m

    client.watchlists.begin_create_or_update(rg, ws, "MsspIOCs", m.Watchlist(properties=m.WatchlistProperties(
        display_name="x", provider="Microsoft", items_search_key="Value", content_type="text/csv",
        raw_content="Value\nzzz\n"))).result()
    done = data(await call("watchlist_sync", alias="MsspIOCs", csv_text=IOCS, search_key="Indicator", confirm=True,
                           workspaces=["law-northwind", "law-tailspin"]))
    assert "keyed by 'Value'" in done["errors"]["law-northwind"]
    assert _keys(si, "law-northwind", "MsspIOCs") == {"zzz"}
    assert _keys(si, "law-tailspin", "MsspIOCs") == {"203.0.113.7", "bad.example", "198.51.100.9"}
    nothing = error(await call("watchlist_sync", alias="MsspIOCs", csv_text=IOCS, workspaces=["law-tailspin"]))
    assert "give search_key" in nothing
