"""The real bridge (pool, process handling, protocol, retries) against the fake host process."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from sentinelkit_powershell.errors import (
    FunctionNotAllowed,
    HostCrashed,
    HostStartError,
    HostTimeout,
    PowerShellError,
    ProtocolError,
)
from sentinelkit_powershell.process import ProcessHost
from sentinelkit_powershell.protocol import RS, decode_record, encode_request

from .conftest import BEHAVIOURS, FAKE_HOST

INJECTION = "'; Remove-Item -Recurse C:\\ #"


async def test_call_round_trips_parameters_as_data(make_bridge, fake_env: Path) -> None:
    bridge = make_bridge()
    params = {"Text": INJECTION, "Number": 7, "Items": ["$(Get-Process)", "`whoami`", "a\nb"],
              "Options": {"nested": {"x": [1, 2]}, "quote": "\"'"}, "When": "2026-11-25T10:00:00+00:00", "Flag": True}
    result = await bridge.invoke("Get-Echo", params, read_only=True)
    assert result.output == [params]
    assert result.information == ["received 6 parameter(s)"]
    raw = (fake_env / "requests.jsonl").read_text(encoding="utf-8").splitlines()
    request = json.loads(raw[-1])
    assert request["command"] == "Get-Echo" and request["parameters"]["Text"] == INJECTION
    assert raw[-1].isascii()  # non-ASCII is escaped on the wire


async def test_unicode_survives_both_ways(make_bridge) -> None:
    bridge = make_bridge()
    text = "Zürich – 日本語 – emoji 🛡️ – RTL עברית – \u0000 nul"
    result = await bridge.invoke("Get-Echo", {"Text": text}, read_only=True)
    assert result.output[0]["Text"] == text


async def test_only_discovered_functions_can_run(make_bridge) -> None:
    bridge = make_bridge()
    for name in ("Remove-Item", "Invoke-Expression", "Get-Process", "Show-Menu"):
        with pytest.raises(FunctionNotAllowed):
            await bridge.invoke(name, {}, read_only=True)


async def test_host_is_long_lived_and_reused(make_bridge) -> None:
    bridge = make_bridge(pool_size=1)
    first = await bridge.invoke("Get-Pid", {}, read_only=True)
    second = await bridge.invoke("Get-Pid", {}, read_only=True)
    assert first.output == second.output
    assert bridge.pool(BEHAVIOURS.resolve()).started == 1


async def test_timeout_kills_and_the_next_call_restarts(make_bridge) -> None:
    bridge = make_bridge(pool_size=1, timeout=0.5)
    before = (await bridge.invoke("Get-Pid", {}, read_only=True)).output[0]
    with pytest.raises(HostTimeout, match="did not finish within 0.5 s"):
        await bridge.invoke("Get-Slow", {"Seconds": 30}, read_only=True)
    assert bridge.sleeps == []  # a timeout is not retried, even for a read-only function
    with pytest.raises(ProcessLookupError):
        os.kill(before, 0)  # the old host is gone
    after = (await bridge.invoke("Get-Pid", {}, read_only=True)).output[0]
    assert after != before


async def test_crash_is_reported_and_the_host_restarts(make_bridge) -> None:
    bridge = make_bridge(pool_size=1, retries=0)
    before = (await bridge.invoke("Get-Pid", {}, read_only=True)).output[0]
    with pytest.raises(HostCrashed, match=r"exited \(code 9\) while running Get-Crash.*simulated crash"):
        await bridge.invoke("Get-Crash", {}, read_only=True)
    after = (await bridge.invoke("Get-Pid", {}, read_only=True)).output[0]
    assert after != before


async def test_transient_failures_of_read_only_functions_are_retried_with_backoff(make_bridge) -> None:
    bridge = make_bridge()
    result = await bridge.invoke("Get-Flaky", {"Key": "read", "FailTimes": 2}, read_only=True)
    assert result.output == [{"attempt": 3}] and result.attempts == 3
    assert bridge.sleeps == [1.0, 2.0]


async def test_retries_stop_after_three_with_1_2_4_seconds(make_bridge) -> None:
    bridge = make_bridge()
    with pytest.raises(PowerShellError, match="503.*after 4 attempts") as info:
        await bridge.invoke("Get-Flaky", {"Key": "always", "FailTimes": 99}, read_only=True)
    assert bridge.sleeps == [1.0, 2.0, 4.0]
    assert info.value.transient and info.value.record["script_line"] == 42


async def test_writes_are_never_retried(make_bridge) -> None:
    bridge = make_bridge()
    with pytest.raises(PowerShellError, match="503"):
        await bridge.invoke("Set-Flaky", {"Key": "write", "FailTimes": 1}, read_only=False)
    assert bridge.sleeps == []


async def test_permanent_failures_are_not_retried(make_bridge) -> None:
    bridge = make_bridge()
    with pytest.raises(PowerShellError) as info:
        await bridge.invoke("Get-Forbidden", {}, read_only=True)
    assert bridge.sleeps == []
    message = str(info.value)
    assert "403 (Forbidden)" in message and "WebCmdletWebResponseException" in message and "Behaviours.ps1:51" in message
    assert info.value.record["category"] == "InvalidOperation"


async def test_crash_of_a_read_only_function_is_retried_but_not_of_a_write(make_bridge) -> None:
    bridge = make_bridge(retries=1)
    with pytest.raises(HostCrashed, match="after 2 attempts"):
        await bridge.invoke("Get-Crash", {}, read_only=True)
    assert bridge.sleeps == [1.0]
    with pytest.raises(HostCrashed) as info:
        await bridge.invoke("Remove-Crash", {"Name": "x"}, read_only=False)
    assert "attempts" not in str(info.value)


async def test_non_terminating_errors_without_output_fail_the_call(make_bridge) -> None:
    bridge = make_bridge()
    with pytest.raises(PowerShellError, match="Nope_CL' was not found"):
        await bridge.invoke("Get-WriteError", {}, read_only=True)


async def test_stray_console_output_does_not_break_the_protocol(make_bridge) -> None:
    bridge = make_bridge()
    result = await bridge.invoke("Get-Noisy", {}, read_only=True)
    assert result.output == ["ok"] and result.warnings == ["a warning"]
    assert result.information == ["Write-Host says hello"]
    assert result.host == ["stray console line before the answer", "another one, written without a newline flush"]
    again = await bridge.invoke("Get-Pid", {}, read_only=True)  # still in step
    assert isinstance(again.output[0], int)


async def test_large_outputs_pass_and_oversized_ones_restart_the_host(make_bridge) -> None:
    bridge = make_bridge(pool_size=1, max_output_bytes=2 * 1024 * 1024)
    big = await bridge.invoke("Get-Huge", {"Count": 200, "Size": 5000}, read_only=True)  # ~1 MB in one line
    assert len(big.output) == 200 and len(big.output[-1]["data"]) == 5000
    with pytest.raises(ProtocolError, match="larger than 2 MiB"):
        await bridge.invoke("Get-Huge", {"Count": 1000, "Size": 5000}, read_only=True)
    assert (await bridge.invoke("Get-Huge", {"Count": 1, "Size": 10}, read_only=True)).output[0]["i"] == 0


async def test_pool_runs_calls_concurrently_on_separate_hosts(make_bridge) -> None:
    bridge = make_bridge(pool_size=3)
    results = await asyncio.gather(*(bridge.invoke("Get-Echo", {"Number": i}, read_only=True) for i in range(9)))
    assert [r.output[0]["Number"] for r in results] == list(range(9))
    pool = bridge.pool(BEHAVIOURS.resolve())
    assert 1 <= pool.started <= 3 and len(pool._all) <= 3
    slow = await asyncio.gather(*(bridge.invoke("Get-Slow", {"Seconds": 0.3}, read_only=True) for _ in range(3)))
    assert all(r.output == ["finally"] for r in slow)
    assert pool.started == 3  # three calls at once needed three hosts


async def test_cancelled_call_kills_its_host(make_bridge) -> None:
    bridge = make_bridge(pool_size=1)
    pid = (await bridge.invoke("Get-Pid", {}, read_only=True)).output[0]
    task = asyncio.create_task(bridge.invoke("Get-Slow", {"Seconds": 30}, read_only=True))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert (await bridge.invoke("Get-Pid", {}, read_only=True)).output[0] != pid


async def test_load_failure_is_a_clear_start_error(make_bridge, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_HOST_FAIL_LOAD", "The term 'Connect-AzAccount' is not recognized")
    bridge = make_bridge()
    with pytest.raises(HostStartError, match="(?s)loading Behaviours.ps1 failed: .*Connect-AzAccount.*load = \"functions\""):
        await bridge.invoke("Get-Pid", {}, read_only=True)
    monkeypatch.delenv("FAKE_HOST_FAIL_LOAD")
    assert (await bridge.invoke("Get-Pid", {}, read_only=True)).output  # fixed: the next call starts it


async def test_missing_executable_is_a_clear_error(make_bridge) -> None:
    bridge = make_bridge(host_command=None, executable="/nonexistent/pwsh")
    with pytest.raises(HostStartError, match="'/nonexistent/pwsh' was not found.*PowerShell 7.*SENTINELKIT_POWERSHELL_EXECUTABLE"):
        await bridge.invoke("Get-Pid", {}, read_only=True)


async def test_host_that_exits_before_ready(tmp_path: Path) -> None:
    host = ProcessHost([sys.executable, "-c", "import sys; sys.stderr.write('pwsh: bad option\\n'); sys.exit(64)"],
                       BEHAVIOURS)
    with pytest.raises(HostStartError, match=r"exited \(code 64\) before it was ready.*bad option"):
        await host.start()


async def test_host_that_never_gets_ready_times_out() -> None:
    host = ProcessHost([sys.executable, "-c", "import time; print('loading...', flush=True); time.sleep(60)"],
                       BEHAVIOURS, start_timeout=0.5)
    with pytest.raises(HostStartError, match="did not become ready within 0.5 s"):
        await host.start()
    assert not host.alive


async def test_process_host_speaks_the_documented_protocol() -> None:
    host = ProcessHost([sys.executable, str(FAKE_HOST)], BEHAVIOURS)
    await host.start()
    try:
        assert host.info["type"] == "ready" and host.info["protocol"] == 1
        assert "get-echo" in [f.lower() for f in host.info["functions"]]
        record, stray = await host.request({"command": "Get-Echo", "parameters": {"Text": "x"}}, 10)
        assert record["type"] == "result" and record["id"] == 1 and record["ok"] is True and stray == []
    finally:
        await host.close()
    assert not host.alive


def test_wire_format_helpers() -> None:
    line = encode_request({"id": 1, "command": "Get-Echo", "parameters": {"Text": "é"}})
    assert line.endswith(b"\n") and line.isascii()
    assert decode_record(f"{RS}{{\"type\": \"ready\"}}\n".encode()) == {"type": "ready"}
    assert decode_record(b"What if: Performing the operation\n") is None
    with pytest.raises(ValueError):
        decode_record(f"{RS}[1, 2]\n".encode())
