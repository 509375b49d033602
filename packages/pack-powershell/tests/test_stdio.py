"""The real ``sentinelkit serve`` process over stdio, driven by the mcp SDK client: the pack is found
through its entry point, the tools are listed from the script, and calls go through the fake host."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import mcp.types as t
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

INJECTION = "'; Remove-Item -Recurse C:\\ #"


async def test_stdio_lists_calls_and_confirms(sentinelkit_env, powershell_env, fake_env) -> None:
    questions: list[str] = []

    async def elicit(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        questions.append(params.message)
        return t.ElicitResult(action="accept", content={"value": True})

    env = {k: v for k, v in os.environ.items() if isinstance(v, str)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "sentinelkit.cli", "serve"], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, elicitation_callback=elicit) as session:
            await session.initialize()
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert tools["Get-SentinelIncidents"].annotations.read_only_hint is True
            assert tools["Remove-SentinelWorkbook"].annotations.destructive_hint is True
            days = tools["Get-SentinelIncidents"].input_schema["properties"]["Days"]
            assert (days["minimum"], days["maximum"], days["default"]) == (1, 90, 7)

            echo = await session.call_tool("Get-Echo", {"Text": INJECTION, "Items": ["日本", "Zürich"]})
            assert not echo.is_error
            assert echo.structured_content["output"] == [{"Text": INJECTION, "Items": ["日本", "Zürich"]}]

            removed = await session.call_tool("Remove-Widget", {"Name": "w9"})
            assert not removed.is_error, removed
            assert removed.structured_content["output"][0]["parameters"] == {"Name": "w9"}
    assert len(questions) == 1 and "Remove-Widget" in questions[0]
    sent = [json.loads(line)["command"] for line in (fake_env / "requests.jsonl").read_text().splitlines()]
    assert sent == ["Get-Echo", "Remove-Widget"]
