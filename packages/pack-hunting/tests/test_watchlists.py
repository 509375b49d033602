"""Watchlists through a real MCP client, cross-checked with azure-mgmt-securityinsight and the query API
(``_GetWatchlist`` and the ``Watchlist`` table): the three sources of items, batched uploads, and bad
input that writes nothing."""

from __future__ import annotations

import csv
import io

import pytest
from hunting_testkit import data, error

pytestmark = pytest.mark.usefixtures("restore")
WS = "law-northwind"
IOC_CSV = "Indicator,Type,Note\n203.0.113.7,ip,c2\nbad.example,domain,phish\n198.51.100.9,ip,scanner\n"


@pytest.fixture
def small_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    """One watchlist PUT carries at most 2,000 bytes of CSV (instead of 3.8 MB): batching shows with 100 rows."""
    monkeypatch.setenv("SENTINELKIT_HUNTING_MAX_UPLOAD_BYTES", "2000")
    monkeypatch.setenv("SENTINELKIT_HUNTING_MAX_ITEM_UPLOADS", "150")


async def test_create_from_csv_text_shows_in_the_sdk_in_getwatchlist_and_in_the_watchlist_table(call, si, kql) -> None:
    made = data(await call("watchlist_create", workspace=WS, alias="IOCs", display_name="IOCs from CTI",
                           search_key="Indicator", csv_text=IOC_CSV, provider="CTI team", description="Feed A"))
    assert made == {"created": "IOCs", "workspace": WS, "items": 3, "uploaded_in_one_put": 3, "written_one_by_one": 0}
    client, rg, ws = si(WS)
    wl = client.watchlists.get(rg, ws, "IOCs")
    assert (wl.properties.items_search_key, wl.properties.provider, wl.properties.description) == \
        ("Indicator", "CTI team", "Feed A")
    assert sorted(i.properties.items_key_value["Indicator"] for i in client.watchlist_items.list(rg, ws, "IOCs")) == \
        ["198.51.100.9", "203.0.113.7", "bad.example"]
    got = kql(WS, "_GetWatchlist('IOCs') | order by SearchKey asc")
    assert list(got.columns) == ["_DTItemId", "LastUpdatedTimeUTC", "SearchKey", "Indicator", "Type", "Note"]
    assert [r[2] for r in got.rows] == ["198.51.100.9", "203.0.113.7", "bad.example"]
    table = kql(WS, "Watchlist | where WatchlistAlias == 'IOCs' | summarize count() by _DTItemType, _DTItemStatus")
    assert sorted(tuple(r) for r in table.rows) == [("watchlist", "Create", 1), ("watchlist-item", "Create", 3)]
    listed = data(await call("watchlist_list", workspace=WS))
    row = next(w for w in listed["watchlists"] if w["alias"] == "IOCs")
    assert row["items"] == 3 and row["search_key"] == "Indicator" and row["provider"] == "CTI team"
    shown = data(await call("watchlist_get", workspace=WS, alias="IOCs", sample=2))
    assert shown["columns"] == ["Indicator", "Type", "Note"] and len(shown["sample"]) == 2


async def test_create_from_a_csv_file_and_from_rows(call, si, export_dir) -> None:
    (export_dir / "lists").mkdir()
    (export_dir / "lists" / "assets.csv").write_text("\ufeffexported by CMDB\nHostname,Owner\nSRV-1,ops\nSRV-2,dev\n")
    made = data(await call("watchlist_create", workspace=WS, alias="Assets", display_name="Assets",
                           search_key="Hostname", csv_file="lists/assets.csv", skip_lines=1))
    assert made["items"] == 2
    client, rg, ws = si(WS)
    assert client.watchlists.get(rg, ws, "Assets").properties.source == "assets.csv"
    rows = [{"UPN": f"user{i}@northwind.example", "Risk": i % 3} for i in range(40)]
    made = data(await call("watchlist_create", workspace=WS, alias="RiskyUsers", display_name="Risky users",
                           search_key="UPN", rows=rows))
    assert made["items"] == 40
    items = list(client.watchlist_items.list(rg, ws, "RiskyUsers"))
    assert len(items) == 40 and {i.properties.items_key_value["Risk"] for i in items} == {"0", "1", "2"}


async def test_a_csv_over_the_upload_limit_goes_in_as_one_upload_plus_items(small_uploads, call, si, kql) -> None:
    rows = "".join(f"host-{i:04d}.northwind.example,owner-{i % 7},{'x' * 20}\n" for i in range(100))
    made = data(await call("watchlist_create", workspace=WS, alias="BigHosts", display_name="Many hosts",
                           search_key="Host", csv_text="Host,Owner,Padding\n" + rows))
    assert made["items"] == 100 and 0 < made["uploaded_in_one_put"] < 100
    assert made["uploaded_in_one_put"] + made["written_one_by_one"] == 100
    client, rg, ws = si(WS)
    keys = {i.properties.items_key_value["Host"] for i in client.watchlist_items.list(rg, ws, "BigHosts")}
    assert keys == {f"host-{i:04d}.northwind.example" for i in range(100)}
    assert kql(WS, "_GetWatchlist('BigHosts') | count").rows[0][0] == 100


async def test_bad_csvs_are_refused_with_what_is_wrong_and_nothing_is_written(small_uploads, call, si) -> None:
    client, rg, ws = si(WS)
    before = sorted(w.name for w in client.watchlists.list(rg, ws))
    missing = error(await call("watchlist_create", workspace=WS, alias="NoKey", display_name="x",
                               search_key="IPAddress", csv_text="ipaddress,Note\n1.2.3.4,a\n"))
    assert "no column 'IPAddress'" in missing and "did you mean 'ipaddress'" in missing
    duplicates = error(await call("watchlist_create", workspace=WS, alias="Dupes", display_name="x",
                                  search_key="Indicator", csv_text=IOC_CSV + "203.0.113.7,ip,again\nBAD.example,d,x\n"))
    assert "line 5 repeats the search-key value '203.0.113.7' of line 2" in duplicates
    assert "line 6 repeats the search-key value 'BAD.example' of line 3" in duplicates
    empty_key = error(await call("watchlist_create", workspace=WS, alias="Empty", display_name="x",
                                 search_key="Indicator", csv_text="Indicator,Note\n,orphan\n"))
    assert "line 2 has no value in the search-key column" in empty_key
    ragged = error(await call("watchlist_create", workspace=WS, alias="Ragged", display_name="x",
                              search_key="Indicator", csv_text="Indicator,Note\n1.2.3.4,a,extra\n"))
    assert "line 2 has 3 cells but the header names 2 columns" in ragged and "must be quoted" in ragged
    exists = error(await call("watchlist_create", workspace=WS, alias="VIPUsers", display_name="x",
                              search_key="Indicator", csv_text=IOC_CSV))
    assert "already has a watchlist 'VIPUsers'" in exists or "already has a watchlist" in exists
    assert sorted(w.name for w in client.watchlists.list(rg, ws)) == before


async def test_export_neutralises_formula_cells(call, si, export_dir) -> None:
    nasty = "=cmd|' /C calc'!A0"
    data(await call("watchlist_create", workspace=WS, alias="Nasty", display_name="x", search_key="Value",
                    rows=[{"Value": nasty, "Note": "+SUM(1,2)"}, {"Value": "-x", "Note": "@import"},
                          {"Value": "plain", "Note": "fine"}]))
    client, rg, ws = si(WS)
    stored = {i.properties.items_key_value["Value"] for i in client.watchlist_items.list(rg, ws, "Nasty")}
    assert nasty in stored  # the value itself is data: Sentinel keeps it as given
    done = data(await call("watchlist_item_list", workspace=WS, alias="Nasty", export_file="out/nasty.csv"))
    assert done["exported"] == 3
    rows = list(csv.reader(io.StringIO((export_dir / "out" / "nasty.csv").read_text())))
    assert rows[0] == ["Value", "Note"]
    cells = {c for r in rows[1:] for c in r}
    assert cells == {"'" + nasty, "'+SUM(1,2)", "'-x", "'@import", "plain", "fine"}
    again = error(await call("watchlist_item_list", workspace=WS, alias="Nasty", export_file="out/nasty.csv"))
    assert "exists" in again


async def test_delete_asks_then_removes_the_watchlist_and_its_items(call, si, kql) -> None:
    preview = data(await call("watchlist_delete", workspace="law-tailspin", alias="VIPUsers"))
    assert preview["confirmation_required"] is True and "6 items" in preview["would_change"]["summary"]
    done = data(await call("watchlist_delete", workspace="law-tailspin", alias="VIPUsers", confirm=True))
    assert done == {"deleted": "VIPUsers", "items": 6, "workspace": "law-tailspin"}
    client, rg, ws = si("law-tailspin")
    assert "VIPUsers" not in {w.name for w in client.watchlists.list(rg, ws)}
    assert kql("law-tailspin", "_GetWatchlist('VIPUsers') | count").rows[0][0] == 0
    deleted = kql("law-tailspin", "Watchlist | where WatchlistAlias == 'VIPUsers' and _DTItemStatus == 'Delete' "
                                  "| summarize count() by _DTItemType")
    assert sorted(tuple(r) for r in deleted.rows) == [("watchlist", 1), ("watchlist-item", 6)]


async def test_100000_rows_beyond_one_upload_and_the_item_budget_are_refused_whole(call, si) -> None:
    """100,000 IOCs with a note each: 5.6 MB of CSV. 3.8 MB fit in one PUT; the other ~33,000 would be
    written one by one, over the default budget of 5,000 item writes: refused before anything is written."""
    huge = "Indicator,Note\n" + "".join(f"10.{i // 65536}.{i // 256 % 256}.{i % 256},seen in campaign {i:06d} by CTI\n"
                                        for i in range(100_000))
    too_many = error(await call("watchlist_create", workspace=WS, alias="Huge", display_name="x",
                                search_key="Indicator", csv_text=huge))
    assert "100000 rows" in too_many and "3,800,000 bytes" in too_many and "max_item_uploads (5000" in too_many
    assert "Nothing was written" in too_many
    client, rg, ws = si(WS)
    assert "Huge" not in {w.name for w in client.watchlists.list(rg, ws)}
