"""Fixtures: the fake host (same protocol as host.ps1) wired through the real bridge and server."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
DATA = HERE / "data"
SENTINEL_MANAGER = DATA / "SentinelManager.ps1"
BEHAVIOURS = DATA / "Behaviours.ps1"
FAKE_HOST = HERE / "support" / "fake_host.py"


@pytest.fixture
def fake_command() -> list[str]:
    """The command that replaces ``pwsh -File host.ps1``: same arguments, same protocol."""
    return [sys.executable, str(FAKE_HOST)]


@pytest.fixture
def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the fake host keeps counters (flaky calls) and logs the raw requests it received."""
    monkeypatch.setenv("FAKE_HOST_STATE", str(tmp_path))
    monkeypatch.setenv("FAKE_HOST_LOG", str(tmp_path / "requests.jsonl"))
    monkeypatch.delenv("FAKE_HOST_FAIL_LOAD", raising=False)
    return tmp_path


@pytest.fixture
async def make_bridge(fake_command: list[str], fake_env: Path) -> AsyncIterator[Callable[..., Any]]:
    """``make_bridge(**settings)`` → a real ``PowerShellBridge`` running the fake host; backoff sleeps recorded."""
    from sentinelkit_powershell.bridge import PowerShellBridge
    from sentinelkit_powershell.catalog import build_catalog
    from sentinelkit_powershell.settings import PowerShellSettings

    made: list[Any] = []
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def make(**overrides: Any) -> Any:
        values: dict[str, Any] = {"scripts": [BEHAVIOURS, SENTINEL_MANAGER], "host_command": fake_command,
                                  "timeout": 30.0, "start_timeout": 30.0}
        values.update(overrides)
        settings = PowerShellSettings(**values)
        catalog = build_catalog(settings)
        bridge = PowerShellBridge(settings, {n: g.function for n, g in catalog.tools.items()}, sleep=no_sleep)
        bridge.sleeps = sleeps  # type: ignore[attr-defined]
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        await bridge.aclose()


@pytest.fixture
def powershell_env(monkeypatch: pytest.MonkeyPatch, fake_env: Path, fake_command: list[str]) -> dict[str, str]:
    """The environment a user sets, with the fake host standing in for pwsh."""
    import shlex

    env = {
        "POWERSHELL_SCRIPT_PATH": f"{SENTINEL_MANAGER};{BEHAVIOURS}",
        "SENTINELKIT_POWERSHELL_HOST_COMMAND": shlex.join(fake_command),
    }
    for key in ("SENTINELKIT_POWERSHELL_CONFIG", "SENTINELKIT_POWERSHELL_REMOTE_HOST", "SENTINELKIT_POWERSHELL_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
