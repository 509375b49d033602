"""sentinel_health_check through a real MCP client, against the emulator's documented scenario
(packages/emulator/SCENARIO.md): every planted problem is found, the healthy workspaces are not flagged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .conftest import by_workspace, call, titles

HEALTHY = ("law-contoso-soc", "law-woodgrove")

#: SCENARIO.md's planted problems: key -> (workspace, check, words of the finding's title)
PLANTED = {
    "sentinel_not_onboarded": ("law-fabrikam-ops", "sentinel_onboarding", "not onboarded"),
    "rule_failing": ("law-fabrikam-prod", "analytics_rules", "Suspicious PowerShell download cradle"),
    "rules_disabled/1": ("law-fabrikam-prod", "analytics_rules", "Rare RDP connections is disabled"),
    "rules_disabled/2": ("law-fabrikam-prod", "analytics_rules", "Mass download from SharePoint is disabled"),
    "backlog_high_unassigned": ("law-fabrikam-prod", "incident_backlog", "12 High-severity incidents"),
    "dcr_no_association": ("law-fabrikam-prod", "data_collection", "dcr-fabrikam-windows-unused"),
    "basic_plan_custom_table": ("law-fabrikam-prod", "table_retention", "AppAudit_CL"),
    "connector_failing": ("law-northwind", "data_connectors", "Office 365"),
    "heartbeat_stopped": ("law-northwind", "agent_heartbeat", "nw-dc-02"),
    "automation_failing": ("law-northwind", "automation", "Notify SOC on high severity"),
    "retention_below_policy": ("law-northwind", "table_retention", "SecurityEvent"),
    "dce_no_association": ("law-northwind", "data_collection", "dce-northwind-legacy"),
    "ingestion_drop": ("law-northwind", "data_freshness", "AzureActivity"),
    "ingestion_stopped": ("law-tailspin", "data_freshness", "Syslog"),
    "dcr_destination_stopped": ("law-tailspin", "data_collection", "dcr-tailspin-syslog"),
    "rule_auto_disabled": ("law-tailspin", "analytics_rules", "AUTO DISABLED Brute force against Azure Portal"),
    "watchlist_near_expiry": ("law-tailspin", "watchlists", "VIPUsers"),
}
#: true findings that follow from a planted one (the failing Office 365 connector stops OfficeActivity)
CONSEQUENCES = {("law-northwind", "data_freshness", "OfficeActivity")}


def finding(ws: dict[str, Any], check: str, contains: str) -> dict[str, Any]:
    matches = [f for f in ws["findings"] if f["check"] == check and contains in f["title"]]
    assert matches, f"{ws['workspace']}: no {check} finding about {contains!r}; found: {titles(ws)}"
    return matches[0]


async def test_quick_check_finds_every_planted_problem_and_flags_no_healthy_workspace(client: Any) -> None:
    answer = await call(client, "sentinel_health_check", {"tenant_scope": "all", "check_depth": "quick"})
    assert answer["status"] == "critical"
    ws = by_workspace(answer)
    assert set(ws) == {
        "law-contoso-soc",
        "law-fabrikam-ops",
        "law-fabrikam-prod",
        "law-northwind",
        "law-tailspin",
        "law-woodgrove",
    }
    for name in HEALTHY:
        assert ws[name]["status"] == "healthy" and ws[name]["findings"] == [], ws[name]["findings"]
    assert answer["summary"]["healthy"] == 2 and answer["summary"]["workspaces"] == 6

    # law-fabrikam-ops: a Log Analytics workspace without Sentinel
    ops = finding(ws["law-fabrikam-ops"], "sentinel_onboarding", "not onboarded")
    assert ops["recommendation"]
    assert ws["law-fabrikam-ops"]["sentinel"] is False

    prod = ws["law-fabrikam-prod"]
    failing = finding(prod, "analytics_rules", "Suspicious PowerShell download cradle")
    assert failing["severity"] == "critical"
    assert failing["evidence"]["successes_last_24h"] == 0 and failing["evidence"]["failures_last_24h"] > 0
    assert "DeviceProcessEvents" in failing["evidence"]["message"]
    for rule in ("Rare RDP connections", "Mass download from SharePoint"):
        disabled = finding(prod, "analytics_rules", rule)
        assert "disabled" in disabled["title"] and disabled["evidence"]["days_since_change"] == 10.0
    backlog = finding(prod, "incident_backlog", "High-severity")
    assert backlog["evidence"]["count"] == 12 and backlog["evidence"]["oldest_age_days"] <= 25.1

    nw = ws["law-northwind"]
    connector = finding(nw, "data_connectors", "Office 365")
    assert "401" in connector["evidence"]["message"] and connector["evidence"]["successes_last_24h"] == 0
    last_success = dt.datetime.fromisoformat(connector["evidence"]["last_success"].replace("Z", "+00:00"))
    assert 47 <= (dt.datetime.now(dt.UTC) - last_success).total_seconds() / 3600 <= 49  # "2 days ago"
    heartbeat = finding(nw, "agent_heartbeat", "nw-dc-02")
    assert 25.9 <= heartbeat["evidence"]["hours_silent"] <= 26.5
    automation = finding(nw, "automation", "Notify SOC on high severity")
    assert "Notify-SOC-Teams" in automation["evidence"]["message"]
    drop = finding(nw, "data_freshness", "AzureActivity")
    assert drop["severity"] == "warning" and 0.05 <= drop["evidence"]["ratio"] <= 0.15

    ts = ws["law-tailspin"]
    stopped = finding(ts, "data_freshness", "Syslog")
    assert stopped["severity"] == "critical" and stopped["evidence"]["hours_since_last_data"] >= 72
    auto = finding(ts, "analytics_rules", "AUTO DISABLED Brute force against Azure Portal")
    assert "disabled by Microsoft Sentinel" in auto["title"] and auto["evidence"]["sentinel_health"]["last_failure"]
    # a disabled rule is reported once, as disabled, not also as "failing"
    assert len([t for t in titles(ts, "analytics_rules") if "Brute force" in t]) == 1

    # other workspaces have no disabled rule and no stale High-severity backlog
    for name in ("law-northwind", "law-tailspin", *HEALTHY):
        assert not [t for t in titles(ws[name], "incident_backlog")], name
    assert [t for t in titles(ws["law-northwind"], "analytics_rules")] == []
    # every finding says what to do and shows what it saw
    for w in answer["workspaces"]:
        for f in w["findings"]:
            assert f["evidence"] and len(f["recommendation"]) > 30, f


async def test_detailed_check_finds_exactly_what_the_scenario_plants(client: Any) -> None:
    answer = await call(client, "sentinel_health_check", {"check_depth": "detailed"})
    ws = by_workspace(answer)
    for key, (workspace, check, words) in PLANTED.items():
        assert workspace in ws, key
        assert [t for t in titles(ws[workspace], check) if words in t], f"{key}: not found in {titles(ws[workspace])}"
    expected = set(PLANTED.values()) | CONSEQUENCES
    for w in answer["workspaces"]:
        for f in w["findings"]:
            assert any(w["workspace"] == e[0] and f["check"] == e[1] and e[2] in f["title"] for e in expected), (
                f"{w['workspace']}: unexpected finding {f['title']!r}"
            )
    assert answer["summary"]["findings"]["critical"] == 6 and answer["summary"]["healthy"] == 2


async def test_detailed_check_adds_retention_data_collection_and_watchlists(client: Any) -> None:
    answer = await call(client, "sentinel_health_check", {"check_depth": "detailed"})
    assert answer["count"] == answer["total"] == 6 and "truncated" not in answer  # within the size budget
    ws = by_workspace(answer)
    for name in HEALTHY:
        assert ws[name]["findings"] == [], ws[name]["findings"]
    prod = ws["law-fabrikam-prod"]
    basic = finding(prod, "table_retention", "AppAudit_CL")
    assert basic["evidence"]["plan"] == "Basic" and basic["evidence"]["total_retention_days"] == 8
    finding(prod, "data_collection", "dcr-fabrikam-windows-unused")
    nw = ws["law-northwind"]
    retention = finding(nw, "table_retention", "SecurityEvent")
    assert retention["evidence"]["total_retention_days"] == 30 and retention["evidence"]["policy_days"] == 90
    finding(nw, "data_collection", "dce-northwind-legacy")
    ts = ws["law-tailspin"]
    dcr = finding(ts, "data_collection", "dcr-tailspin-syslog")
    assert dcr["evidence"]["stopped_tables"] == ["Syslog"]
    watchlist = finding(ts, "watchlists", "VIPUsers")
    assert watchlist["evidence"]["items"] == 6 and 2.5 <= watchlist["evidence"]["days_left"] <= 3.5
    # only the planted tables are below the policy; only the planted DCR/DCE are unused
    assert [f["resource"] for w in answer["workspaces"] for f in w["findings"] if f["check"] == "table_retention"] == [
        "AppAudit_CL",
        "SecurityEvent",
    ]
    assert sorted(
        f["resource"]
        for w in answer["workspaces"]
        for f in w["findings"]
        if f["check"] == "data_collection" and "no association" in f["title"]
    ) == ["dce-northwind-legacy", "dcr-fabrikam-windows-unused"]


async def test_retention_policy_is_configurable(client: Any) -> None:
    answer = await call(
        client,
        "sentinel_health_check",
        {"tenant_scope": "northwind", "check_depth": "detailed", "min_retention_days": 30},
    )
    nw = by_workspace(answer)["law-northwind"]
    assert not titles(nw, "table_retention")
    assert answer["policy"]["min_retention_days"] == 30


async def test_tenant_scope_and_workspaces_narrow_the_check(client: Any) -> None:
    answer = await call(client, "sentinel_health_check", {"tenant_scope": ["fabrikam", "woodgrove"]})
    assert sorted(by_workspace(answer)) == ["law-fabrikam-ops", "law-fabrikam-prod", "law-woodgrove"]
    one = await call(client, "sentinel_health_check", {"workspaces": ["law-woodgrove"]})
    assert [w["workspace"] for w in one["workspaces"]] == ["law-woodgrove"]
    assert one["status"] == "healthy" and one["summary"]["findings"] == {"critical": 0, "warning": 0, "info": 0}


async def test_fields_limit_and_cursor_keep_the_answer_small(client: Any) -> None:
    first = await call(client, "sentinel_health_check", {"fields": ["workspace", "status"], "limit": 4})
    assert first["workspaces"][0] == {"workspace": "law-contoso-soc", "status": "healthy"}
    assert first["count"] == 4 and first["total"] == 6 and first["status"] == "critical"
    rest = await call(
        client, "sentinel_health_check", {"fields": ["workspace", "status"], "cursor": first["next_cursor"]}
    )
    assert [w["workspace"] for w in rest["workspaces"]] == ["law-tailspin", "law-woodgrove"]


async def test_unknown_tenant_is_a_finding_not_a_failure(client: Any) -> None:
    answer = await call(client, "sentinel_health_check", {"tenant_scope": ["tailspin", "contosso"]})
    assert [w["workspace"] for w in answer["workspaces"]] == ["law-tailspin"]
    [missing] = answer["tenant_findings"]
    assert missing["tenant"] == "contosso" and "tailspin" in missing["evidence"]["known_tenants"]
    assert answer["status"] == "critical"


async def test_second_call_answers_from_the_cache_and_refresh_checks_again(client: Any, emulator_faults: Any) -> None:
    first = await call(client, "sentinel_health_check", {"tenant_scope": "tailspin"})
    assert "cached" not in first
    counter = emulator_faults.add_fault(match={"service": "logs"}, latency_ms=1)
    second = await call(client, "sentinel_health_check", {"tenant_scope": "tailspin"})
    assert second["cached"].startswith("answered from the cache")
    assert second["workspaces"] == [dict(w, cached=True) for w in first["workspaces"]]
    assert _hits(emulator_faults, counter["id"]) == 0
    third = await call(client, "sentinel_health_check", {"tenant_scope": "tailspin", "refresh": True})
    assert "cached" not in third and _hits(emulator_faults, counter["id"]) == 1


def _faults(emu: Any) -> list[dict[str, Any]]:
    return emu.admin.get("/faults").json()["value"]


def _hits(emu: Any, fault_id: str) -> int:
    return next((f["hits"] for f in _faults(emu) if f["id"] == fault_id), 0)


async def test_quick_check_runs_one_query_and_few_arm_calls_per_workspace(client: Any, emulator_faults: Any) -> None:
    await call(client, "workspace_list")  # a running server knows its workspaces
    queries = emulator_faults.add_fault(match={"service": "logs"}, latency_ms=1)
    arm = emulator_faults.add_fault(match={"service": "arm"}, latency_ms=1)
    answer = await call(client, "sentinel_health_check", {"check_depth": "quick"})
    assert _hits(emulator_faults, queries["id"]) == answer["summary"]["workspaces"] == 6
    assert _hits(emulator_faults, arm["id"]) <= 2 * 6


async def test_missing_role_is_named(client: Any, emulator_faults: Any) -> None:
    await call(client, "workspace_list")
    emulator_faults.add_fault(match={"service": "logs", "tenant": "tailspin"}, status=403)
    emulator_faults.add_fault(match={"service": "arm", "tenant": "tailspin", "path": "/alertRules"}, status=403)
    answer = await call(client, "sentinel_health_check", {"tenant_scope": "tailspin,woodgrove"})
    ws = by_workspace(answer)
    access = [f for f in ws["law-tailspin"]["findings"] if f["check"] == "access"]
    assert sorted(f["title"] for f in access) == [
        "the credential lacks the Log Analytics Reader role here",
        "the credential lacks the Microsoft Sentinel Reader role here",
    ]
    assert all("Lighthouse" in f["recommendation"] and "403" in f["evidence"]["error"] for f in access)
    assert ws["law-woodgrove"]["status"] == "healthy"


async def test_a_tenant_down_with_503_is_reported_and_the_others_complete(client: Any, emulator_faults: Any) -> None:
    await call(client, "workspace_list")  # the server has been running: the workspaces are known
    emulator_faults.add_fault(match={"tenant": "northwind"}, status=503)
    answer = await call(client, "sentinel_health_check", {"check_depth": "quick"})
    ws = by_workspace(answer)
    nw = ws["law-northwind"]
    assert nw["status"] == "critical"
    [access] = [f for f in nw["findings"] if f["check"] == "access"]
    assert "503" in access["evidence"]["error"] and "northwind" in access["evidence"]["error"]
    assert "again" in access["recommendation"]
    assert answer["summary"]["unreachable"] == 1
    assert ws["law-contoso-soc"]["status"] == "healthy"
    assert finding(ws["law-tailspin"], "data_freshness", "Syslog")
    assert finding(ws["law-fabrikam-prod"], "incident_backlog", "High-severity")


async def test_a_tenant_down_before_discovery_is_reported(client: Any, emulator_faults: Any) -> None:
    # ARM only: with Entra down too, azure-identity's own retries of the token request take ~10 s
    emulator_faults.add_fault(match={"tenant": "northwind", "service": "arm"}, status=503)
    named = await call(client, "sentinel_health_check", {"tenant_scope": ["northwind", "tailspin"]})
    assert [w["workspace"] for w in named["workspaces"]] == ["law-tailspin"]
    [missing] = named["tenant_findings"]
    assert missing["tenant"] == "northwind" and "503" in missing["evidence"]["discovery_errors"][0]
    assert any("Northwind" in key and "503" in message for key, message in named["errors"].items()), named["errors"]

    everything = await call(client, "sentinel_health_check", {"tenant_scope": "all"})
    assert "law-northwind" not in by_workspace(everything)
    [lost] = everything["tenant_findings"]
    assert "Northwind Security" in lost["title"] and "503" in lost["evidence"]["error"]
    assert everything["status"] == "critical"


async def test_throttled_query_waits_as_told_and_succeeds(client: Any, emulator_faults: Any) -> None:
    await call(client, "workspace_list")
    throttle = emulator_faults.add_fault(
        match={"service": "logs", "tenant": "fabrikam"}, status=429, retry_after=1, count=1
    )
    answer = await call(client, "sentinel_health_check", {"tenant_scope": "fabrikam"})
    prod = by_workspace(answer)["law-fabrikam-prod"]
    assert not [f for f in prod["findings"] if f["check"] == "access"]
    assert finding(prod, "incident_backlog", "High-severity")["evidence"]["count"] == 12
    assert throttle["id"] not in [
        f["id"] for f in _faults(emulator_faults)
    ]  # the 429 was answered, then the retry succeeded


async def test_configured_workspaces_without_discovery(
    make_server: Any, sentinelkit_env: dict[str, str], emulator: Any, tmp_path: Any
) -> None:
    """Workspaces named in sentinelkit.toml only (discovery off): Sentinel is not known in advance."""
    from fastmcp import Client

    ids = {w["name"]: w["id"] for w in emulator.info["workspaces"]}
    config = tmp_path / "configured.toml"
    config.write_text(
        "discover = false\n"
        f'[[workspaces]]\nid = "{ids["law-fabrikam-ops"]}"\nalias = "fab-ops"\n'
        f'[[workspaces]]\nid = "{ids["law-fabrikam-prod"]}"\nalias = "fab-prod"\n',
        encoding="utf-8",
    )
    async with Client(make_server(config=config)) as client:
        answer = await call(client, "sentinel_health_check", {})
    ws = by_workspace(answer)
    assert set(ws) == {"fab-ops", "fab-prod"}
    assert titles(ws["fab-ops"]) == ["Microsoft Sentinel is not onboarded on this workspace"]
    assert ws["fab-ops"]["sentinel"] is False
    assert finding(ws["fab-prod"], "incident_backlog", "12 High-severity")


async def test_progress_is_reported_per_workspace(health_server: Any) -> None:
    from fastmcp import Client

    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    async with Client(health_server, progress_handler=progress) as client:
        await call(client, "sentinel_health_check", {"tenant_scope": "fabrikam,tailspin"})
    assert seen[0][:2] == (0, 3) and seen[-1][:2] == (3, 3)
    assert {m.split("(")[1].split()[0] for _, _, m in seen[1:] if m} == {
        "law-fabrikam-ops",
        "law-fabrikam-prod",
        "law-tailspin",
    }
