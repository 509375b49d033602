"""Which tables a workbook query reads: the scan that the table check (and the outline) rely on, on the
shapes real workbook queries take."""

from __future__ import annotations

import pytest
from sentinelkit_workbooks.checks import with_samples
from sentinelkit_workbooks.references import references


@pytest.mark.parametrize(("kql", "tables"), [
    ("union withsource=TableName CommonSecurityLog\n| where DeviceVendor == \"Citrix\"", ["CommonSecurityLog"]),
    ("Syslog\r\n\t| where ProcessName == 'gw-audit' // SecurityEvent in a comment\n"
     "| summarize count() by bin(TimeGenerated, {TimeRange:grain})", ["Syslog"]),
    ("let x = SigninLogs | where ResultType != '0';\nlet y = (a:string) { AuditLogs | where OperationName == a };\n"
     "x | join kind=inner (y('x') | project z) on z | union isfuzzy=true (SecurityEvent | take 1), (Heartbeat), "
     "Security*", ["SigninLogs", "AuditLogs", "SecurityEvent", "Heartbeat", "Security*"]),
    ("SecurityAlert | where AlertName in (SecurityIncident | project Title) "
     "| lookup (_GetWatchlist('VIP') | project x) on x | as T | join T on x", ["SecurityAlert", "SecurityIncident"]),
    ("let t = toscalar(Usage | summarize max(Quantity)); print t", ["Usage"]),
    ("table('AzureActivity') | join kind = leftouter hint.strategy=shuffle OfficeActivity on x",
     ["AzureActivity", "OfficeActivity"]),
    ('search in (SecurityEvent, Syslog) "x" | take 1', ["SecurityEvent", "Syslog"]),
    ("datatable(a:string)['SecurityEvent'] | extend b = ago(1d) | where a in ('x','y')", []),
    ("let T = view() { Heartbeat | take 1 }; T | project x", ["Heartbeat"]),
    ("SecurityIncident\n| where TimeGenerated {TimeRange}\n| mv-expand AlertIds\n| project-away x "
     "| lookup kind=leftouter (SecurityAlert | where x) on $left.a == $right.b", ["SecurityIncident", "SecurityAlert"]),
    ("let a = 1d; let b = dynamic(['x']); SigninLogs | where TimeGenerated > ago(a) | where x has_any (b)",
     ["SigninLogs"]),
    ("['Weird Table'] | extend ['Client IP'] = clientIP_s", ["Weird Table"]),
    ("CiscoUmbrella | where TimeGenerated {TimeRange}", ["CiscoUmbrella"]),
])
def test_tables_read(kql: str, tables: list[str]) -> None:
    assert references(kql).tables == tables


def test_parameters_in_table_places_and_other_resources_are_flagged() -> None:
    dynamic = references("{Table} | take 10")
    assert dynamic.tables == [] and dynamic.dynamic is True
    cross = references("workspace('abc').SecurityEvent | union app('x').requests")
    assert cross.tables == [] and cross.cross_resource is True
    assert references("_Im_Dns(starttime=ago(1d)) | take 1").functions == ["_Im_Dns"]


def test_workbook_parameters_get_sample_values_for_the_parser() -> None:
    assert with_samples("T | where TimeGenerated {TimeRange} | summarize count() by bin(TimeGenerated, "
                        "{TimeRange:grain}) | where Computer in ({Computers}) | where t > {TimeRange:start}") == (
        "T | where TimeGenerated > ago(1d) | summarize count() by bin(TimeGenerated, 1h) | where Computer in ('x') "
        "| where t > datetime(2026-01-01)")
    # inside a string literal a parameter is text; "now(-{TimeRange:seconds}s)" needs a number
    assert with_samples("T | where Name == '{InstanceName}' or Label == \"{Caller:lable}\" | where t > "
                        "now(-{TimeRange:seconds}s)") == (
        "T | where Name == 'x' or Label == \"x\" | where t > now(-3600s)")
