"""Policies and the safety findings of the earlier review (issue "devkit, policies and the open safety
findings"), through a real MCP client against the emulator: a read-only tenant, ADDITIVE changes that
remove something, the audit of generated PowerShell writes, files confined to the export directory,
and short HTTP tokens."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from sentinelkit_devkit.process import run_cli

from sentinelkit import READ_ONLY, Kit, ToolRegistrar, hookimpl, tool


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return result.structured_content  # type: ignore[no-any-return]


def audit(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["SENTINELKIT_AUDIT_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def with_policy(env: dict[str, str], tmp_path: Path, tenant: str, allow: str) -> Path:
    text = Path(env["SENTINELKIT_CONFIG"]).read_text()
    marker = f"[tenants.{tenant}]\n"
    assert marker in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(marker, f'{marker}allow = "{allow}"\n'))
    return path


@pytest.fixture
def restore(emulator: Any) -> Any:
    yield
    emulator.reset()


async def test_a_read_only_tenant_refuses_writes_and_serves_reads(make_server, sentinelkit_env, tmp_path,
                                                                  restore) -> None:
    config = with_policy(sentinelkit_env, tmp_path, "northwind", "read_only")
    async with Client(make_server(config=config)) as client:
        incidents = ok(await client.call_tool("incident_list", {"workspace": "law-northwind", "limit": 2}))
        number = str(incidents["incidents"][0]["number"])
        refused = await client.call_tool("incident_comment_add", {"workspace": "law-northwind", "incident_id": number,
                                                                  "message": "policy test"}, raise_on_error=False)
        assert refused.is_error
        text = refused.content[0].text
        assert "read-only by policy ([tenants.northwind] allow = \"read_only\"" in text and str(config) in text
        assert audit(sentinelkit_env)[-1]["outcome"] == "refused"

        bulk = ok(await client.call_tool("incident_bulk_update", {
            "workspaces": "all", "status": "New", "severity": "Informational", "set_severity": "Low",
            "max_incidents": 1000, "confirm": True}))
        assert "read-only by policy" in bulk["errors"]["law-northwind"]
        assert "law-northwind" not in bulk.get("applied_incidents", {})
        entry = audit(sentinelkit_env)[-1]
        assert entry["tool"] == "incident_bulk_update" and "law-northwind" in entry["refused"]


async def test_a_policy_hook_can_refuse_any_call(make_server, sentinelkit_env) -> None:
    """What a deployment plugs in ("nobody deletes rules on Fridays"): here, no reads of tailspin."""
    from sentinelkit import Workspace

    @hookimpl
    def check_call(call: Any, workspace: Workspace | None, tenant_id: str | None, settings: Any) -> str | None:
        if workspace is not None and workspace.tenant == "tailspin":
            return "tailspin is closed for audits this week (policy of the test)"
        return None

    @tool(READ_ONLY)
    async def probe_read(kit: Kit, workspace: str) -> str:
        """Resolve a workspace (a test tool).

        Args:
            workspace: The workspace.
        """
        return (await kit.workspace(workspace)).label

    @hookimpl
    def register_tools(register: ToolRegistrar) -> None:
        register(probe_read)

    plugin = types.SimpleNamespace(check_call=check_call, register_tools=register_tools, __name__="tests.closed")
    async with Client(make_server(plugins={"closed": plugin})) as client:
        allowed = await client.call_tool("probe_read", {"workspace": "law-northwind"})
        assert not allowed.is_error and allowed.content[0].text == "law-northwind"
        closed = await client.call_tool("probe_read", {"workspace": "law-tailspin"}, raise_on_error=False)
        assert closed.is_error and "closed for audits" in closed.content[0].text


async def test_additive_changes_that_remove_something_ask_first(make_server, sentinelkit_env, restore) -> None:
    async with Client(make_server()) as client:  # no elicitation handler: a preview to repeat with confirm=true
        rule = {"workspace": "law-contoso-soc", "rule": "dcr-contoso-linux-syslog"}
        before = ok(await client.call_tool("dcr_get", rule))
        preview = ok(await client.call_tool("dcr_update", {**rule, "data_flows": [
            {"streams": ["Microsoft-Syslog"], "destinations": ["lawcontososoc"]}]}))  # the CEF flow dropped
        assert preview["confirmation_required"] is True
        assert "it stops collecting: data flow Microsoft-CommonSecurityLog → lawcontososoc" in (
            preview["would_change"]["summary"])
        assert ok(await client.call_tool("dcr_get", rule))["data_flows"] == before["data_flows"]  # nothing removed yet
        endpoint = ok(await client.call_tool("dcr_update", {**rule, "endpoint": "none"}))
        assert endpoint["confirmation_required"] is True and "endpoint dce-contoso-soc" in endpoint["would_change"]["summary"]
        tags_only = ok(await client.call_tool("dcr_update", {**rule, "tags": {"owner": "soc"}}))
        assert tags_only["updated"] is True  # adding a tag removes nothing: no question asked

        closed = ok(await client.call_tool("incident_list", {"workspace": "law-tailspin", "status": "Closed",
                                                             "limit": 1}))["incidents"][0]
        reopen = ok(await client.call_tool("incident_update", {"workspace": "law-tailspin",
                                                               "incident_id": str(closed["number"]),
                                                               "status": "Active"}))
        assert reopen["confirmation_required"] is True and "clears its classification" in reopen["would_change"]["summary"]
        still = ok(await client.call_tool("incident_get", {"workspace": "law-tailspin",
                                                           "incident_id": str(closed["number"])}))
        assert still["incident"]["status"] == "Closed"
        done = ok(await client.call_tool("incident_update", {"workspace": "law-tailspin",
                                                             "incident_id": str(closed["number"]),
                                                             "status": "Active", "confirm": True}))
        assert done["changed"] is True
    assert audit(sentinelkit_env)[-1]["confirmed_by"] == "confirm_flag"


def test_short_http_tokens_are_refused_at_start_up(sentinelkit_env) -> None:
    done = run_cli("serve", "--http", "127.0.0.1:0", env={"SENTINELKIT_HTTP_TOKEN": "short-token"}, timeout=60)
    assert done.returncode != 0 and "has 11 characters; use at least 32" in done.stderr
