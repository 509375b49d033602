"""pytest fixtures for pack authors (auto-loaded through the ``pytest11`` entry point ``sentinelkit``).

They need the emulator's fixtures (``pip install sentinelkit-emulator``):

- ``sentinelkit_env``: the environment (monkeypatched) that points a server at the session emulator,
  with a per-test audit log and a configuration giving each customer tenant its own credential
- ``sentinelkit_settings``: ``Settings`` loaded from that environment
- ``make_server``: ``make_server(read_only=True, plugins={"name": module})`` → a fresh FastMCP server
- ``sentinelkit_server``: ``make_server()``
- ``mcp_client``: a connected ``fastmcp.Client`` (in-process, protocol 2026-07-28)
- ``audit_records``: ``audit_records()`` → the records of the test's audit log so far
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from sentinelkit_devkit.emulator import emulator_environment

AZURE_ENV = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
             "AZURE_AUTHORITY_HOST", "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE")


@pytest.fixture(scope="session")
def sentinelkit_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tool-schema cache per test session: the first server builds, the others list from it."""
    return tmp_path_factory.mktemp("sentinelkit-cache")


@pytest.fixture
def sentinelkit_env(emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                    sentinelkit_cache_dir: Path) -> dict[str, str]:
    for name in AZURE_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in ("SENTINELKIT_READ_ONLY", "SENTINELKIT_CACHE_TTL", "MCP_SERVER_NAME", "DEBUG_MODE"):
        monkeypatch.delenv(name, raising=False)
    env = emulator_environment(emulator.info, tmp_path)
    env["SENTINELKIT_CACHE_DIR"] = str(sentinelkit_cache_dir)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return env


@pytest.fixture
def audit_records(sentinelkit_env: dict[str, str]) -> Callable[[], list[dict[str, Any]]]:
    """``audit_records()`` → the records the server audited so far in this test (the per-test audit log)."""
    import json

    def read() -> list[dict[str, Any]]:
        path = Path(sentinelkit_env["SENTINELKIT_AUDIT_LOG"])
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    return read


@pytest.fixture
def sentinelkit_settings(sentinelkit_env: dict[str, str]) -> Any:
    from sentinelkit.settings import load_settings

    return load_settings()


@pytest.fixture
def make_server(sentinelkit_env: dict[str, str]) -> Callable[..., Any]:
    from sentinelkit.packs import PackManager
    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings

    def make(*, plugins: dict[str, Any] | None = None, entry_points: bool = True, config: Path | None = None,
             **overrides: Any) -> Any:
        settings = load_settings(config, **overrides)
        manager = PackManager(settings=settings, entry_points=entry_points)
        manager.load()
        for name, plugin in (plugins or {}).items():
            manager.add(plugin, name)
        return build_server(settings, manager)

    return make


@pytest.fixture
def sentinelkit_server(make_server: Callable[..., Any]) -> Any:
    return make_server()


try:  # an async fixture that also works under pytest-asyncio's strict mode
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover
    _async_fixture = pytest.fixture  # type: ignore[assignment]


@_async_fixture
async def mcp_client(sentinelkit_server: Any) -> AsyncIterator[Any]:
    from fastmcp import Client

    async with Client(sentinelkit_server) as client:
        yield client
