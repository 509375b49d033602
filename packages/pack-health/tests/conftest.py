"""Fixtures of the health pack's tests: a server built from the installed packs, against the session
emulator, with fewer retries so that injected outages answer quickly (the behaviour is the same)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

RETRY = "\n[retry]\nmax_retries = 1\nbackoff_factor = 0.1\nretry_after_cap = 5\n"


@pytest.fixture
def health_config(sentinelkit_env: dict[str, str], tmp_path: Path) -> Path:
    """The emulator's configuration (a credential per customer tenant) with one retry instead of three,
    as a copy: the emulator's own file serves every other test of the session."""
    path = tmp_path / "sentinelkit.toml"
    path.write_text(Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text(encoding="utf-8") + RETRY, encoding="utf-8")
    return path


@pytest.fixture
def health_server(make_server: Callable[..., Any], health_config: Path) -> Any:
    return make_server(config=health_config)


@pytest.fixture
async def client(health_server: Any) -> AsyncIterator[Any]:
    from fastmcp import Client

    async with Client(health_server) as c:
        yield c


async def call(client: Any, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool through the MCP client; fail the test with the tool's own message if it errs."""
    result = await client.call_tool(name, args or {}, raise_on_error=False)
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    if data is None:
        data = json.loads(result.content[0].text)
    return data


def by_workspace(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["workspace"]: w for w in answer["workspaces"]}


def titles(workspace: dict[str, Any], check: str | None = None) -> list[str]:
    return [f["title"] for f in workspace["findings"] if check is None or f["check"] == check]
