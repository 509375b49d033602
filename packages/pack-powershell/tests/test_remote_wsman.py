"""The remote path through the real pypsrp client (WSMan, RunspacePool, PowerShell, CLIXML) against a
fake WinRM endpoint that replaces pypsrp's HTTP transport, as pypsrp's own tests do.

The endpoint plays a Windows host running host.ps1: it checks what a real one would receive
(host.ps1 dot-sourced with -Library, the script, Register-SkFunctions, Invoke-SkRequest -Json) and
answers with the fake host's logic. No Windows host was involved in writing these answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sentinelkit_powershell.bridge import PowerShellBridge
from sentinelkit_powershell.catalog import build_catalog
from sentinelkit_powershell.errors import HostStartError, HostTimeout, PowerShellError
from sentinelkit_powershell.hostscript import host_script_text
from sentinelkit_powershell.settings import PowerShellSettings, RemoteSettings

from .conftest import BEHAVIOURS
from .support import fake_host
from .support.fake_winrm import Commands, FakeWinRMTransport, PipelineStopped

INJECTION = "'; Remove-Item -Recurse C:\\ #"


class WindowsHost:
    """What the runspace behind the endpoint does with each pipeline."""

    def __init__(self, fail_load: bool = False) -> None:
        self.fail_load = fail_load
        self.functions: dict[str, set[str]] = {}
        self.library_loaded = False
        self.transport: FakeWinRMTransport | None = None

    def run(self, commands: Commands) -> list[Any]:
        name, is_script, params, local = commands[0]
        if is_script and name == host_script_text():
            assert params == {"Library": True} and local is False  # dot-sourced: functions stay defined
            self.library_loaded = True
            return []
        if is_script:
            assert self.library_loaded and local is False
            if self.fail_load:
                raise RuntimeError("The term 'Connect-AzAccount' is not recognized")
            fake_host.SCRIPT = str(BEHAVIOURS)
            self.functions = fake_host.functions_of(name)
            return []
        if name == "Register-SkFunctions":
            return sorted(self.functions)
        assert name == "Invoke-SkRequest" and list(params) == ["Json"]
        request = json.loads(params["Json"])
        if request["command"] == "Get-Slow":
            assert self.transport is not None
            if self.transport.signalled.wait(float(request["parameters"].get("Seconds", 60))):
                raise PipelineStopped()
            return []
        return [json.dumps(fake_host.answer(request, self.functions), ensure_ascii=False)]


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Every WSMan object pypsrp creates talks to a fresh fake endpoint; returns the list of them."""
    import pypsrp.wsman

    monkeypatch.setenv("FAKE_HOST_STATE", str(tmp_path))
    made: list[tuple[FakeWinRMTransport, WindowsHost, tuple[Any, ...]]] = []
    behaviour = {"fail_load": False}

    def transport(*args: Any, **kwargs: Any) -> FakeWinRMTransport:
        host = WindowsHost(**behaviour)
        fake = FakeWinRMTransport(host.run)
        host.transport = fake
        made.append((fake, host, args))
        return fake

    monkeypatch.setattr(pypsrp.wsman, "_TransportHTTP", transport)
    made_behaviour = made  # type: ignore[var-annotated]
    made_behaviour_settings = behaviour
    return made_behaviour, made_behaviour_settings


def _bridge(**overrides: Any) -> PowerShellBridge:
    remote = RemoteSettings(host="mgmt01.contoso.local", username="CONTOSO\\svc-sentinel",
                            password="Winrm-Pa55!", auth="ntlm")
    settings = PowerShellSettings(scripts=[BEHAVIOURS], remote=remote, backoff=0, **overrides)
    catalog = build_catalog(settings)
    return PowerShellBridge(settings, {n: g.function for n, g in catalog.tools.items()})


async def test_call_through_pypsrp_round_trips(endpoint: Any) -> None:
    made, _ = endpoint
    bridge = _bridge()
    try:
        result = await bridge.invoke("Get-Echo", {"Text": INJECTION, "Items": ["Zürich", "日本"], "Number": 3},
                                     read_only=True)
        assert result.output == [{"Text": INJECTION, "Items": ["Zürich", "日本"], "Number": 3}]
        again = await bridge.invoke("Get-Noisy", {}, read_only=True)
        assert again.information == ["Write-Host says hello"]
    finally:
        await bridge.aclose()
    transport, host, args = made[0]
    # pypsrp was given the settings: host, port (HTTPS default), credentials, TLS, auth
    assert args[0] == "mgmt01.contoso.local" and args[2] == "CONTOSO\\svc-sentinel" and args[4] is True
    assert args[6] == "ntlm"
    assert transport.actions[0] == "Create" and transport.actions[-1] == "Delete"
    kinds = [(c[0][0] if not c[0][1] else "<script>") for c in transport.pipelines]
    assert kinds == ["<script>", "<script>", "Register-SkFunctions", "Invoke-SkRequest", "Invoke-SkRequest"]
    sent = json.loads(transport.pipelines[3][0][2]["Json"])
    assert sent["command"] == "Get-Echo" and sent["parameters"]["Text"] == INJECTION


async def test_retries_and_errors_through_pypsrp(endpoint: Any) -> None:
    made, _ = endpoint
    bridge = _bridge()
    try:
        flaky = await bridge.invoke("Get-Flaky", {"Key": "wsman", "FailTimes": 2}, read_only=True)
        assert flaky.output == [{"attempt": 3}] and flaky.attempts == 3
        with pytest.raises(PowerShellError, match="403"):
            await bridge.invoke("Get-Forbidden", {}, read_only=True)
    finally:
        await bridge.aclose()
    assert len(made) == 1  # one session served every call


async def test_script_load_failure_through_pypsrp(endpoint: Any) -> None:
    made, behaviour = endpoint
    behaviour["fail_load"] = True
    bridge = _bridge()
    try:
        with pytest.raises(HostStartError, match="loading Behaviours.ps1 on mgmt01.contoso.local failed"):
            await bridge.invoke("Get-Pid", {}, read_only=True)
    finally:
        await bridge.aclose()
    assert made[0][0].actions[-1] == "Delete"  # the half-opened session was closed


async def test_timeout_stops_the_remote_pipeline(endpoint: Any) -> None:
    made, _ = endpoint
    bridge = _bridge(timeout=0.5)
    try:
        with pytest.raises(HostTimeout, match="on mgmt01.contoso.local"):
            await bridge.invoke("Get-Slow", {"Seconds": 20}, read_only=True)
        assert "Signal" in made[0][0].actions  # PowerShell.stop() reached the endpoint
        assert (await bridge.invoke("Get-Pid", {}, read_only=True)).output
        assert len(made) == 2  # a fresh session after the timeout
    finally:
        await bridge.aclose()
