"""Writes: dry runs, confirmation by elicitation (2026-07-28 InputRequiredResult) or preview +
confirm=true, read-only mode, and the audit log — with the sample pack against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.elicitation import ElicitResult

WS = "law-northwind"


async def _tags(client: Client, ws: str = WS) -> dict[str, str]:
    result = await client.call_tool("sample_tags_get", {"workspace": ws})
    return result.structured_content["tags"]


def _audit(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["SENTINELKIT_AUDIT_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
async def client(sample_packs, make_server, fresh_emulator_env):
    async with Client(make_server()) as c:
        yield c


@pytest.fixture
def fresh_emulator_env(emulator):
    """These tests change resource-group tags: put the session emulator back afterwards."""
    yield
    emulator.reset()


async def test_dry_run_shows_the_change_and_changes_nothing(client, sentinelkit_env) -> None:
    result = await client.call_tool("sample_tag_set", {"workspace": WS, "tag": "sk-owner", "value": "soc",
                                                       "dry_run": True})
    data = result.structured_content
    assert data["dry_run"] is True
    assert data["would_change"]["changes"] == {"tag": "sk-owner", "before": None, "after": "soc"}
    assert "sk-owner" not in await _tags(client)
    entry = _audit(sentinelkit_env)[-1]
    assert entry["tool"] == "sample_tag_set" and entry["outcome"] == "dry_run" and entry["workspace"] == WS


async def test_additive_write_applies_and_is_audited_with_correlation_id(client, sentinelkit_env) -> None:
    result = await client.call_tool("sample_tag_set", {"workspace": WS, "tag": "sk-owner", "value": "soc"})
    assert result.structured_content["tags"]["sk-owner"] == "soc"
    assert (await _tags(client))["sk-owner"] == "soc"  # the write invalidated the cached read
    entry = _audit(sentinelkit_env)[-1]
    assert entry["outcome"] == "applied" and entry["tenant"] == "northwind"
    assert entry["arguments"] == {"workspace": WS, "tag": "sk-owner", "value": "soc"}
    assert entry["correlation_ids"] and all(len(c) >= 32 for c in entry["correlation_ids"])


async def test_destructive_without_elicitation_returns_a_preview_then_confirm_applies(client, sentinelkit_env) -> None:
    await client.call_tool("sample_tag_set", {"workspace": WS, "tag": "legacy", "value": "yes"})
    preview = (await client.call_tool("sample_tag_remove", {"workspace": WS, "tag": "legacy"})).structured_content
    assert preview["confirmation_required"] is True
    assert preview["would_change"]["changes"] == {"tag": "legacy", "before": "yes", "after": None}
    assert "confirm=true" in preview["next"]
    assert (await _tags(client))["legacy"] == "yes"
    done = await client.call_tool("sample_tag_remove", {"workspace": WS, "tag": "legacy", "confirm": True})
    assert done.structured_content["removed"] is True
    assert "legacy" not in await _tags(client)
    outcomes = [e["outcome"] for e in _audit(sentinelkit_env) if e["tool"] == "sample_tag_remove"]
    assert outcomes == ["preview", "applied"]


async def test_destructive_asks_through_input_required_elicitation(sample_packs, make_server, fresh_emulator_env) -> None:
    asked: list[str] = []

    async def accept(message, response_type, params, context):
        asked.append(message)
        return {"confirm": True}

    async with Client(make_server(), elicitation_handler=accept) as client:
        await client.call_tool("sample_tag_set", {"workspace": WS, "tag": "legacy", "value": "yes"})
        done = await client.call_tool("sample_tag_remove", {"workspace": WS, "tag": "legacy"})
        assert done.structured_content["removed"] is True
        assert "legacy" not in await _tags(client)
    assert len(asked) == 1 and "remove tag legacy" in asked[0]


async def test_declined_elicitation_changes_nothing(sample_packs, make_server, fresh_emulator_env,
                                                    sentinelkit_env) -> None:
    async def decline(message, response_type, params, context):
        return ElicitResult(action="decline")

    async with Client(make_server(), elicitation_handler=decline) as client:
        await client.call_tool("sample_tag_set", {"workspace": WS, "tag": "legacy", "value": "yes"})
        result = await client.call_tool("sample_tag_remove", {"workspace": WS, "tag": "legacy"})
        assert result.structured_content["cancelled"] is True
        assert (await _tags(client))["legacy"] == "yes"
    assert _audit(sentinelkit_env)[-1]["outcome"] == "declined"


async def test_read_only_mode_serves_only_read_only_tools(sample_packs, make_server) -> None:
    async with Client(make_server(read_only=True)) as client:
        tools = {t.name: t for t in await client.list_tools()}
        assert "sample_tags_get" in tools and "workspace_list" in tools
        assert "sample_tag_set" not in tools and "sample_tag_remove" not in tools
        assert all(t.annotations.read_only_hint for t in tools.values())
        refused = await client.call_tool("sample_tag_set", {"workspace": WS, "tag": "a", "value": "b"},
                                         raise_on_error=False)
    assert refused.is_error and "read-only mode" in refused.content[0].text


async def test_read_only_from_the_environment(sample_packs, make_server, monkeypatch) -> None:
    monkeypatch.setenv("SENTINELKIT_READ_ONLY", "true")
    async with Client(make_server()) as client:
        assert "sample_tag_set" not in {t.name for t in await client.list_tools()}


async def test_forbidden_write_says_which_permission_is_missing(sample_packs, make_server, emulator,
                                                                monkeypatch) -> None:
    reader = emulator.principal("sentinelkit-reader")
    monkeypatch.setenv("AZURE_CLIENT_ID", reader["client_id"])
    monkeypatch.setenv("AZURE_CLIENT_SECRET", reader["client_secret"])
    async with Client(make_server()) as client:
        result = await client.call_tool("sample_tag_set", {"workspace": WS, "tag": "a", "value": "b"},
                                        raise_on_error=False)
    text = result.content[0].text
    assert result.is_error and "403" in text and "AuthorizationFailed" in text
    assert "northwind" in text and "role" in text
    assert reader["client_secret"] not in text


async def test_the_core_refuses_writes_a_pack_did_not_confirm(make_server, fresh_emulator_env) -> None:
    import types

    from sentinelkit import DESTRUCTIVE, READ_ONLY, hookimpl, tool

    async def _tag(kit, workspace: str) -> None:
        ws = await kit.workspace(workspace)
        rg = f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}"
        current = await kit.arm(ws).get(rg, "2024-03-01", cache=False)
        await kit.arm(ws).put(rg, "2024-03-01", {"location": current["location"], "tags": {"sneaky": "yes"}})

    @tool(READ_ONLY)
    async def group_peek(kit, workspace: str) -> str:
        """Claims to read, but writes (a buggy test tool).

        Args:
            workspace: Workspace.
        """
        await _tag(kit, workspace)
        return "done"

    @tool(DESTRUCTIVE)
    async def group_wipe(kit, workspace: str) -> str:
        """Writes before asking (a buggy test tool).

        Args:
            workspace: Workspace.
        """
        await _tag(kit, workspace)
        await kit.confirm_change("wipe tags")
        return "done"

    @hookimpl
    def register_tools(register):
        register(group_peek)
        register(group_wipe)

    from sentinelkit.server import runtime_of

    pack = types.SimpleNamespace(register_tools=register_tools, __name__="tests.buggy")
    server = make_server(plugins={"buggy": pack})
    async with Client(server) as client:
        peek = await client.call_tool("group_peek", {"workspace": WS}, raise_on_error=False)
        wipe = await client.call_tool("group_wipe", {"workspace": WS}, raise_on_error=False)
        runtime = runtime_of(server)
        ws = await runtime.workspaces.resolve(WS)
        rg = await runtime.arm(ws.via).get(f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}",
                                           "2024-03-01", cache=False)
    assert peek.is_error and "read-only tool" in peek.content[0].text and "'buggy'" in peek.content[0].text
    assert wipe.is_error and "before confirming the change" in wipe.content[0].text
    assert "sneaky" not in (rg.get("tags") or {})


async def test_unconfirmed_writes_leave_tags_unchanged(sample_packs, make_server, fresh_emulator_env) -> None:
    async with Client(make_server()) as client:
        before = await _tags(client)
        await client.call_tool("sample_tag_remove", {"workspace": WS, "tag": "owner"})  # preview only
        assert await _tags(client) == before


# -- F1: an eliciting client is always asked; confirm=true does not skip the user ---------------
async def test_confirm_true_does_not_skip_the_users_decline(sample_packs, make_server, fresh_emulator_env,
                                                            sentinelkit_env) -> None:
    asked: list[str] = []

    async def decline(message, response_type, params, context):
        asked.append(message)
        return ElicitResult(action="decline")

    async with Client(make_server(), elicitation_handler=decline) as client:
        await client.call_tool("sample_tag_set", {"workspace": WS, "tag": "legacy", "value": "yes"})
        result = await client.call_tool("sample_tag_remove", {"workspace": WS, "tag": "legacy", "confirm": True})
        assert result.structured_content["cancelled"] is True
        assert (await _tags(client))["legacy"] == "yes"
    assert len(asked) == 1
    entry = _audit(sentinelkit_env)[-1]
    assert entry["tool"] == "sample_tag_remove" and entry["outcome"] == "declined"
    assert entry["confirmed_by"] is None


@pytest.mark.parametrize("content", [{"confirm": "false"}, {"confirm": "true"}, {"confirm": 1}, {}, None])
async def test_only_an_explicit_boolean_yes_confirms(content, sample_packs, make_server, fresh_emulator_env,
                                                     sentinelkit_env) -> None:
    """The answer is sent by hand (the SDK's client would refuse these against the schema; a buggy or
    hostile client need not)."""
    import mcp.types as t

    from sentinelkit.safety import CONFIRM_KEY

    async def never(message, response_type, params, context):
        raise AssertionError("answered by hand below")

    args = {"workspace": WS, "tag": "legacy", "value": "yes"}
    async with Client(make_server(), elicitation_handler=never) as client:
        await client.call_tool("sample_tag_set", args)
        remove = {"workspace": WS, "tag": "legacy", "confirm": True}
        first = await client.session.call_tool("sample_tag_remove", remove, allow_input_required=True)
        assert isinstance(first, t.InputRequiredResult) and CONFIRM_KEY in first.input_requests
        answer = t.ElicitResult(action="accept", content=content)
        result = await client.session.call_tool("sample_tag_remove", remove, allow_input_required=True,
                                                input_responses={CONFIRM_KEY: answer})
        assert result.structured_content["cancelled"] is True
        assert (await _tags(client))["legacy"] == "yes"
    assert _audit(sentinelkit_env)[-1]["outcome"] == "declined"


async def test_the_audit_says_how_a_change_was_confirmed(sample_packs, make_server, fresh_emulator_env,
                                                         sentinelkit_env) -> None:
    async def accept(message, response_type, params, context):
        return {"confirm": True}

    async with Client(make_server(), elicitation_handler=accept) as client:
        await client.call_tool("sample_tag_set", {"workspace": WS, "tag": "legacy", "value": "yes"})
        await client.call_tool("sample_tag_remove", {"workspace": WS, "tag": "legacy", "confirm": True})
        assert "legacy" not in await _tags(client)
    entry = _audit(sentinelkit_env)[-1]
    assert entry["outcome"] == "applied" and entry["confirmed_by"] == "elicitation"
    async with Client(make_server()) as client:  # cannot elicit: confirm=true is the confirmation
        await client.call_tool("sample_tag_set", {"workspace": WS, "tag": "legacy", "value": "yes"})
        await client.call_tool("sample_tag_remove", {"workspace": WS, "tag": "legacy", "confirm": True})
        assert "legacy" not in await _tags(client)
    entry = _audit(sentinelkit_env)[-1]
    assert entry["outcome"] == "applied" and entry["confirmed_by"] == "confirm_flag"


# -- F6: secrets under common names and in values stay out of the audit log ---------------------
async def test_secret_arguments_are_redacted_in_the_audit_log(make_server, sentinelkit_env) -> None:
    import types

    from sentinelkit import ADDITIVE, hookimpl, tool

    @tool(ADDITIVE)
    async def secret_args(kit, workspace: str, workspace_key: str, authorization: str, connection_string: str,
                          primarySharedKey: str, note: str) -> dict:
        """Takes secret-looking arguments (a test tool).

        Args:
            workspace: Workspace.
            workspace_key: Key.
            authorization: Header.
            connection_string: Connection string.
            primarySharedKey: Key.
            note: Free text.
        """
        await kit.workspace(workspace)
        await kit.confirm_change("nothing", {})
        return {"ok": True}

    @hookimpl
    def register_tools(register):
        register(secret_args)

    pack = types.SimpleNamespace(register_tools=register_tools, __name__="tests.secrets")
    args = {"workspace": WS, "workspace_key": "WsKeySecret==", "authorization": "Bearer OpaqueToken-123456",
            "connection_string": "Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=SakSecret123=",
            "primarySharedKey": "PrimarySecret==",
            "note": "used Bearer NoteToken-987654 and AccountKey=AccSecret99== here"}
    async with Client(make_server(plugins={"secrets": pack})) as client:
        result = await client.call_tool("secret_args", args)
        assert result.structured_content == {"ok": True}
    raw = Path(sentinelkit_env["SENTINELKIT_AUDIT_LOG"]).read_text()
    for secret in ("WsKeySecret", "OpaqueToken", "SakSecret", "PrimarySecret", "NoteToken", "AccSecret"):
        assert secret not in raw
    entry = _audit(sentinelkit_env)[-1]
    assert entry["tool"] == "secret_args" and entry["arguments"]["workspace"] == WS
    assert entry["arguments"]["note"] == "used Bearer *** and AccountKey=*** here"


# -- F4: no server when the audit log cannot be written --------------------------------------
def test_make_server_refuses_an_unwritable_audit_log(make_server, monkeypatch, tmp_path) -> None:
    from sentinelkit.audit import AuditLogError

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    for bad in (blocker / "audit.jsonl", tmp_path):  # parent is a file; the path is a directory
        monkeypatch.setenv("SENTINELKIT_AUDIT_LOG", str(bad))
        with pytest.raises(AuditLogError) as raised:
            make_server()
        assert str(bad) in str(raised.value) and "SENTINELKIT_AUDIT_LOG" in str(raised.value)
        assert "audit_log" in str(raised.value)


def test_an_appendable_audit_log_is_checked_without_leaving_a_file(make_server, sentinelkit_env) -> None:
    make_server()
    assert not Path(sentinelkit_env["SENTINELKIT_AUDIT_LOG"]).exists()


def test_serve_does_not_start_with_an_unwritable_audit_log(sentinelkit_env, tmp_path) -> None:
    import os
    import subprocess
    import sys

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    bad = blocker / "audit.jsonl"
    env = {**os.environ, **sentinelkit_env, "SENTINELKIT_AUDIT_LOG": str(bad)}
    done = subprocess.run([sys.executable, "-m", "sentinelkit.cli", "serve"], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert str(bad) in done.stderr and "SENTINELKIT_AUDIT_LOG" in done.stderr
    assert "Traceback" not in done.stderr  # one clear line, not a stack trace
