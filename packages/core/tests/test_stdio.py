"""The real ``sentinelkit serve`` process over stdio, driven by the mcp SDK client (2025-11-25
handshake), against the emulator over HTTPS with real azure-identity credentials."""

from __future__ import annotations

import json
import sys
from contextlib import asynccontextmanager
from typing import Any

import mcp.types as t
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from sentinelkit_devkit.process import child_env


@asynccontextmanager
async def serve(env: dict[str, str], *args: str, elicit: Any = None, errlog: Any = None):
    params = StdioServerParameters(command=sys.executable, args=["-m", "sentinelkit.cli", "serve", *args],
                                   env=child_env(env))
    async with stdio_client(params, **({"errlog": errlog} if errlog else {})) as (read, write):
        async with ClientSession(read, write, elicitation_callback=elicit) as session:
            await session.initialize()
            yield session


def _json(result: t.CallToolResult) -> Any:
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


async def test_stdio_lists_tools_and_answers_workspace_list(sentinelkit_env, emulator) -> None:
    async with serve(sentinelkit_env) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert tools["workspace_list"].annotations.read_only_hint is True
        result = await session.call_tool("workspace_list", {"tenant": "tailspin"})
    assert not result.is_error
    assert [w["name"] for w in _json(result)["workspaces"]] == ["law-tailspin"]


async def test_stdio_destructive_call_asks_with_ctx_elicit(sample_packs, sentinelkit_env, emulator) -> None:
    questions: list[str] = []

    async def elicit(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        questions.append(params.message)
        return t.ElicitResult(action="accept", content={"value": True})

    try:
        async with serve(sentinelkit_env, elicit=elicit) as session:
            await session.call_tool("sample_tag_set", {"workspace": "law-tailspin", "tag": "tmp", "value": "1"})
            removed = await session.call_tool("sample_tag_remove", {"workspace": "law-tailspin", "tag": "tmp"})
            assert _json(removed)["removed"] is True, removed
            tags = _json(await session.call_tool("sample_tags_get", {"workspace": "law-tailspin"}))["tags"]
    finally:
        emulator.reset()
    assert "tmp" not in tags
    assert len(questions) == 1 and "remove tag tmp" in questions[0]


async def test_stdio_server_keeps_serving_after_a_tool_fails_unexpectedly(sample_packs, sentinelkit_env) -> None:
    async with serve(sentinelkit_env) as session:
        boom = await session.call_tool("sample_explode", {})
        ok = await session.call_tool("workspace_list", {})
    assert boom.is_error
    text = boom.content[0].text
    assert "failed unexpectedly" in text and "'sample'" in text and "keeps running" in text
    assert "Traceback" not in text
    assert not ok.is_error and _json(ok)["count"] >= 5


async def test_stdio_read_only_flag(sample_packs, sentinelkit_env) -> None:
    async with serve(sentinelkit_env, "--read-only") as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
    assert "sample_tags_get" in names and "sample_tag_set" not in names and "sample_tag_remove" not in names


async def test_stdio_keeps_stdout_clean_when_a_pack_is_broken(sample_packs, sentinelkit_env) -> None:
    # the broken pack logs a warning: it must go to stderr, or the JSON-RPC stream would break
    async with serve(sentinelkit_env) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
    assert "sample_tags_get" in names


async def test_debug_logs_are_json_on_stderr_with_secrets_redacted(sentinelkit_env, tmp_path) -> None:
    log_path = tmp_path / "stderr.log"
    with open(log_path, "w") as errlog:
        async with serve({**sentinelkit_env, "DEBUG_MODE": "true"}, errlog=errlog) as session:
            result = await session.call_tool("workspace_list", {})
            assert not result.is_error
    events = []
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    requests = [e for e in events if e.get("event") == "azure_request"]
    assert requests and all(e["correlation_id"] for e in requests)
    assert {"timestamp", "level", "tenant", "status"} <= set(requests[0])
    assert sentinelkit_env["AZURE_CLIENT_SECRET"] not in log_path.read_text()


async def test_serve_with_embedded_emulator(tmp_path) -> None:
    env = {"SENTINELKIT_CONFIG": "", "HOME": str(tmp_path)}
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "SENTINELKIT_"))}
    params = StdioServerParameters(command=sys.executable, args=["-m", "sentinelkit.cli", "serve", "--emulator"],
                                   env=child_env({"HOME": env["HOME"]}, base=clean))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("workspace_list", {})
    names = {w["name"] for w in _json(result)["workspaces"]}
    assert {"law-contoso-soc", "law-woodgrove", "law-fabrikam-prod"} <= names
