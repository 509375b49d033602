"""The two tool modes (issue "a tool catalog that fits in a conversation"), through a real MCP client against
the emulator with every pack installed: ``serve --tools compact`` offers the same operations as the full
mode, and a call through a pack's tool goes through the same safety, confirmation, audit and policy path
(same answer, same question, same refusal)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import mcp.types as t
import pytest
from fastmcp import Client
from fastmcp.client.messages import MessageHandler

from sentinelkit import Safety

PACKS = ("dcr", "health", "hunting", "incidents", "powershell", "rules", "tables", "workbooks")
WORKSPACE = "law-contoso-soc"


def entry(tool: Any) -> dict[str, Any]:
    """A tool as the client received it (what a conversation pays for)."""
    return tool.model_dump(mode="json", by_alias=True, exclude_none=True)  # type: ignore[no-any-return]


def pack_of(tool: Any) -> str:
    return str(((tool.meta or {}).get("sentinelkit") or {}).get("pack"))


def sample_arguments(tool: Any) -> dict[str, Any]:
    """Arguments every tool accepts the shape of: the workspace, a made-up value for each other required
    argument, and ``dry_run`` for writes (a destructive call is not confirmed: a preview or a refusal)."""
    properties = tool.input_schema.get("properties") or {}
    made_up = {"string": "no-such-thing", "array": ["no-such-thing"], "integer": 1, "number": 1, "object": {},
               "boolean": False}
    arguments: dict[str, Any] = {}
    for name in tool.input_schema.get("required") or []:
        schema = properties[name]
        arguments[name] = schema["enum"][0] if "enum" in schema else made_up.get(schema.get("type"), "no-such-thing")
    if "workspace" in properties:
        arguments["workspace"] = WORKSPACE
    if "dry_run" in properties:
        arguments["dry_run"] = True
    return arguments


def answer(result: t.CallToolResult) -> tuple[bool, list[str]]:
    """Whether it failed, and its text with the moments it was made at left out (two calls, two moments)."""
    texts = [c.text for c in result.content if isinstance(c, t.TextContent)]
    return bool(result.is_error), [re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", "<time>", text)
                                   for text in texts]


async def through_pack(client: Any, pack: str, operation: str, arguments: dict[str, Any]) -> t.CallToolResult:
    return await client.call_tool_mcp(pack, {"operation": operation, "arguments": arguments})  # type: ignore[no-any-return]


def audit(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["SENTINELKIT_AUDIT_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def restore(emulator: Any) -> Any:
    yield
    emulator.reset()


@pytest.mark.parametrize("pack", PACKS)
async def test_both_modes_offer_the_same_operations_with_the_same_answers(make_server, sentinelkit_env, pack,
                                                                         restore) -> None:
    async with Client(make_server()) as full, Client(make_server(tools="compact")) as compact:
        listed = {tool.name: tool for tool in (await full.list_tools_mcp()).tools if pack_of(tool) == pack}
        assert listed, f"pack {pack} lists no tool: is it installed?"
        catalog = {tool.name: tool for tool in (await compact.list_tools_mcp()).tools}
        assert not set(listed) & set(catalog), "compact mode lists an operation as a tool of its own"
        pack_tool = catalog[pack]
        assert pack_tool.input_schema["properties"]["operation"]["enum"] == ["describe", *listed]
        for name, tool in listed.items():
            assert f"\n{name}" in pack_tool.description or pack_tool.description.startswith(name), (
                f"{pack}'s description has no line for {name}")
            described = await through_pack(compact, pack, "describe", {"operation": name})
            assert not described.is_error and described.structured_content == entry(tool), (
                f"describe {name} is not the full mode's listing")

            arguments = sample_arguments(tool)
            by_name = answer(await full.call_tool_mcp(name, arguments))
            by_pack = answer(await through_pack(compact, pack, name, arguments))
            assert by_pack == by_name, f"{name}({arguments}): the two modes answer differently"


async def test_a_destructive_operation_asks_first_in_both_modes(make_server, sentinelkit_env, restore) -> None:
    asked: list[str] = []

    async def decline(message: str, response_type: Any, params: Any, context: Any) -> Any:
        asked.append(message)
        from fastmcp.client.elicitation import ElicitResult

        return ElicitResult(action="decline")

    rule = {"workspace": WORKSPACE}
    async with Client(make_server(), elicitation_handler=decline) as full, \
            Client(make_server(tools="compact"), elicitation_handler=decline) as compact:
        rules = (await full.call_tool("rule_list", rule)).structured_content
        first = (rules.get("rules") or rules.get("items"))[0]
        rule["rule"] = first.get("name") or first["id"]
        declined_full = answer(await full.call_tool_mcp("rule_delete", rule))
        declined_compact = answer(await through_pack(compact, "rules", "rule_delete", rule))
        assert len(asked) == 2 and asked[0] == asked[1], asked
        assert declined_full == declined_compact
        assert not (await full.call_tool_mcp("rule_get", rule)).is_error, "a declined delete removed the rule"

    async with Client(make_server(tools="compact")) as compact:  # a client that cannot ask: a preview
        preview = await through_pack(compact, "rules", "rule_delete", rule)
        assert not preview.is_error and preview.structured_content["confirmation_required"] is True
        done = await through_pack(compact, "rules", "rule_delete", {**rule, "confirm": True})
        assert not done.is_error, done.content
        gone = await through_pack(compact, "rules", "rule_get", rule)
        assert gone.is_error
    records = [r for r in audit(sentinelkit_env) if r["tool"] == "rule_delete"]
    assert [r["outcome"] for r in records] == ["declined", "declined", "preview", "applied"]
    assert records[-1]["confirmed_by"] == "confirm_flag"


async def test_read_only_mode_hides_and_refuses_the_same_operations(make_server, sentinelkit_env) -> None:
    async with Client(make_server(read_only=True)) as full, \
            Client(make_server(read_only=True, tools="compact")) as compact:
        shown = {tool.name for tool in (await full.list_tools_mcp()).tools}
        catalog = (await compact.list_tools_mcp()).tools
        offered = {op for tool in catalog for op in (tool.input_schema.get("properties", {}).get("operation", {})
                                                     .get("enum") or []) if op != "describe"}
        offered |= {tool.name for tool in catalog if "operation" not in tool.input_schema.get("properties", {})}
        assert offered - {"packs_enable"} == shown
        for tool in catalog:
            if tool.name in PACKS:
                assert Safety.from_annotations(tool.annotations) is Safety.READ_ONLY, tool.name
        for pack, write in (("incidents", "incident_update"), ("rules", "rule_delete"), ("tables", "table_create")):
            assert write not in shown
            arguments = {"workspace": WORKSPACE}
            refused_full = answer(await full.call_tool_mcp(write, arguments))
            refused_compact = answer(await through_pack(compact, pack, write, arguments))
            assert refused_full[0] and refused_full == refused_compact
            assert "read-only mode" in refused_full[1][0]
            described = await through_pack(compact, pack, "describe", {"operation": write})
            assert described.is_error and described.content[0].text == refused_full[1][0]


async def test_a_tenant_policy_refuses_the_same_call_in_both_modes(make_server, sentinelkit_env, tmp_path,
                                                                   restore) -> None:
    text = Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text()
    config = tmp_path / "policy.toml"
    config.write_text(text.replace("[tenants.northwind]\n", '[tenants.northwind]\nallow = "read_only"\n'))
    async with Client(make_server(config=config)) as full, Client(make_server(config=config, tools="compact")) as compact:
        listed = (await full.call_tool("incident_list", {"workspace": "law-northwind", "limit": 1})).structured_content
        comment = {"workspace": "law-northwind", "incident_id": str(listed["incidents"][0]["number"]),
                   "message": "policy test"}
        refused_full = answer(await full.call_tool_mcp("incident_comment_add", comment))
        refused_compact = answer(await through_pack(compact, "incidents", "incident_comment_add", comment))
        assert refused_full[0] and "read-only by policy" in refused_full[1][0]
        assert refused_compact == refused_full
    assert [r["outcome"] for r in audit(sentinelkit_env) if r["tool"] == "incident_comment_add"] == ["refused"] * 2


async def test_every_pack_fits_in_20_kb_in_compact_mode(make_server, sentinelkit_env) -> None:
    async with Client(make_server(tools="compact")) as compact:
        catalog = (await compact.list_tools_mcp()).tools
    assert {tool.name for tool in catalog} >= {*PACKS, "workspace_list", "packs_enable"}
    size = sum(len(tool.model_dump_json(by_alias=True, exclude_none=True).encode()) for tool in catalog)
    assert size <= 20_000, f"the compact catalog takes {size} bytes"


async def test_packs_enable_lists_a_packs_tools_and_says_the_list_changed(make_server, sentinelkit_env) -> None:
    changed: list[str] = []

    class Changes(MessageHandler):
        async def on_tool_list_changed(self, message: t.ToolListChangedNotification) -> None:
            changed.append("tools")

    async with Client(make_server(tools="compact"), message_handler=Changes()) as compact, \
            Client(make_server(tools="compact")) as other:
        enabled = await compact.call_tool("packs_enable", {"packs": ["tables"]})
        assert enabled.structured_content["enabled"] == ["tables"]
        assert changed == ["tools"]
        names = {tool.name for tool in (await compact.list_tools_mcp()).tools}
        assert {"table_list", "table_delete", "incidents"} <= names and "tables" not in names
        rows = await compact.call_tool("table_list", {"workspace": WORKSPACE, "limit": 1})
        assert not rows.is_error
        # another session's listing stays compact
        assert "tables" in {tool.name for tool in (await other.list_tools_mcp()).tools}

        wrong = await compact.call_tool_mcp("packs_enable", {"packs": ["tabels"]})
        assert wrong.is_error and "'tables'" in wrong.content[0].text and "Nothing was changed" in wrong.content[0].text


async def test_an_unknown_operation_says_which_there_are(make_server, sentinelkit_env) -> None:
    async with Client(make_server(tools="compact")) as compact:
        wrong = await through_pack(compact, "incidents", "incident_lst", {})
    text = wrong.content[0].text
    assert wrong.is_error and "'incident_list'" in text and "incident_get" in text and "Nothing was done" in text


async def test_the_real_server_in_compact_mode_over_stdio(sentinelkit_env, emulator) -> None:
    """``sentinelkit serve --tools compact`` as Claude Desktop starts it, driven by the mcp SDK client."""
    import sys

    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from sentinelkit_devkit.process import child_env

    notified: list[Any] = []

    async def on_message(message: Any) -> None:
        notified.append(message)

    params = StdioServerParameters(command=sys.executable, env=child_env(sentinelkit_env),
                                   args=["-m", "sentinelkit.cli", "serve", "--tools", "compact"])
    async with stdio_client(params) as (read, write), ClientSession(read, write, message_handler=on_message) as session:
        init = await session.initialize()
        assert '"describe"' in (init.instructions or "") and "`workspace`:" in (init.instructions or "")
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert {*PACKS, "workspace_list", "packs_enable"} <= names and "incident_list" not in names
        listed = await session.call_tool("incidents", {"operation": "incident_list",
                                                       "arguments": {"workspace": WORKSPACE, "limit": 2}})
        assert not listed.is_error and len(listed.structured_content["incidents"]) == 2
        described = await session.call_tool("incidents", {"operation": "describe",
                                                          "arguments": {"operation": "incident_close"}})
        assert described.structured_content["annotations"] == {"destructiveHint": True}
        assert "classification" in described.structured_content["inputSchema"]["required"]
        await session.call_tool("packs_enable", {"packs": ["incidents"]})
        assert any(isinstance(getattr(m, "root", m), t.ToolListChangedNotification) for m in notified), notified
        assert "incident_list" in {tool.name for tool in (await session.list_tools()).tools}
