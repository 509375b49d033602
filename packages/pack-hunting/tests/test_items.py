"""Watchlist items by search-key value: idempotent adds, bulk with a result per item, updates with etags,
removals that report what was absent; cross-checked with azure-mgmt-securityinsight."""

from __future__ import annotations

import pytest
from hunting_testkit import data, error

pytestmark = pytest.mark.usefixtures("restore")
WS = "law-tailspin"


def _items(si, alias: str = "VIPUsers") -> dict[str, dict[str, str]]:
    client, rg, ws = si(WS)
    return {i.properties.items_key_value["UserPrincipalName"]: i.properties.items_key_value
            for i in client.watchlist_items.list(rg, ws, alias)}


async def test_bulk_add_is_idempotent_and_reports_each_item(call, si) -> None:
    before = _items(si)
    rows = [{"UserPrincipalName": f"vip{i:03d}@tailspintoys.com", "Title": "Director", "Department": "Sales"}
            for i in range(300)]
    rows.append(dict(before["cfo@tailspintoys.com"]))  # already there, same values
    rows.append({"UserPrincipalName": "ceo@tailspintoys.com", "Title": "Chief Exec", "Department": "Board"})
    first = data(await call("watchlist_item_add", workspace=WS, alias="VIPUsers", rows=rows))
    assert first["counts"] == {"added": 300, "unchanged": 1, "exists_with_other_values": 1}
    assert first["written"] == 300
    assert len(_items(si)) == len(before) + 300
    second = data(await call("watchlist_item_add", workspace=WS, alias="VIPUsers", rows=rows))
    assert second["written"] == 0 and "nothing to write" in second["message"]
    assert second["counts"] == {"unchanged": 301, "exists_with_other_values": 1}
    assert second["results"][0] == {"key": "ceo@tailspintoys.com", "result": "exists_with_other_values",
                                    "hint": "use watchlist_item_update to change it"}
    assert len(_items(si)) == len(before) + 300
    assert _items(si)["ceo@tailspintoys.com"]["Title"] == before["ceo@tailspintoys.com"]["Title"]


async def test_update_changes_the_given_columns_and_reports_unknown_keys(call, si) -> None:
    result = data(await call("watchlist_item_update", workspace=WS, alias="VIPUsers",
                             csv_text="UserPrincipalName,Title\nCEO@tailspintoys.com,Chief Exec\n"
                                      "nobody@tailspintoys.com,Ghost\n"))
    assert result["counts"] == {"not_found": 1, "updated": 1}
    after = _items(si)["ceo@tailspintoys.com"]
    assert after["Title"] == "Chief Exec" and after["Department"] == "Executive"
    again = data(await call("watchlist_item_update", workspace=WS, alias="VIPUsers",
                            rows=[{"UserPrincipalName": "ceo@tailspintoys.com", "Title": "Chief Exec"}]))
    assert again["written"] == 0


async def test_remove_asks_then_removes_and_reports_absent_keys(call, si, kql) -> None:
    preview = data(await call("watchlist_item_remove", workspace=WS, alias="VIPUsers",
                              keys=["ceo@tailspintoys.com", "ghost@tailspintoys.com"]))
    assert preview["confirmation_required"] is True
    assert "ceo@tailspintoys.com" in _items(si)
    done = data(await call("watchlist_item_remove", workspace=WS, alias="VIPUsers", confirm=True,
                           keys=["ceo@tailspintoys.com", "ghost@tailspintoys.com"]))
    assert done["counts"] == {"absent": 1, "removed": 1}
    assert "ceo@tailspintoys.com" not in _items(si)
    assert kql(WS, "_GetWatchlist('VIPUsers') | where SearchKey == 'ceo@tailspintoys.com' | count").rows[0][0] == 0
    none = data(await call("watchlist_item_remove", workspace=WS, alias="VIPUsers", keys=["ghost@tailspintoys.com"]))
    assert none["written"] == 0


async def test_items_need_the_search_key_and_a_known_watchlist(call, si) -> None:
    before = _items(si)
    missing = error(await call("watchlist_item_add", workspace=WS, alias="VIPUsers", rows=[{"Title": "x"}]))
    assert "search-key column 'UserPrincipalName'" in missing
    dup = error(await call("watchlist_item_add", workspace=WS, alias="VIPUsers",
                           rows=[{"UserPrincipalName": "a@x"}, {"UserPrincipalName": "A@x"}]))
    assert "row 2 repeats the search-key value 'A@x' of row 1" in dup
    unknown = error(await call("watchlist_item_add", workspace=WS, alias="Nope", rows=[{"a": "b"}]))
    assert "no watchlist 'Nope'" in unknown and "VIPUsers" in unknown
    assert _items(si) == before
    page = data(await call("watchlist_item_list", workspace=WS, alias="VIPUsers", search="cfo", limit=5))
    assert [i["UserPrincipalName"] for i in page["items"]] == ["cfo@tailspintoys.com"]
