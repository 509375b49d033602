"""``sentinelkit serve --emulator --emulator-state FILE`` used the way Claude Desktop uses it: a client starts
the server over stdio, makes a change, closes stdin, and kills the server if it is still there 2 s later.
Every session must see every change made before it, and nothing may be left behind: no ``*.tmp``, no
temporary folder with keys or secrets."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client import stdio
from sentinelkit_devkit.process import child_env

pytest.importorskip("sentinelkit_emulator")
pytest.importorskip("sentinelkit_incidents")

ROUNDS = 20
WORKSPACE, INCIDENT = "law-fabrikam-prod", "1"


def _json(result: Any) -> Any:
    assert not result.is_error, result.content
    return result.structured_content if result.structured_content is not None else json.loads(result.content[0].text)


async def test_each_session_sees_the_changes_of_the_sessions_before_it(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    state = tmp_path / "claude" / "emulator-state"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "SENTINELKIT_"))}
    env = child_env({"HOME": str(tmp_path), "TMPDIR": str(temp), "SENTINELKIT_AUDIT_LOG": str(tmp_path / "audit.jsonl")},
                    base=clean)
    params = StdioServerParameters(command=sys.executable, env=env,
                                   args=["-m", "sentinelkit.cli", "serve", "--emulator", "--emulator-state", str(state)])
    killed: list[int] = []

    async def kill(process: Any) -> None:
        """Claude Desktop's way: the server still running 2 s after stdin closed is killed, no SIGTERM first."""
        killed.append(process.pid)
        os.killpg(process.pid, signal.SIGKILL)  # the SDK starts the server as the leader of its own group
        await process.wait()

    monkeypatch.setattr(stdio, "_terminate_process_tree", kill)  # called after the SDK's 2 s wait
    files = state.with_name(state.name + "-files")
    for n in range(ROUNDS):
        kills_before = len(killed)
        async with stdio.stdio_client(params, errlog=open(os.devnull, "w")) as (read, write):  # noqa: SIM115
            async with ClientSession(read, write) as session:
                await session.initialize()
                listed = _json(await session.call_tool("incident_comment_list", {
                    "workspace": WORKSPACE, "incident_id": INCIDENT, "limit": 100}))
                messages = {c["message"] for c in listed["comments"]}
                assert {f"session {i}" for i in range(n)} <= messages, f"session {n} lost a change: {messages}"
                _json(await session.call_tool("incident_comment_add", {
                    "workspace": WORKSPACE, "incident_id": INCIDENT, "message": f"session {n}"}))
        if len(killed) == kills_before:  # it stopped by itself: its folder went with it
            assert not files.exists(), f"session {n} left {files}"
    assert not list(temp.iterdir()), "a temporary folder was left behind"
    assert not [p for p in tmp_path.rglob("*.tmp")]
    print(f"{len(killed)} of {ROUNDS} servers were still running 2 s after their stdin closed, and were killed")
