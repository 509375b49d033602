"""Static discovery on a realistic SentinelManager-style script (no pwsh, nothing executed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentinelkit_powershell.discovery import NO_DEFAULT, NOT_LITERAL, parse_script
from sentinelkit_powershell.help import parse_help

from .conftest import SENTINEL_MANAGER

SEED_FUNCTIONS = [
    "New-SentinelTable", "Get-SentinelTables", "Remove-SentinelTable", "Update-TablePlan", "Update-TableRetention",
    "View-TableRetention", "Get-AnalyticsRules", "Get-AnalyticsRuleDetails", "Enable-AnalyticsRule",
    "Disable-AnalyticsRule", "Remove-AnalyticsRule", "New-AnalyticsRule", "Get-SentinelWorkbooks",
    "Get-WorkbookDetails", "Remove-SentinelWorkbook", "Export-SentinelWorkbook", "Import-SentinelWorkbook",
    "Get-SentinelIncidents", "Show-IncidentDetails", "Close-SentinelIncident", "Assign-IncidentOwner",
    "Add-IncidentComment", "Get-IncidentComments", "Export-AnalyticsRules", "Export-AutomationRules",
    "Export-Watchlists", "Export-Functions", "Export-SavedQueries", "Export-TableData",
]
DCR_FUNCTIONS = [
    "Get-DataCollectionRules", "New-DataCollectionRule", "Remove-DataCollectionRule", "Get-DataCollectionEndpoints",
    "New-DataCollectionEndpoint", "Remove-DataCollectionEndpoint", "Get-DcrStreams", "Get-DcrAssociations",
    "New-DcrAssociation", "Remove-DcrAssociation", "Get-DcrStatus",
]


@pytest.fixture(scope="module")
def script():
    return parse_script(SENTINEL_MANAGER)


def test_every_function_of_the_seed_is_found(script) -> None:
    names = [f.name for f in script.functions]
    assert len(names) >= 40
    for name in SEED_FUNCTIONS + DCR_FUNCTIONS:
        assert name in names, name
    assert len(DCR_FUNCTIONS) == 11


def test_every_seed_function_has_help_for_every_parameter(script) -> None:
    for name in SEED_FUNCTIONS + DCR_FUNCTIONS:
        fn = script.function(name)
        assert fn.help.synopsis, name
        for p in fn.params:
            assert p.help, f"{name} -{p.name}"


def test_parameters_types_flags_and_validation(script) -> None:
    fn = script.function("Get-SentinelIncidents")
    params = {p.name: p for p in fn.params}
    assert params["Status"].validate_set == ["New", "Active", "Closed"]
    assert params["Status"].mandatory is False and params["Status"].default is NO_DEFAULT
    assert params["Severity"].type_name == "string" and params["Severity"].is_array
    assert params["Days"].type_name == "int" and params["Days"].default == 7 and params["Days"].validate_range == (1, 90)
    assert params["Since"].type_name == "datetime"
    assert fn.help.description.startswith("Filters by status")

    table = script.function("New-SentinelTable")
    tp = {p.name: p for p in table.params}
    assert tp["TableName"].mandatory and tp["TableName"].position == 0 and tp["TableName"].validate_pattern == "_CL$"
    assert tp["Columns"].type_name == "hashtable" and tp["Columns"].mandatory
    assert tp["Plan"].default == "Analytics" and tp["Plan"].validate_set == ["Analytics", "Basic", "Auxiliary"]
    assert tp["TotalRetentionInDays"].validate_range == (4, 4383) and tp["TotalRetentionInDays"].default is NO_DEFAULT
    assert table.supports_should_process and table.calls_should_process and table.supports_whatif
    assert table.help.examples and "FirewallEvents_CL" in table.help.examples[0]

    remove = {p.name: p for p in script.function("Remove-SentinelTable").params}
    assert remove["Force"].is_switch

    rule = {p.name: p for p in script.function("New-AnalyticsRule").params}
    assert rule["Tactics"].is_array and rule["Tactics"].default == [] and "Impact" in rule["Tactics"].validate_set
    assert rule["RuleId"].default is NOT_LITERAL and rule["RuleId"].default_text == "[guid]::NewGuid().ToString()"
    assert rule["DisplayName"].validate_length == (1, 256)
    assert rule["Query"].not_null_or_empty
    assert {p.name: p for p in script.function("Show-IncidentDetails").params}["IncludeEntities"].default is True
    assert {p.name: p for p in script.function("Export-AnalyticsRules").params}["Kind"].default == ["Scheduled", "NRT"]
    assert {p.name: p for p in script.function("Assign-IncidentOwner").params}["OwnerObjectId"].type_name == "guid"
    assert {p.name: p for p in script.function("Export-TableData").params}["EndTime"].default is NOT_LITERAL


def test_interactive_and_top_level_code_is_noticed(script) -> None:
    assert script.function("Show-Menu").interactive
    assert script.function("Start-SentinelManager").interactive  # calls Show-Menu, which reads input
    assert not script.function("Get-SentinelTables").interactive
    # the menu only starts when the script is run, not dot-sourced: nothing runs at load
    assert script.top_level_commands == []


def test_code_that_runs_at_load_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.ps1"
    path.write_text("""
Import-Module Az.Accounts
$script:Config = @{ A = 1 }
function Get-X { 'x' }
Connect-AzAccount -Identity
Start-Menu
""")
    assert [c.split(": ")[1] for c in parse_script(path).top_level_commands] == ["Connect-AzAccount", "Start-Menu"]


def test_whatif_is_only_trusted_when_shouldprocess_is_called(tmp_path: Path) -> None:
    path = tmp_path / "s.ps1"
    path.write_text("""
function Set-Honest { [CmdletBinding(SupportsShouldProcess)] param([string]$Name)
    if ($PSCmdlet.ShouldProcess($Name)) { 'x' } }
function Set-Liar { [CmdletBinding(SupportsShouldProcess = $true)] param([string]$Name)
    Invoke-RestMethod -Method Delete -Uri "https://x/$Name" }
""")
    info = parse_script(path)
    assert info.function("Set-Honest").supports_whatif
    assert info.function("Set-Liar").supports_should_process and not info.function("Set-Liar").supports_whatif


def test_help_placements_inline_comments_literals_and_nesting(tmp_path: Path) -> None:
    path = tmp_path / "s.ps1"
    path.write_text("""\ufeff
<#
.SYNOPSIS
    Help placed before the function.
.PARAMETER Count
    How many.
#>
function Get-Before {
    param(
        [int]$Count = -3,
        # Inline comment help.
        [string]$Quoted = 'it''s',
        [double]$Ratio = 1.5,
        [string]$Expanded = "a $x",
        [string]$Plain = "plain",
        [bool]$On = $true,
        $Untyped,
        [int]$Hex = 0x10,
        [int]$Size = 2kb,
        [hashtable]$Table = @{ a = 1; b = 'two' },
        [Parameter(Mandatory)][Alias('WS', 'Work')][string]$Workspace
    )
    function Inner-Helper { 'nested' }
}

function Get-After([string]$Name) {
    'x'
    <#
    .SYNOPSIS
        Help at the end of the body.
    #>
}

# .SYNOPSIS
# Line-comment help.
function Get-Lines { param() }
""", encoding="utf-8")
    info = parse_script(path)
    before = info.function("Get-Before")
    assert before.help.synopsis == "Help placed before the function."
    p = {x.name: x for x in before.params}
    assert p["Count"].default == -3 and p["Count"].help == "How many."
    assert p["Quoted"].default == "it's" and p["Quoted"].help == "Inline comment help."
    assert p["Ratio"].default == 1.5
    assert p["Expanded"].default is NOT_LITERAL
    assert p["Plain"].default == "plain"
    assert p["On"].default is True
    assert p["Untyped"].type_name == "object"
    assert p["Hex"].default == 16 and p["Size"].default == 2048
    assert p["Table"].default == {"a": 1, "b": "two"}
    assert p["Workspace"].mandatory and p["Workspace"].aliases == ["WS", "Work"]
    assert info.function("Inner-Helper").nested
    after = info.function("Get-After")
    assert after.help.synopsis == "Help at the end of the body." and after.params[0].name == "Name"
    assert info.function("Get-Lines").help.synopsis == "Line-comment help."


def test_help_parser_keeps_sections_apart() -> None:
    info = parse_help("""<#
    .SYNOPSIS
        One line.
    .DESCRIPTION
        First paragraph.

        Second paragraph.
    .PARAMETER Name
        The
        name.
    .EXAMPLE
        Get-Thing -Name x
    #>""")
    assert info.synopsis == "One line."
    assert info.description == "First paragraph.\n\nSecond paragraph."
    assert info.parameters == {"name": "The name."}
    assert info.examples == ["Get-Thing -Name x"]
