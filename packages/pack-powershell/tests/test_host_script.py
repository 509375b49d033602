"""host.ps1 cannot run here (no pwsh). What can be checked without it: it parses, it defines what the
Python side calls with the parameters it passes, and it ships inside the package."""

from __future__ import annotations

from sentinelkit_powershell.discovery import parse_script
from sentinelkit_powershell.hostscript import host_script_path


def test_host_script_parses_and_defines_what_the_bridge_calls() -> None:
    info = parse_script(host_script_path())
    assert info.parse_errors == []
    params = {f.name: {p.name for p in f.params} for f in info.functions}
    assert params["Invoke-SkRequest"] == {"Json"}  # remote.py: add_cmdlet("Invoke-SkRequest").add_parameter("Json")
    assert params["Register-SkFunctions"] == {"Path", "Text"}
    assert params["Import-SkFunctions"] == {"Path", "Text"}
    text = host_script_path().read_text(encoding="utf-8")
    # the script-level parameters process.py passes, and -Library for remote runspaces
    assert "[string[]]$ScriptPath" in text and "[string]$LoadMode = 'script'" in text and "[switch]$Library" in text


def test_host_script_splats_data_and_never_evaluates_request_text() -> None:
    text = host_script_path().read_text(encoding="utf-8")
    assert "& $command @splat *>&1" in text
    assert "JsonDocument]::Parse" in text and "ConvertTo-SkHashtable" in text  # PowerShell 7 and 5.1
    body = text[text.index("function Invoke-SkRequest"):text.index("if ($Library) { return }")]
    for forbidden in ("Invoke-Expression", "iex ", "[scriptblock]::Create", "AddScript", "NewScriptBlock"):
        assert forbidden not in body, forbidden


def test_host_script_is_package_data() -> None:
    from importlib.resources import files

    assert files("sentinelkit_powershell").joinpath("host.ps1").is_file()
