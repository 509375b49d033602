"""Saved functions through a real MCP client, cross-checked with azure-mgmt-loganalytics, and called from
KQL through azure-monitor-query (parameters, defaults, a function calling another and a watchlist)."""

from __future__ import annotations

import pytest
from hunting_testkit import data, error

pytestmark = pytest.mark.usefixtures("restore")
WS = "law-tailspin"


async def test_create_a_function_with_parameters_and_call_it_from_kql(call, la, kql) -> None:
    made = data(await call("function_create", workspace=WS, alias="VipDepartment",
                           body="_GetWatchlist('VIPUsers') | where Department == dept | project UserPrincipalName, Title",
                           parameters="dept:string = 'Finance'", display_name="VIP users of a department"))
    assert made["created"] and made["alias"] == "VipDepartment"
    client, rg, ws = la(WS)
    stored = next(s for s in client.saved_searches.list_by_workspace(rg, ws).value if s.function_alias == "VipDepartment")
    assert stored.function_parameters == "dept:string = 'Finance'" and stored.category == "Functions"
    default = kql(WS, "VipDepartment()")
    assert [c for c in default.columns] == ["UserPrincipalName", "Title"]
    assert [r[0] for r in default.rows] == ["cfo@tailspintoys.com"]
    assert len(kql(WS, "VipDepartment('Executive')").rows) == 2
    # a second function calls the first one (and gets its parameter through)
    data(await call("function_create", workspace=WS, alias="VipCount", body="VipDepartment(dept) | count",
                    parameters="dept:string"))
    assert kql(WS, "VipCount('Executive')").rows[0][0] == 2
    again = data(await call("function_create", workspace=WS, alias="VipCount", body="VipDepartment(dept) | count",
                            parameters="dept:string"))
    assert again["created"] is False


async def test_function_get_shows_body_and_what_it_reads(call) -> None:
    data(await call("function_create", workspace=WS, alias="SignedInVips",
                    body="let vips = _GetWatchlist('VIPUsers') | project SearchKey;\n"
                         "SigninLogs // AuditLogs is only named in this comment\n"
                         "| where UserPrincipalName in (vips)\n| join kind=inner (HeartbeatGaps()) on $left.IPAddress "
                         "== $right.Computer\n| extend note = 'SecurityEvent in a string'"))
    got = data(await call("function_get", workspace=WS, alias="signedinvips"))
    assert got["body"].startswith("let vips") and got["parameters"] == ""
    assert got["reads"]["tables"] == ["SigninLogs"]
    assert got["reads"]["functions"] == ["HeartbeatGaps"] and got["reads"]["watchlists"] == ["VIPUsers"]
    listed = data(await call("function_list", workspaces="all", text="failedsignins", limit=10))
    assert len(listed["functions"]) == 5 and all(f["parameters"] == "lookback:timespan = 1d"
                                                  for f in listed["functions"])


async def test_an_alias_that_is_a_table_and_a_body_with_a_syntax_error_are_refused(call, la) -> None:
    client, rg, ws = la(WS)
    before = {s.name: s.etag for s in client.saved_searches.list_by_workspace(rg, ws).value}
    clash = error(await call("function_create", workspace=WS, alias="SigninLogs", body="SigninLogs | take 1"))
    assert "is the name of the table 'SigninLogs'" in clash and "Nothing was written" in clash
    taken = error(await call("function_create", workspace=WS, alias="heartbeatgaps", body="Heartbeat | take 1"))
    assert "already has a function 'heartbeatgaps'" in taken
    broken = error(await call("function_create", workspace=WS, alias="Broken", body="Heartbeat | where == 1",
                              parameters="n:int = 1"))
    assert "syntax error" in broken and "Nothing was written" in broken
    bad_alias = error(await call("function_create", workspace=WS, alias="my-func", body="Heartbeat"))
    assert "is invalid" in bad_alias
    rename = error(await call("function_update", workspace=WS, alias="HeartbeatGaps", new_alias="Heartbeat"))
    assert "is the name of the table 'Heartbeat'" in rename
    after = {s.name: s.etag for s in client.saved_searches.list_by_workspace(rg, ws).value}
    assert after == before


async def test_update_with_etag_then_delete_says_who_called_it(call, la, kql) -> None:
    got = data(await call("function_get", workspace=WS, alias="HeartbeatGaps"))
    data(await call("function_create", workspace=WS, alias="GapCount", body="HeartbeatGaps() | count"))
    updated = data(await call("function_update", workspace=WS, alias="HeartbeatGaps", etag=got["etag"],
                              parameters="threshold:timespan = 2h"))
    assert updated["changed"] and updated["changes"] == ["functionParameters"]
    stale = error(await call("function_update", workspace=WS, alias="HeartbeatGaps", etag=got["etag"],
                             body="Heartbeat | take 1"))
    assert "changed since you read it" in stale
    assert kql(WS, "HeartbeatGaps(1d) | count").rows[0][0] >= 0
    preview = data(await call("function_delete", workspace=WS, alias="HeartbeatGaps"))
    assert preview["confirmation_required"] is True
    done = data(await call("function_delete", workspace=WS, alias="HeartbeatGaps", confirm=True))
    assert done["called_by"] == ["GapCount"]
    client, rg, ws = la(WS)
    assert "HeartbeatGaps" not in {s.function_alias for s in client.saved_searches.list_by_workspace(rg, ws).value}
