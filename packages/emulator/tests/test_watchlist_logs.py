"""The Watchlist table and _GetWatchlist as the service has them, and saved functions called from KQL:
through Microsoft's SDKs (azure-mgmt-securityinsight, azure-mgmt-loganalytics, azure-monitor-query)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.loganalytics.models import SavedSearch
from azure.mgmt.securityinsight import models as m
from test_sentinel_support import ARM_SCOPE, LOGS_AUDIENCE, WORKSPACES, credential, sentinel_emulator, si, sub_id

__all__ = ["sentinel_emulator", "si"]
RG, WS = WORKSPACES["tailspin"]


@pytest.fixture(scope="module")
def logs(sentinel_emulator: Any) -> Callable[[str], Any]:
    from azure.monitor.query import LogsQueryClient

    info = sentinel_emulator.info
    client = LogsQueryClient(credential(sentinel_emulator), endpoint=info["logs_url"], audience=LOGS_AUDIENCE,
                             connection_verify=info["ca_path"])
    customer = next(w["customer_id"] for w in info["workspaces"] if w["name"] == WS)
    return lambda q: client.query_workspace(customer, q, timespan=None).tables[0]


@pytest.fixture(scope="module")
def la(sentinel_emulator: Any) -> Any:
    from azure.mgmt.loganalytics import LogAnalyticsManagementClient

    return LogAnalyticsManagementClient(credential(sentinel_emulator), sub_id(sentinel_emulator, "tailspin"),
                                        base_url=sentinel_emulator.info["arm_url"], credential_scopes=[ARM_SCOPE],
                                        connection_verify=sentinel_emulator.info["ca_path"])


def test_getwatchlist_has_the_columns_of_that_watchlist_only(si: Any, logs: Any) -> None:
    vip = logs("_GetWatchlist('VIPUsers') | take 1")
    assert list(vip.columns) == ["_DTItemId", "LastUpdatedTimeUTC", "SearchKey", "UserPrincipalName", "Title",
                                 "Department"]
    assert vip.columns != list(logs("_GetWatchlist('HighValueAssets') | take 1").columns)
    missing = logs("_GetWatchlist('NoSuchList')")
    assert list(missing.columns) == ["_DTItemId", "LastUpdatedTimeUTC", "SearchKey"] and not missing.rows
    with pytest.raises(HttpResponseError) as err:
        logs("_GetWatchlist('VIPUsers') | project Hostname")  # a column of another watchlist
    assert "Hostname" in str(err.value)


def test_saved_functions_call_each_other_and_watchlists_and_may_not_be_a_table(la: Any, logs: Any) -> None:
    la.saved_searches.create_or_update(RG, WS, "fn-vip", SavedSearch(
        category="Functions", display_name="VIPs of a department", function_alias="VipsOf",
        function_parameters="dept:string = 'Finance'",
        query="_GetWatchlist('VIPUsers') | where Department == dept | project UserPrincipalName"))
    la.saved_searches.create_or_update(RG, WS, "fn-vip-count", SavedSearch(
        category="Functions", display_name="VIP count", function_alias="VipCount", query="VipsOf('Executive') | count"))
    assert [r[0] for r in logs("VipsOf()").rows] == ["cfo@tailspintoys.com"]
    assert logs("VipCount").rows[0][0] == 2
    with pytest.raises(HttpResponseError) as err:
        la.saved_searches.create_or_update(RG, WS, "fn-clash", SavedSearch(
            category="Functions", display_name="clash", function_alias="Heartbeat", query="print 1"))
    assert err.value.status_code == 400 and "is the name of the table 'Heartbeat'" in str(err.value)
    assert "fn-clash" not in {s.name for s in la.saved_searches.list_by_workspace(RG, WS).value}


def test_the_watchlist_table_follows_every_change(si: Any, logs: Any) -> None:
    client = si("tailspin")
    client.watchlist_items.create_or_update(RG, WS, "VIPUsers", "5b0f3a38-4b8c-4a0e-9a43-7d9c6f0e1a11",
                                            m.WatchlistItem(items_key_value={"UserPrincipalName": "new@tailspintoys.com",
                                                                             "Title": "CISO", "Department": "Security"}))
    client.watchlist_items.create_or_update(RG, WS, "VIPUsers", "5b0f3a38-4b8c-4a0e-9a43-7d9c6f0e1a11",
                                            m.WatchlistItem(items_key_value={"UserPrincipalName": "new@tailspintoys.com",
                                                                             "Title": "CSO", "Department": "Security"}))
    client.watchlist_items.delete(RG, WS, "VIPUsers", "5b0f3a38-4b8c-4a0e-9a43-7d9c6f0e1a11")
    rows = logs("Watchlist | where _DTItemId == '5b0f3a38-4b8c-4a0e-9a43-7d9c6f0e1a11' | order by _DTTimestamp asc "
                "| project _DTItemStatus, _DTItemType, SearchKey, Title = tostring(WatchlistItem.Title)").rows
    assert [tuple(r) for r in rows] == [("Create", "watchlist-item", "new@tailspintoys.com", "CISO"),
                                        ("Update", "watchlist-item", "new@tailspintoys.com", "CSO"),
                                        ("Delete", "watchlist-item", "new@tailspintoys.com", "CSO")]
    # _GetWatchlist is the latest state of each item that is not deleted, as the service derives it
    live = logs("Watchlist | where WatchlistAlias == 'VIPUsers' and _DTItemType == 'watchlist-item' "
                "| summarize arg_max(_DTTimestamp, _DTItemStatus) by _DTItemId | where _DTItemStatus != 'Delete' "
                "| count").rows[0][0]
    assert live == logs("_GetWatchlist('VIPUsers') | count").rows[0][0] == 6
    client.watchlists.begin_delete(RG, WS, "VIPUsers").result()
    gone = logs("Watchlist | where WatchlistAlias == 'VIPUsers' and _DTItemStatus == 'Delete' "
                "| summarize count() by _DTItemType").rows
    assert sorted(tuple(r) for r in gone) == [("watchlist", 1), ("watchlist-item", 7)]
