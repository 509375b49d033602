"""One home per domain: each pack owns the api-versions of the resources it calls, and sentinelkit never
calls one ARM resource type at two api-versions (pack-health used to read data collection rules at
2023-03-11 while pack-dcr used 2024-03-11). Checked on the wire: the emulator records the api-version of
every ARM request per client (User-Agent) and resource type, while the read tools of every pack run."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

READS: list[tuple[str, dict[str, Any]]] = [
    ("workspace_list", {"refresh": True}),
    ("workspace_get", {"workspace": "law-northwind"}),
    ("incident_list", {"workspaces": "all"}),
    ("incident_get", {"workspace": "law-northwind", "incident_id": "1"}),
    ("sentinel_health_check", {"tenant_scope": "all", "check_depth": "detailed", "refresh": True}),
    ("logs_query", {"query": "Heartbeat | take 1"}),
    ("dcr_list", {"workspaces": "all"}),
    ("dce_list", {"workspaces": "all"}),
    ("dcr_association_list", {"workspace": "law-tailspin", "rule": "dcr-tailspin-syslog"}),
    ("dcr_status", {"workspaces": "all"}),
    ("table_list", {"workspaces": "all"}),
    ("table_get", {"workspace": "law-northwind", "table": "SecurityEvent"}),
    ("table_retention_report", {"workspaces": "all"}),
    ("hunting_query_list", {"workspaces": "all"}),
    ("function_get", {"workspace": "law-northwind", "alias": "FailedSignins"}),
    ("watchlist_list", {"workspaces": "all"}),
    ("watchlist_get", {"workspace": "law-tailspin", "alias": "VIPUsers"}),
    ("rule_list", {"workspaces": "all"}),
    ("rule_template_list", {"workspace": "law-tailspin"}),
    ("automation_rule_list", {"workspaces": "all"}),
    ("kql_validate", {"query": "SigninLogs | take 1", "workspace": "law-tailspin"}),
    ("workbook_list", {"workspaces": "all"}),
    ("workbook_get", {"workspace": "law-northwind", "workbook": "Azure Activity", "view": "outline"}),
    ("workbook_revisions", {"workspace": "law-northwind", "workbook": "Azure Activity"}),
    ("workbook_import", {"workspace": "law-northwind", "workbook_json": '{"version": "Notebook/1.0", "items": []}',
                         "display_name": "api-version probe", "dry_run": True}),
]


async def test_every_resource_type_is_called_at_one_api_version(make_server, emulator) -> None:
    async with Client(make_server()) as client:
        tools = {t.name for t in await client.list_tools()}
        emulator.reset_traffic()
        for name, args in READS:
            if name in tools:
                result = await client.call_tool(name, args, raise_on_error=False)
                assert not result.is_error, (name, result.content[0].text)
    seen = emulator.traffic()["api_versions"]
    ours = {client: types for client, types in seen.items() if "sentinelkit" in client}
    assert ours, f"no request of sentinelkit recorded (clients: {sorted(seen)})"
    types = next(iter(ours.values()))
    assert "Microsoft.Insights/dataCollectionRules" in types and "Microsoft.SecurityInsights/incidents" in types
    assert "Microsoft.OperationalInsights/workspaces/tables" in types
    twice = {t: v for t, v in types.items() if len(v) > 1}
    assert not twice, f"resource types called at more than one api-version: {twice}"
