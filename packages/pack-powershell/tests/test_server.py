"""Through a real MCP client: a server the core builds from the installed packs, the fake host behind it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from sentinelkit_devkit.contract import PackContract

from sentinelkit import Safety

from .conftest import SENTINEL_MANAGER
from .test_discovery import DCR_FUNCTIONS, SEED_FUNCTIONS

INJECTION = "'; Remove-Item -Recurse C:\\ #"


def _audit(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["SENTINELKIT_AUDIT_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class TestPowerShellPackContract(PackContract):
    """The contract every pack meets, applied to the generated tools."""

    pack = "powershell"
    destructive_examples = {
        "Remove-SentinelTable": {"TableName": "Old_CL"},
        "Close-SentinelIncident": {"IncidentId": "inc-1", "Classification": "FalsePositive"},
        "Remove-Widget": {"Name": "w"},
    }

    @pytest.fixture(autouse=True)
    def _script(self, powershell_env: dict[str, str]) -> None:
        """POWERSHELL_SCRIPT_PATH set before the server is built."""


async def test_generated_tools_are_listed_with_schemas_and_annotations(make_server, powershell_env) -> None:
    async with Client(make_server()) as client:
        tools = {t.name: t for t in await client.list_tools()}
    for name in SEED_FUNCTIONS + DCR_FUNCTIONS:
        assert name in tools, name
    assert "Show-Menu" not in tools and "Start-SentinelManager" not in tools  # interactive: left out

    incidents = tools["Get-SentinelIncidents"]
    assert Safety.from_annotations(incidents.annotations) is Safety.READ_ONLY
    assert incidents.description.startswith("Lists incidents, newest first.")
    props = incidents.input_schema["properties"]
    assert props["Days"]["type"] == "integer" and props["Days"]["minimum"] == 1 and props["Days"]["maximum"] == 90
    assert props["Days"]["default"] == 7
    status = props["Status"]  # optional: listed without anyOf null (leanschema)
    assert status["enum"] == ["New", "Active", "Closed"]
    severity = props["Severity"]
    assert severity["items"]["enum"] == ["Informational", "Low", "Medium", "High"]
    since = props["Since"]
    assert since["format"] == "date-time"
    assert "dry_run" not in props and "confirm" not in props
    assert incidents.input_schema.get("required", []) == []

    table = tools["New-SentinelTable"]
    assert Safety.from_annotations(table.annotations) is Safety.ADDITIVE
    tp = table.input_schema["properties"]
    assert set(table.input_schema["required"]) == {"TableName", "Columns"}
    assert tp["Columns"]["type"] == "object" and tp["Plan"]["enum"] == ["Analytics", "Basic", "Auxiliary"]
    assert "_CL$" in tp["TableName"]["description"]
    assert "dry_run" in tp and "confirm" not in tp
    assert "-WhatIf" in table.description

    remove = tools["Remove-SentinelTable"]
    assert remove.annotations.destructive_hint is True
    rp = remove.input_schema["properties"]
    assert rp["Force"] == {"description": rp["Force"]["description"], "type": "boolean"}  # a flag is false unless given
    assert "confirm" in rp and "dry_run" in rp

    for name in ("Disable-AnalyticsRule", "Close-SentinelIncident", "Remove-DcrAssociation"):
        assert tools[name].annotations.destructive_hint is True, name
    for name in ("Export-TableData", "View-TableRetention", "Get-DcrStatus", "Show-IncidentDetails"):
        assert tools[name].annotations.read_only_hint is True, name
    for name in ("Assign-IncidentOwner", "Import-SentinelWorkbook", "Enable-AnalyticsRule", "Update-TablePlan"):
        assert Safety.from_annotations(tools[name].annotations) is Safety.ADDITIVE, name
    assert tools["Invoke-SentinelApi"].annotations.destructive_hint is True  # unknown verb: the safe side


async def test_a_call_round_trips_through_the_host(make_server, powershell_env, fake_env) -> None:
    async with Client(make_server()) as client:
        result = await client.call_tool("Get-SentinelIncidents",
                                        {"Days": 3, "Severity": ["High"], "Status": "New", "Top": 50})
        data = result.structured_content
        assert data["function"] == "Get-SentinelIncidents" and data["count"] == 1
        # Top=50 is the script's own default: left out so that $PSBoundParameters is as in a console
        assert data["output"][0]["parameters"] == {"Days": 3, "Severity": ["High"], "Status": "New"}
        assert data["messages"] == ["Get-SentinelIncidents done."]

        echo = await client.call_tool("Get-Echo", {"Text": INJECTION, "When": "2026-01-02T03:04:05Z", "Flag": True})
        assert echo.structured_content["output"][0] == {"Text": INJECTION, "When": "2026-01-02T03:04:05+00:00",
                                                        "Flag": True}
        bad = await client.call_tool("Get-SentinelIncidents", {"Days": 365}, raise_on_error=False)
        assert bad.is_error  # ValidateRange(1, 90) is enforced before PowerShell is reached
    requests = [json.loads(line) for line in (fake_env / "requests.jsonl").read_text().splitlines()]
    assert [r["command"] for r in requests] == ["Get-SentinelIncidents", "Get-Echo"]


async def test_destructive_call_needs_confirmation_and_is_audited(make_server, powershell_env, fake_env) -> None:
    async with Client(make_server()) as client:
        preview = await client.call_tool("Remove-SentinelTable", {"TableName": "Old_CL"})
        assert preview.structured_content["confirmation_required"] is True
        assert "Remove-SentinelTable -TableName \"Old_CL\"" in preview.structured_content["would_change"]["summary"]
        assert not (fake_env / "requests.jsonl").exists()  # nothing ran

        done = await client.call_tool("Remove-SentinelTable", {"TableName": "Old_CL", "confirm": True})
        assert done.structured_content["output"][0]["parameters"] == {"TableName": "Old_CL"}
    outcomes = [(e["tool"], e["outcome"]) for e in _audit(powershell_env | _env())]
    assert outcomes == [("Remove-SentinelTable", "preview"), ("Remove-SentinelTable", "applied")]


def _env() -> dict[str, str]:
    import os

    return {"SENTINELKIT_AUDIT_LOG": os.environ["SENTINELKIT_AUDIT_LOG"]}


async def test_file_paths_are_confined_to_the_export_directory_even_in_read_only_mode(
        make_server, powershell_env, fake_env, sentinelkit_env) -> None:
    """Export-* functions are read-only for Azure but write files: never outside the export directory."""
    import os

    exports = Path(os.environ["SENTINELKIT_EXPORT_DIR"]).resolve()
    async with Client(make_server(read_only=True)) as client:
        for bad in ("/etc/cron.d", "../..", "C:\\Windows\\Temp", "~/x"):
            refused = await client.call_tool("Export-AnalyticsRules", {"OutputPath": bad}, raise_on_error=False)
            assert refused.is_error and "export directory" in refused.content[0].text, bad
        assert not (fake_env / "requests.jsonl").exists()  # nothing ran
        await client.call_tool("Export-AnalyticsRules", {})  # the script's default, .\backup\analytics-rules
        await client.call_tool("Export-AnalyticsRules", {"OutputPath": "rules/today"})
    sent = [json.loads(line)["parameters"]["OutputPath"] for line in (fake_env / "requests.jsonl").read_text().splitlines()]
    assert sent == [str(exports / "backup" / "analytics-rules"), str(exports / "rules" / "today")]
    entry = _audit(powershell_env | _env())[-1] if _audit(powershell_env | _env()) else None
    assert entry is None or entry["tool"] != "Export-AnalyticsRules"  # reads are not audited


async def test_generated_writes_record_where_they_ran_in_the_audit(make_server, powershell_env, fake_env) -> None:
    async with Client(make_server()) as client:
        await client.call_tool("Remove-SentinelTable", {"TableName": "Old_CL", "confirm": True})
    entry = _audit(powershell_env | _env())[-1]
    notes = entry["notes"]["powershell"]
    assert notes["function"] == "Remove-SentinelTable" and notes["host"] == "local pwsh"
    assert notes["script"].endswith("SentinelManager.ps1")


async def test_dry_run_uses_whatif_when_the_function_really_supports_it(make_server, powershell_env, fake_env) -> None:
    async with Client(make_server()) as client:
        whatif = await client.call_tool("Remove-Widget", {"Name": "w1", "dry_run": True})
        data = whatif.structured_content
        assert data["dry_run"] is True
        assert data["would_change"]["what_if"] == ['What if: Performing the operation "Remove-Widget" on target "w1".']
        sent = json.loads((fake_env / "requests.jsonl").read_text().splitlines()[-1])
        assert sent["whatif"] is True and sent["command"] == "Remove-Widget"

        # "if ($Force -or $PSCmdlet.ShouldProcess(...))": -Force must not reach a -WhatIf run
        forced = await client.call_tool("Remove-SentinelTable", {"TableName": "A_CL", "Force": True, "dry_run": True})
        assert "-Force was left out" in forced.structured_content["would_change"]["note"]
        sent = json.loads((fake_env / "requests.jsonl").read_text().splitlines()[-1])
        assert sent["whatif"] is True and sent["parameters"] == {"TableName": "A_CL"}

        # declares SupportsShouldProcess but never calls ShouldProcess: -WhatIf would not be honoured,
        # so the dry run is a preview and the function does not run at all
        preview = await client.call_tool("Set-Widget", {"Name": "w2", "dry_run": True})
        assert preview.structured_content["dry_run"] is True and "what_if" not in preview.structured_content["would_change"]
        assert len((fake_env / "requests.jsonl").read_text().splitlines()) == 2
    assert [e["outcome"] for e in _audit(_env())] == ["dry_run", "dry_run", "dry_run"]


async def test_read_only_mode_hides_and_refuses_writes(make_server, powershell_env) -> None:
    async with Client(make_server(read_only=True)) as client:
        names = {t.name for t in await client.list_tools()}
        assert "Get-SentinelIncidents" in names and "Remove-SentinelTable" not in names
        assert "New-SentinelTable" not in names
        refused = await client.call_tool("Remove-SentinelTable", {"TableName": "X_CL", "confirm": True},
                                         raise_on_error=False)
        assert refused.is_error and "read-only" in refused.content[0].text


async def test_function_errors_reach_the_client_as_clear_tool_errors(make_server, powershell_env) -> None:
    async with Client(make_server()) as client:
        result = await client.call_tool("Get-Forbidden", {}, raise_on_error=False)
        text = result.content[0].text
        assert result.is_error and text.startswith("Get-Forbidden: PowerShell error: Response status code")
        assert "403" in text and "Behaviours.ps1:51" in text and "Traceback" not in text


async def test_large_output_is_budgeted_and_says_so(make_server, powershell_env) -> None:
    async with Client(make_server()) as client:
        result = await client.call_tool("Get-Huge", {"Count": 100, "Size": 2000})
        data = result.structured_content
        assert data["count"] == 100 and len(data["output"]) < 100
        assert "showing" in data["truncated"] and "narrower parameters" in data["truncated"]


async def test_status_tool_reports_scripts_and_skipped_functions(make_server, powershell_env) -> None:
    async with Client(make_server()) as client:
        await client.call_tool("Get-Pid", {})
        status = (await client.call_tool("powershell_status", {})).structured_content
    assert status["mode"] == "local"
    assert {Path(s["path"]).name for s in status["scripts"]} == {"SentinelManager.ps1", "Behaviours.ps1"}
    assert {"function": "Show-Menu", "script": "SentinelManager.ps1",
            "reason": "prompts for input (Read-Host, Out-GridView, ...) and cannot run without a console"} in status["skipped"]
    assert status["warnings"] == []  # its menu is guarded by $MyInvocation.InvocationName
    assert sum(h["started"] for h in status["hosts"].values()) == 1


async def test_missing_pwsh_keeps_the_tools_and_fails_clearly_on_call(make_server, powershell_env, monkeypatch) -> None:
    monkeypatch.delenv("SENTINELKIT_POWERSHELL_HOST_COMMAND")
    monkeypatch.setenv("SENTINELKIT_POWERSHELL_EXECUTABLE", "/opt/none/pwsh")
    async with Client(make_server()) as client:
        names = {t.name for t in await client.list_tools()}
        assert "Get-SentinelIncidents" in names and "workspace_list" in names
        result = await client.call_tool("Get-SentinelTables", {}, raise_on_error=False)
        assert result.is_error and "'/opt/none/pwsh' was not found" in result.content[0].text
        status = (await client.call_tool("powershell_status", {})).structured_content
        assert "executable_problem" in status


async def test_missing_script_is_a_start_up_warning_and_the_server_keeps_working(make_server, powershell_env,
                                                                                monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("POWERSHELL_SCRIPT_PATH", str(tmp_path / "Missing.ps1"))
    server = make_server()
    info = server._sentinelkit_packs.packs["powershell"]
    assert info.error is None
    assert any("Missing.ps1 does not exist" in w and "POWERSHELL_SCRIPT_PATH" in w for w in info.warnings)
    async with Client(server) as client:
        names = {t.name for t in await client.list_tools()}
        status = (await client.call_tool("powershell_status", {})).structured_content  # on call, too
    assert "workspace_list" in names and "Get-SentinelIncidents" not in names
    assert any("Missing.ps1 does not exist" in w for w in status["warnings"])


def test_sentinelkit_packs_command_shows_a_missing_script(powershell_env, tmp_path) -> None:
    from sentinelkit_devkit.process import cli_json, run_cli

    env = {"POWERSHELL_SCRIPT_PATH": str(tmp_path / "Gone.ps1")}
    packs = {p["name"]: p for p in cli_json("packs", "--json", env=env)["packs"]}
    assert packs["powershell"]["loaded"] and packs["powershell"]["tools"] == ["powershell_status"]
    assert any("Gone.ps1 does not exist" in w for w in packs["powershell"]["warnings"])
    assert packs["core"]["loaded"]
    text = run_cli("packs", env=env).stdout
    assert "warning: the PowerShell script" in text and "Gone.ps1 does not exist" in text


def test_sentinelkit_packs_command_shows_a_missing_pwsh(powershell_env, monkeypatch) -> None:
    from sentinelkit_devkit.process import cli_json

    monkeypatch.delenv("SENTINELKIT_POWERSHELL_HOST_COMMAND")
    packs = {p["name"]: p for p in cli_json("packs", "--json",
                                            env={"SENTINELKIT_POWERSHELL_EXECUTABLE": "/opt/none/pwsh"})["packs"]}
    info = packs["powershell"]
    assert info["loaded"] and "Get-SentinelIncidents" in info["tools"]
    assert any("'/opt/none/pwsh' was not found" in w and "SENTINELKIT_POWERSHELL_EXECUTABLE" in w
               for w in info["warnings"])


async def test_include_exclude_and_safety_overrides(make_server, powershell_env, monkeypatch, tmp_path) -> None:
    config = tmp_path / "powershell.toml"
    config.write_text(f"""
[powershell]
scripts = ["{SENTINEL_MANAGER.as_posix()}"]
include = ["*-Sentinel*", "*-AnalyticsRule*", "Invoke-*"]
exclude = ["Invoke-SentinelApi"]
[powershell.safety]
"Export-*" = "additive"
"Enable-AnalyticsRule" = "destructive"
""")
    monkeypatch.delenv("POWERSHELL_SCRIPT_PATH")
    monkeypatch.setenv("SENTINELKIT_POWERSHELL_CONFIG", str(config))
    async with Client(make_server()) as client:
        tools = {t.name: t for t in await client.list_tools()}
    assert "Invoke-SentinelApi" not in tools and "Get-DcrStatus" not in tools
    assert Safety.from_annotations(tools["Export-SentinelWorkbook"].annotations) is Safety.ADDITIVE
    assert tools["Enable-AnalyticsRule"].annotations.destructive_hint is True
    assert "(configuration)" in tools["Enable-AnalyticsRule"].description


async def test_settings_come_from_the_packs_table_of_sentinelkit_toml(make_server, powershell_env, monkeypatch,
                                                                     sentinelkit_env, tmp_path) -> None:
    """``[packs.powershell]`` in sentinelkit.toml configures the pack; its environment variables still win."""
    config = tmp_path / "sentinelkit.toml"
    config.write_text(Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text() + f"""
[packs.powershell]
scripts = ["{SENTINEL_MANAGER.as_posix()}"]
include = ["*-Sentinel*"]
timeout = 42
[packs.powershell.safety]
"Export-*" = "additive"
""")
    monkeypatch.delenv("POWERSHELL_SCRIPT_PATH")
    monkeypatch.setenv("SENTINELKIT_POWERSHELL_TIMEOUT", "7")
    async with Client(make_server(config=config)) as client:
        tools = {t.name: t for t in await client.list_tools()}
        status = (await client.call_tool("powershell_status", {})).structured_content
    assert "Get-SentinelIncidents" in tools and "Enable-AnalyticsRule" not in tools
    assert Safety.from_annotations(tools["Export-SentinelWorkbook"].annotations) is Safety.ADDITIVE
    assert status["timeout_s"] == 7.0  # the environment wins over the file
    bad = tmp_path / "bad.toml"
    bad.write_text(config.read_text().replace("timeout = 42", "timeout = 42\ntimeuot = 1"))
    server = make_server(config=bad)
    error = server._sentinelkit_packs.packs["powershell"].error
    assert "invalid settings" in error and "timeuot" in error and str(bad) in error


async def test_editing_the_script_changes_the_listed_schema(make_server, powershell_env, monkeypatch, tmp_path) -> None:
    """The core caches tool schemas on disk; a changed script must not be listed from a stale entry."""
    script = tmp_path / "SentinelManager.ps1"
    script.write_text(SENTINEL_MANAGER.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("POWERSHELL_SCRIPT_PATH", str(script))
    async with Client(make_server()) as client:
        before = {t.name: t for t in await client.list_tools()}["Get-DcrStatus"]
    async with Client(make_server()) as client:  # listed from the cache this time
        assert {t.name: t for t in await client.list_tools()}["Get-DcrStatus"].input_schema == before.input_schema
    script.write_text(script.read_text(encoding="utf-8").replace(
        "[ValidateRange(1, 168)][int]$LookbackHours = 24",
        "[ValidateRange(1, 168)][int]$LookbackHours = 24,\n        [switch]$IncludeSamples"), encoding="utf-8")
    async with Client(make_server()) as client:
        after = {t.name: t for t in await client.list_tools()}["Get-DcrStatus"]
        result = await client.call_tool("Get-DcrStatus", {"RuleName": "dcr-1", "IncludeSamples": True})
    assert "IncludeSamples" not in before.input_schema["properties"]
    assert after.input_schema["properties"]["IncludeSamples"]["type"] == "boolean"
    assert result.structured_content["output"][0]["parameters"] == {"RuleName": "dcr-1", "IncludeSamples": True}
