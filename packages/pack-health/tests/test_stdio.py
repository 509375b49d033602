"""The real ``sentinelkit serve`` process over stdio, driven by the mcp SDK client (2025-11-25
handshake), with this pack installed: prompts listed and rendered, tools called, against the emulator
over HTTPS with real azure-identity credentials."""

from __future__ import annotations

from pathlib import Path

from sentinelkit_devkit.process import result_json as _json
from sentinelkit_devkit.process import stdio_session


async def test_serve_lists_and_renders_prompts_and_answers_the_health_check(
    sentinelkit_env: dict[str, str], health_config: Path
) -> None:
    async with stdio_session(sentinelkit_env) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert tools["sentinel_health_check"].annotations.read_only_hint is True
        assert tools["logs_query"].annotations.read_only_hint is True
        prompts = {p.name for p in (await session.list_prompts()).prompts}
        assert {"sentinel-health-report", "sentinel-quick-status"} <= prompts
        rendered = await session.get_prompt(
            "sentinel-health-report", {"tenant_scope": "tailspin", "depth": "quick"}
        )
        assert 'tenant_scope=["tailspin"]' in rendered.messages[0].content.text

        health = _json(
            await session.call_tool(
                "sentinel_health_check", {"tenant_scope": "tailspin", "check_depth": "detailed"}
            )
        )
        [tailspin] = health["workspaces"]
        found = {f["check"]: f for f in tailspin["findings"]}
        assert tailspin["workspace"] == "law-tailspin" and health["status"] == "critical"
        assert {"data_freshness", "analytics_rules", "data_collection", "watchlists"} <= set(found)

        rows = _json(
            await session.call_tool(
                "logs_query",
                {
                    "query": "SentinelHealth | where Status == 'Failure' "
                    "| summarize count() by SentinelResourceName",
                    "tenant": "northwind",
                    "timespan": "P1D",
                },
            )
        )
        names = {r["SentinelResourceName"] for r in rows["rows"]}
        assert {"Office 365", "Notify SOC on high severity"} <= names


async def test_serve_read_only_still_offers_the_health_tools(sentinelkit_env: dict[str, str]) -> None:
    async with stdio_session(sentinelkit_env, "--read-only") as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
    assert {"sentinel_health_check", "logs_query"} <= names
