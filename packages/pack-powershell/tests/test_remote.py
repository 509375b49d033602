"""The remote path (WinRM runspace via pypsrp) with pypsrp's ``RunspacePool``/``PowerShell`` replaced by
fakes that answer like a Windows host running host.ps1 would. What crosses the boundary is checked:
host.ps1 is loaded dot-sourced with -Library, the script is loaded into the same runspace, and every
call is ``Invoke-SkRequest -Json <request>`` with the request as a parameter *value*.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from sentinelkit_powershell.bridge import PowerShellBridge
from sentinelkit_powershell.catalog import build_catalog
from sentinelkit_powershell.errors import (
    HostCrashed,
    HostStartError,
    HostTimeout,
    PowerShellError,
)
from sentinelkit_powershell.hostscript import host_script_text
from sentinelkit_powershell.remote import RemoteHost
from sentinelkit_powershell.settings import PowerShellSettings, RemoteSettings

from .conftest import BEHAVIOURS
from .support import fake_host

INJECTION = "'; Remove-Item -Recurse C:\\ #"


class FakeRunspace:
    """What a remote runspace pool remembers: what was loaded, and every pipeline it ran."""

    def __init__(self, fail_open: Exception | None = None) -> None:
        self.opened = self.closed = False
        self.fail_open = fail_open
        self.pipelines: list[list[tuple[str, str, dict[str, Any], bool | None]]] = []
        self.functions: dict[str, set[str]] = {}
        self.host_loaded = False

    def open(self) -> None:
        if self.fail_open:
            raise self.fail_open
        self.opened = True

    def close(self) -> None:
        self.closed = True


class FakeStreams:
    def __init__(self) -> None:
        self.error: list[str] = []


class FakePowerShell:
    """The subset of ``pypsrp.powershell.PowerShell`` the bridge uses."""

    def __init__(self, pool: FakeRunspace) -> None:
        self.pool = pool
        self.commands: list[tuple[str, str, dict[str, Any], bool | None]] = []
        self.streams = FakeStreams()
        self.had_errors = False
        self.state = 2  # Completed
        self._stopped = threading.Event()

    def add_script(self, script: str, use_local_scope: bool | None = None) -> FakePowerShell:
        self.commands.append(("script", script, {}, use_local_scope))
        return self

    def add_cmdlet(self, cmdlet: str) -> FakePowerShell:
        self.commands.append(("cmdlet", cmdlet, {}, None))
        return self

    def add_parameter(self, name: str, value: Any = None) -> FakePowerShell:
        self.commands[-1][2][name] = value
        return self

    def stop(self) -> None:
        self._stopped.set()

    def invoke(self) -> list[Any]:
        self.pool.pipelines.append(self.commands)
        kind, text, params, local = self.commands[0]
        if kind == "script" and text == host_script_text():
            assert params == {"Library": True} and local is False
            self.pool.host_loaded = True
            return []
        if kind == "script":  # the user's script, dot-sourced into the runspace
            assert local is False and self.pool.host_loaded
            fake_host.SCRIPT = str(BEHAVIOURS)
            self.pool.functions = fake_host.functions_of(text)
            return []
        if text == "Register-SkFunctions":
            return sorted(self.pool.functions)
        assert text == "Invoke-SkRequest" and set(params) == {"Json"}
        request = json.loads(params["Json"])
        if request["command"] == "Get-Slow":
            self._stopped.wait(float(request["parameters"].get("Seconds", 60)))
            return [json.dumps({"type": "result", "id": request["id"], "ok": True, "output": ["finally"]})]
        if request["command"] == "Get-Crash":
            raise ConnectionResetError("Connection aborted by the remote host")
        return [json.dumps(fake_host.answer(request, self.pool.functions))]


@pytest.fixture
def remote_settings() -> RemoteSettings:
    return RemoteSettings(host="mgmt01.contoso.local", username="CONTOSO\\svc", password="Pa55word-remote")


def _host(remote: RemoteSettings, pools: list[FakeRunspace], fail_open: Exception | None = None,
          **kwargs: Any) -> RemoteHost:
    def pool_factory(settings: RemoteSettings) -> FakeRunspace:
        pool = FakeRunspace(fail_open)
        pools.append(pool)
        return pool

    return RemoteHost(remote, BEHAVIOURS, pool_factory=pool_factory, powershell_factory=FakePowerShell, **kwargs)


async def test_remote_call_passes_the_request_as_a_parameter_value(remote_settings: RemoteSettings) -> None:
    pools: list[FakeRunspace] = []
    host = _host(remote_settings, pools)
    record, _ = await host.request({"command": "Get-Echo", "parameters": {"Text": INJECTION, "Items": ["日本"]}}, 10)
    assert record["ok"] and record["output"] == [{"Text": INJECTION, "Items": ["日本"]}]
    pool = pools[0]
    assert pool.opened and pool.host_loaded and "get-echo" in pool.functions
    last = pool.pipelines[-1]
    assert [(k, t) for k, t, _, _ in last] == [("cmdlet", "Invoke-SkRequest")]
    assert json.loads(last[0][2]["Json"])["parameters"]["Text"] == INJECTION
    # the script text is only ever the user's file and host.ps1, never built from values
    scripts = [t for p in pool.pipelines for k, t, _, _ in p if k == "script"]
    assert scripts == [host_script_text(), BEHAVIOURS.read_text(encoding="utf-8-sig")]
    await host.close()
    assert pool.closed


async def test_functions_load_mode_uses_import_skfunctions(remote_settings: RemoteSettings) -> None:
    pools: list[FakeRunspace] = []
    host = _host(remote_settings, pools, load="functions")
    pool_calls: list[str] = []
    original = FakePowerShell.invoke

    def spy(self: FakePowerShell) -> list[Any]:
        pool_calls.append(self.commands[0][1] if self.commands[0][0] == "cmdlet" else "script")
        if self.commands[0][1] == "Import-SkFunctions":
            fake_host.SCRIPT = str(BEHAVIOURS)
            self.pool.functions = fake_host.functions_of(self.commands[0][2]["Text"])
            self.pool.pipelines.append(self.commands)
            return []
        return original(self)

    FakePowerShell.invoke = spy  # type: ignore[method-assign]
    try:
        await host.start()
    finally:
        FakePowerShell.invoke = original  # type: ignore[method-assign]
    assert pool_calls == ["script", "Import-SkFunctions", "Register-SkFunctions"]
    await host.close()


async def test_remote_timeout_stops_the_pipeline_and_reopens(remote_settings: RemoteSettings) -> None:
    pools: list[FakeRunspace] = []
    host = _host(remote_settings, pools)
    with pytest.raises(HostTimeout, match="on mgmt01.contoso.local"):
        await host.request({"command": "Get-Slow", "parameters": {"Seconds": 30}}, 0.3)
    assert pools[0].closed and not host.alive
    record, _ = await host.request({"command": "Get-Pid", "parameters": {}}, 10)
    assert record["ok"] and len(pools) == 2
    await host.close()


async def test_transport_failure_is_a_transient_crash(remote_settings: RemoteSettings) -> None:
    pools: list[FakeRunspace] = []
    host = _host(remote_settings, pools)
    with pytest.raises(HostCrashed, match="remote PowerShell session on mgmt01.contoso.local failed") as info:
        await host.request({"command": "Get-Crash", "parameters": {}}, 10)
    assert info.value.transient and not host.alive


async def test_connection_failure_at_start_says_what_to_check(remote_settings: RemoteSettings) -> None:
    host = _host(remote_settings, [], fail_open=PermissionError("401 Unauthorized for CONTOSO\\svc with Pa55word-remote"))
    from sentinelkit.log import add_secret

    add_secret("Pa55word-remote")
    with pytest.raises(HostStartError) as info:
        await host.start()
    message = str(info.value)
    assert "mgmt01.contoso.local" in message and "SENTINELKIT_POWERSHELL_REMOTE_USERNAME" in message
    assert "Pa55word-remote" not in message


async def test_bridge_uses_the_remote_host_and_retries_reads(remote_settings: RemoteSettings,
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FAKE_HOST_STATE", str(tmp_path))
    pools: list[FakeRunspace] = []
    import sentinelkit_powershell.remote as remote_module

    def factory(settings: RemoteSettings) -> FakeRunspace:
        pools.append(FakeRunspace())
        return pools[-1]

    monkeypatch.setattr(remote_module, "_default_pool_factory", factory)
    monkeypatch.setattr(remote_module, "_powershell", FakePowerShell)
    settings = PowerShellSettings(scripts=[BEHAVIOURS], remote=remote_settings, backoff=0)
    catalog = build_catalog(settings)
    bridge = PowerShellBridge(settings, {n: g.function for n, g in catalog.tools.items()})
    try:
        result = await bridge.invoke("Get-Flaky", {"Key": "remote", "FailTimes": 1}, read_only=True)
        assert result.output == [{"attempt": 2}] and result.attempts == 2
        with pytest.raises(PowerShellError, match="403"):
            await bridge.invoke("Get-Forbidden", {}, read_only=True)
    finally:
        await bridge.aclose()
    assert len(pools) == 1 and pools[0].closed


def test_pypsrp_is_not_imported_until_a_remote_call() -> None:
    import subprocess
    import sys

    code = ("import sys; import sentinelkit_powershell, sentinelkit_powershell.bridge, sentinelkit_powershell.remote;"
            "print('pypsrp' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
