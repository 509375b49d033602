"""rule_test (alerts per day a rule would have raised), rule_coverage (MITRE ATT&CK per workspace and the gaps)
and kql_validate (Microsoft's parser against each workspace's tables) through a real MCP client."""

from __future__ import annotations

from collections import Counter

import pytest
from rules_testkit import failure, out

STOPPED = "Heartbeat\n| where Computer startswith 'nw-dc-02.'"


async def test_rule_test_counts_alerts_per_day_with_the_threshold(call) -> None:
    # nw-dc-02 sent its last heartbeat 26 hours ago (SCENARIO.md: heartbeat_stopped), every hour before that
    daily = out(await call("rule_test", workspace="law-northwind", query=STOPPED, query_frequency="1d",
                           query_period="1d", days=3))
    result = daily["results"]["law-northwind"]
    assert result["runs"] == 3 and result["trigger"] == "results GreaterThan 0"
    runs = sorted(result["per_day"].items())
    assert sum(d["alerts"] for _, d in runs) == 2  # the last daily run sees no heartbeat: no alert
    assert runs[-1][1]["results"] == 0 and all(d["results"] >= 20 for _, d in runs[:-1] if d["alerts"])
    strict = out(await call("rule_test", workspace="law-northwind", query=STOPPED, query_frequency="1d",
                            query_period="1d", trigger_threshold=100, days=3))
    assert strict["results"]["law-northwind"]["alerts"] == 0


async def test_rule_test_runs_an_existing_rule_in_several_workspaces(call) -> None:
    tested = out(await call("rule_test", workspaces=["law-northwind", "law-tailspin"], rule="NRT Security event log cleared",
                            days=1))
    assert set(tested["results"]) | set(tested.get("errors", {})) == {"law-northwind", "law-tailspin"}
    for result in tested["results"].values():
        assert result["runs"] == 200 and "grouped into 200 windows" in result["note"]
    text = failure(await call("rule_test", workspace="law-northwind", query="Heartbeat", days=90))
    assert "days must be from 1 to 30" in text


async def test_coverage_per_workspace_matches_the_enabled_rules_and_shows_the_gaps(call, si) -> None:
    coverage = out(await call("rule_coverage"))
    for workspace, tenant in (("law-northwind", "northwind"), ("law-fabrikam-prod", "fabrikam")):
        client, rg, ws = si(tenant)
        enabled = [r for r in client.alert_rules.list(rg, ws) if r.properties.get("enabled")]
        tactics = Counter(t for r in enabled for t in set(r.properties.get("tactics") or []))
        row = coverage["workspaces"][workspace]
        assert row["rules"] == len(enabled) and row["tactics"] == dict(tactics)
    everywhere = set.intersection(*(set(v["tactics"]) for v in coverage["workspaces"].values()))
    assert set(coverage["tactics_everywhere"]) == everywhere
    assert "Reconnaissance" in coverage["tactics_nowhere"]
    for key, row in coverage["workspaces"].items():
        for where in row["gaps"]["techniques"].values():
            assert key not in where and where


async def test_disabling_a_rule_opens_a_gap(call, restore) -> None:
    before = out(await call("rule_coverage", workspace="law-tailspin", show_techniques=True))["workspaces"]["law-tailspin"]
    rules = out(await call("rule_list", workspace="law-tailspin", enabled=True, kind="Scheduled",
                           fields=["name", "techniques"], limit=100))["rules"]
    single = next(t for t, n in before["techniques"].items() if n == 1)
    owner = next(r for r in rules if single in r["techniques"])
    out(await call("rule_disable", workspace="law-tailspin", rule=owner["name"], confirm=True))
    after = out(await call("rule_coverage", workspace="law-tailspin", show_techniques=True))["workspaces"]["law-tailspin"]
    assert single not in after["techniques"] and after["rules"] == before["rules"] - 1


async def test_kql_validate_per_workspace_with_codes_and_positions(call) -> None:
    checked = out(await call("kql_validate", query="CheckoutEvents_CL | where TimeGenerated > ago(1h)",
                             workspaces="all"))
    assert checked["results"]["law-tailspin"]["ok"] is True
    assert "law-tailspin" not in checked["invalid_in"] and "law-northwind" in checked["invalid_in"]
    assert checked["results"]["law-northwind"]["missing_tables"] == ["CheckoutEvents_CL"]
    column = out(await call("kql_validate", query="SigninLogs\n| where ResultTyp == '0'", workspace="law-northwind"))
    d = column["results"]["law-northwind"]["diagnostics"][0]
    assert (d["code"], d["line"], d["column"]) == ("KS142", 2, 9) and "ResultTyp" in d["message"]
    syntax = out(await call("kql_validate", query="SigninLogs | where"))
    assert syntax["scope"] == "syntax" and syntax["ok"] is False and syntax["diagnostics"][0]["code"].startswith("KS")


async def test_kql_validate_knows_watchlists_saved_functions_and_asim(call) -> None:
    query = ("_GetWatchlist('VIPUsers') | project SearchKey\n| join (_Im_NetworkSession(starttime=ago(1h)) "
             "| project SearchKey = SrcIpAddr) on SearchKey\n| union (FailedSignins(7d))")
    checked = out(await call("kql_validate", query=query, workspace="law-tailspin"))
    result = checked["results"]["law-tailspin"]
    assert result["ok"] is True, result
    assert result["complete"] is False and "_Im_NetworkSession is one of Microsoft Sentinel's built-in ASIM" in result["partial"]


@pytest.fixture
def without_kql(monkeypatch):
    from sentinelkit_rules import kqlcheck

    monkeypatch.setattr(kqlcheck, "available", lambda: False)


async def test_without_the_kql_extra_the_check_is_partial_and_says_so(call, without_kql, restore) -> None:
    checked = out(await call("kql_validate", query="SigninLogs | where (ResultType == '0'", workspace="law-tailspin"))
    result = checked["results"]["law-tailspin"]
    assert result["engine"] == "lexical" and result["complete"] is False and result["ok"] is False
    assert "sentinelkit-rules[kql]" in result["partial"] and "never closed" in result["diagnostics"][0]["message"]
    created = out(await call("rule_create", workspace="law-tailspin", display_name="Partial check",
                             query="SigninLogs | take 1"))
    assert created["validation"]["complete"] is False and "sentinelkit-rules[kql]" in created["validation"]["partial"]
