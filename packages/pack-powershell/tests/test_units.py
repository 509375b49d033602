"""Small pieces: settings, verb safety, error classification, schema building, argument mapping."""

from __future__ import annotations

import datetime as dt
import inspect
import os
import uuid
from pathlib import Path

import pytest

from sentinelkit_powershell.discovery import parse_script
from sentinelkit_powershell.errors import is_transient
from sentinelkit_powershell.schema import (
    UnsupportedParameter,
    to_powershell,
    tool_params,
)
from sentinelkit_powershell.settings import (
    PowerShellConfigError,
    load_powershell_settings,
)
from sentinelkit_powershell.verbs import verb_safety

from .conftest import SENTINEL_MANAGER


def test_verbs_decide_the_safety_class() -> None:
    for verb in ("Get", "Show", "View", "Export", "Test", "Find"):
        assert verb_safety(verb) == "read_only", verb
    for verb in ("New", "Add", "Set", "Update", "Enable", "Import", "Assign", "Start"):
        assert verb_safety(verb) == "additive", verb
    for verb in ("Remove", "Disable", "Close", "Clear", "Stop", "Reset"):
        assert verb_safety(verb) == "destructive", verb
    assert verb_safety("get") == "read_only" and verb_safety("Frobnicate") is None


@pytest.mark.parametrize(("record", "transient"), [
    ({"message": "Response status code does not indicate success: 429 (Too Many Requests)."}, True),
    ({"message": "Response status code does not indicate success: 503 (Service Unavailable)."}, True),
    ({"message": "The operation has timed out.", "exception_type": "System.Net.WebException"}, True),
    ({"message": "x", "exception_type": "System.Net.Http.HttpRequestException"}, True),
    ({"message": "x", "category": "ResourceUnavailable"}, True),
    ({"message": "An existing connection was forcibly closed by the remote host."}, True),
    ({"message": "Response status code does not indicate success: 403 (Forbidden)."}, False),
    ({"message": "Response status code does not indicate success: 404 (Not Found).",
      "exception_type": "System.Net.Http.HttpRequestException"}, False),
    ({"message": "Cannot validate argument on parameter 'Days'.", "error_id": "ParameterArgumentValidationError"}, False),
    ({"message": "A parameter cannot be found that matches parameter name 'X'.",
      "exception_type": "System.Management.Automation.ParameterBindingException"}, False),
    ({"message": "Table 'Nope_CL' does not exist."}, False),
    ({"message": "boom"}, False),
])
def test_transient_classification(record: dict, transient: bool) -> None:
    assert is_transient(record) is transient


def test_settings_from_the_environment(tmp_path: Path) -> None:
    env = {"POWERSHELL_SCRIPT_PATH": f"{tmp_path / 'a.ps1'};{tmp_path / 'b.ps1'}{os.pathsep}{tmp_path / 'c.ps1'}",
           "SENTINELKIT_POWERSHELL_EXECUTABLE": "/usr/local/bin/pwsh", "SENTINELKIT_POWERSHELL_TIMEOUT": "45",
           "SENTINELKIT_POWERSHELL_POOL_SIZE": "4"}
    s = load_powershell_settings(env)
    assert [p.name for p in s.scripts] == ["a.ps1", "b.ps1", "c.ps1"]
    assert s.timeout == 45 and s.pool_size == 4 and s.remote is None
    command = s.command()
    assert command[0] == "/usr/local/bin/pwsh" and "-NonInteractive" in command and "-NoProfile" in command
    assert command[-1].endswith("host.ps1") and Path(command[-1]).exists()
    assert load_powershell_settings({}).scripts == [] and load_powershell_settings({}).timeout == 300


def test_remote_credentials_come_from_the_environment_and_are_never_shown(tmp_path: Path) -> None:
    env = {"SENTINELKIT_POWERSHELL_REMOTE_HOST": "mgmt01.contoso.local",
           "SENTINELKIT_POWERSHELL_REMOTE_USERNAME": "CONTOSO\\svc-sentinel",
           "SENTINELKIT_POWERSHELL_REMOTE_PASSWORD": "S3cret-Passw0rd!", "SENTINELKIT_POWERSHELL_REMOTE_AUTH": "kerberos"}
    s = load_powershell_settings(env)
    assert s.remote.host == "mgmt01.contoso.local" and s.remote.ssl is True and s.remote.auth == "kerberos"
    assert s.remote.password.get_secret_value() == "S3cret-Passw0rd!"
    assert "S3cret" not in repr(s) and "S3cret" not in s.model_dump_json()
    config = tmp_path / "ps.toml"
    config.write_text('[powershell.remote]\nhost = "h"\npassword = "nope"\n')
    with pytest.raises(PowerShellConfigError, match="must not be written in the configuration file"):
        load_powershell_settings({"SENTINELKIT_POWERSHELL_CONFIG": str(config)})


def test_settings_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(PowerShellConfigError, match="pool_size"):
        load_powershell_settings({"SENTINELKIT_POWERSHELL_POOL_SIZE": "0"})
    config = tmp_path / "ps.toml"
    config.write_text("[powershell]\ntimeout = 30\nunknown_key = 1\n")
    with pytest.raises(PowerShellConfigError, match="unknown_key"):
        load_powershell_settings({"SENTINELKIT_POWERSHELL_CONFIG": str(config)})
    with pytest.raises(PowerShellConfigError, match="does not exist"):
        load_powershell_settings({"SENTINELKIT_POWERSHELL_CONFIG": str(tmp_path / "none.toml")})


def test_arguments_map_to_the_splatted_object() -> None:
    script = parse_script(SENTINEL_MANAGER)
    params = tool_params(script.function("Get-SentinelIncidents"))
    by_name = {p.python_name: p for p in params}
    assert by_name["Days"].default == 7 and by_name["Status"].default is None
    assert by_name["Since"].default is None
    args = {"Status": None, "Severity": ["High"], "Days": 7, "Top": 10,
            "Since": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}
    splat, secure = to_powershell(params, args)
    assert splat == {"Severity": ["High"], "Top": 10, "Since": "2026-01-02T03:04:05+00:00"} and secure == []

    switch = tool_params(script.function("Remove-SentinelTable"))
    assert to_powershell(switch, {"TableName": "A_CL", "Force": False})[0] == {"TableName": "A_CL"}
    assert to_powershell(switch, {"TableName": "A_CL", "Force": True})[0] == {"TableName": "A_CL", "Force": True}

    owner = tool_params(script.function("Assign-IncidentOwner"))
    oid = uuid.uuid4()
    assert to_powershell(owner, {"IncidentId": "i", "OwnerUpn": "a@b.c", "OwnerObjectId": oid})[0]["OwnerObjectId"] == str(oid)
    required = [p.python_name for p in owner if p.default is inspect.Parameter.empty]
    assert required == ["IncidentId", "OwnerUpn"]


def test_code_and_keyword_parameters_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.ps1"
    path.write_text("""
function Invoke-Block {
    param([scriptblock]$Action)
    & $Action
}
function Get-Cred { param([System.Management.Automation.PSCredential]$Credential) }
function Get-Ctx { param([string]$ctx) }
function Set-Secret { param([System.Security.SecureString]$Key) }
""")
    info = parse_script(path)
    with pytest.raises(UnsupportedParameter, match="would be code"):
        tool_params(info.function("Invoke-Block"))
    with pytest.raises(UnsupportedParameter, match="pscredential"):
        tool_params(info.function("Get-Cred"))
    with pytest.raises(UnsupportedParameter, match="clashes"):
        tool_params(info.function("Get-Ctx"))
    secret = tool_params(info.function("Set-Secret"))
    assert secret[0].secure and to_powershell(secret, {"Key": "k"}) == ({"Key": "k"}, ["Key"])
