"""hunting_run through a real MCP client: one query or a whole tactic/technique across every workspace and
tenant, hits per workspace, failures and why, the customers summary, and progress per query and workspace."""

from __future__ import annotations

import pytest
from hunting_testkit import WORKSPACES, data, error

pytestmark = pytest.mark.usefixtures("restore")
FAILED_SIGNINS = ("SigninLogs\n| where TimeGenerated between (todatetime('{{StartTimeISO}}') .. "
                  "todatetime('{{EndTimeISO}}'))\n| where ResultType != \"0\"\n"
                  "| summarize Failures = count() by UserPrincipalName\n| order by Failures desc")


async def test_a_technique_across_every_workspace_with_progress(client, call) -> None:
    for ws in ("law-tailspin", "law-northwind", "law-woodgrove"):
        data(await call("hunting_query_create", workspace=ws, display_name="Failed sign-ins", query=FAILED_SIGNINS,
                        tactics=["CredentialAccess"], techniques=["T1110", "T1078"]))
    data(await call("hunting_query_create", workspace="law-fabrikam-prod", display_name="Okta failures",
                    query="Okta_CL | where outcome_result_s == 'FAILURE'", techniques=["T1078.004"]))
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    result = await client.call_tool("hunting_run", {"technique": "T1078", "timespan": "P7D", "rows_per_workspace": 2},
                                    progress_handler=on_progress, raise_on_error=False)
    answer = data(result)
    assert answer["summary"].startswith("T1078: hits in 3 of 5 customers")
    by_name = {q["query"]: q for q in answer["queries"]}
    failed = by_name["Failed sign-ins"]
    assert failed["hits_in"] == "3 of 3 workspaces" and failed["techniques"] == ["T1110", "T1078"]
    tailspin = failed["results"]["law-tailspin"]
    assert tailspin["rows"] > 0 and len(tailspin["first_rows"]) == 2
    assert set(tailspin["first_rows"][0]) == {"UserPrincipalName", "Failures"}
    okta = by_name["Okta failures"]
    assert okta["hits_in"] == "0 of 1 workspaces"
    assert "cannot run here" in okta["failed"]["law-fabrikam-prod"] and "Okta_CL" in okta["failed"]["law-fabrikam-prod"]
    assert answer["workspaces_without_matching_queries"] == ["law-contoso-soc"]
    runs = [m for m in progress if " in law-" in m]
    assert len(runs) == 4 and "Failed sign-ins in law-tailspin" in " ".join(runs) and runs[-1].endswith("(4/4)")

async def test_one_query_from_the_mssp_library_runs_in_every_customer(call) -> None:
    data(await call("hunting_query_create", workspace="law-contoso-soc", display_name="Heartbeat count",
                    query="Heartbeat | summarize Beats = count() by Computer", tactics=["Discovery"]))
    answer = data(await call("hunting_run", query="heartbeat count", from_workspace="law-contoso-soc",
                             workspaces="all", rows_per_workspace=0))
    results = answer["queries"][0]["results"]
    assert set(results) == set(WORKSPACES) and all(r["first_rows"] == [] for r in results.values())
    assert all(r["rows"] > 0 for r in results.values())
    assert answer["summary"].startswith("query 'heartbeat count': hits in 5 of 5 customers")


async def test_a_broken_query_is_reported_per_workspace_and_the_selection_is_checked(call, la) -> None:
    client, rg, ws = la("law-northwind")
    from azure.mgmt.loganalytics.models import SavedSearch

    # saved behind the pack's back (another tool that does not check syntax)
    client.saved_searches.create_or_update(rg, ws, "broken-hunt", SavedSearch(
        category="Hunting Queries", display_name="Broken hunt", query="SecurityEvent | where | take 1",
        tags=[{"name": "tactics", "value": "Execution"}]))
    answer = data(await call("hunting_run", tactic="Execution", workspace="law-northwind"))
    broken = next(q for q in answer["queries"] if q["query"] == "Broken hunt")
    assert broken["failed"]["law-northwind"].startswith("syntax error")
    fine = next(q for q in answer["queries"] if q["query"] == "Rare processes on domain controllers")
    assert "law-northwind" in fine["results"]
    assert "say what to hunt" in error(await call("hunting_run", workspaces="all"))
    too_many = error(await call("hunting_run", tactic="Execution", workspace="law-northwind", max_queries=1))
    assert "2 hunting queries match tactic Execution; at most 1 per call" in too_many
    bad_span = error(await call("hunting_run", tactic="Execution", timespan="yesterday"))
    assert "not a duration" in bad_span
