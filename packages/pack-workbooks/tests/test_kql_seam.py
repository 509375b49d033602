"""With the optional ``sentinelkit-kql`` installed, every query of an imported workbook is also checked by its
validator (Microsoft's parser, or its syntax-only fallback), and the problems are reported per query; without
it, the answer says the table check is all there was."""

from __future__ import annotations

import json

import pytest
from sentinelkit_workbooks import checks
from workbooks_testkit import data

TEMPLATE = {"version": "Notebook/1.0", "items": [
    {"type": 3, "name": "broken", "content": {"title": "Broken", "queryType": 0,
                                               "query": "SecurityEvent | summarize count( by Computer"}},
    {"type": 3, "name": "typo", "content": {"title": "Typo", "queryType": 0,
                                             "query": "SigninLogs | where TimeGenerated {TimeRange} | where ResultTyp == '0'"}},
    {"type": 3, "name": "fine", "content": {"title": "Fine", "queryType": 0,
                                             "query": "SigninLogs | where TimeGenerated {TimeRange} | summarize count() "
                                                      "by bin(TimeGenerated, {TimeRange:grain})"}}]}


async def _preview(call) -> dict:
    out = data(await call("workbook_import", workspace="law-tailspin", workbook_json=json.dumps(TEMPLATE),
                          display_name="KQL check", dry_run=True))
    return out["would_change"]["changes"]["tables"]


@pytest.mark.skipif(checks.microsoft_validator() is None, reason="sentinelkit-kql is not installed")
async def test_the_validator_reports_problems_per_query(call) -> None:
    found = await _preview(call)
    rows = {q["step"]: q for q in found["queries"]}
    assert found["checked"] == 3 and found["kql_validator"] in ("microsoft", "syntax-only")
    assert rows["1"]["kql"]["errors"] and "3" not in rows  # the valid query, parameters and all, passes
    if found["kql_validator"] == "microsoft":
        assert any("ResultTyp" in e for e in rows["2"]["kql"]["errors"])
    assert "sample values" in found["parameters"]


async def test_without_the_validator_the_table_check_says_so(call, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "microsoft_validator", lambda: None)  # as where sentinelkit-kql is not installed
    found = await _preview(call)
    assert found["checked"] == 3 and found["queries"] == [] and "not installed" in found["kql_validator"]
