"""``sentinelkit serve`` over stdio on asyncio pipes (``sentinelkit.stdiopipes``): the real process, raw
JSON-RPC lines on its stdin, against the emulator."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sentinelkit_devkit.process import child_env

from sentinelkit import stdiopipes

HELLO = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
]
SERVE = [sys.executable, "-m", "sentinelkit.cli", "serve"]


def _lines(messages: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(m) + "\n" for m in messages).encode()


def _answers(stdout: bytes) -> dict[Any, dict[str, Any]]:
    return {m.get("id"): m for m in map(json.loads, stdout.decode().splitlines())}


def _transport(stderr: bytes) -> str:
    events = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    return next(e["transport"] for e in events if e.get("event") == "stdio_transport")


def test_requests_piped_then_stdin_closed_are_all_answered(sentinelkit_env: dict[str, str]) -> None:
    """A script pipes its requests and closes stdin at once: every request read is still answered (the end of
    stdin waits for them), on the asyncio-pipe transport."""
    calls = [{"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
             {"jsonrpc": "2.0", "id": "three", "method": "tools/call",
              "params": {"name": "workspace_list", "arguments": {"tenant": "tailspin"}}}]
    done = subprocess.run(SERVE, input=_lines([*HELLO, *calls]), capture_output=True, timeout=120,
                          env=child_env({**sentinelkit_env, "DEBUG_MODE": "true"}))
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    answers = _answers(done.stdout)
    assert set(answers) == {1, 2, "three"}
    assert any(tool["name"] == "workspace_list" for tool in answers[2]["result"]["tools"])
    listed = answers["three"]["result"]["structuredContent"]
    assert [w["name"] for w in listed["workspaces"]] == ["law-tailspin"]
    assert _transport(done.stderr) == "asyncio pipes"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads the server's descriptors from /proc")
def test_the_wire_is_private_stray_output_goes_to_stderr(sentinelkit_env: dict[str, str], tmp_path: Path) -> None:
    """While serving, fd 1 writes where stderr does and fd 0 reads the null device: a library's print or a
    child process cannot write into the JSON-RPC stream or eat its input."""
    errlog = tmp_path / "stderr.log"
    with open(errlog, "wb") as err:
        proc = subprocess.Popen(SERVE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                env=child_env(sentinelkit_env))
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(_lines(HELLO))
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["id"] == 1
            fd = Path(f"/proc/{proc.pid}/fd")
            deadline = time.monotonic() + 10
            while os.readlink(fd / "1") != os.readlink(fd / "2") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert os.readlink(fd / "1") == os.readlink(fd / "2") == str(errlog)
            assert os.readlink(fd / "0") == os.devnull
        finally:
            proc.stdin.close()
            proc.wait(timeout=30)
    assert proc.returncode == 0


def test_stdin_from_a_file_is_left_to_the_sdk_transport(sentinelkit_env: dict[str, str], tmp_path: Path) -> None:
    """asyncio pipes cannot read a regular file: the mcp SDK's own transport takes it. (Which requests it answers
    before it reads the file's end is a race of its own: the socket test below checks its answers.)"""
    requests = tmp_path / "requests.jsonl"
    requests.write_bytes(_lines([*HELLO, {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}]))
    with open(requests, "rb") as stdin:
        done = subprocess.run(SERVE, stdin=stdin, capture_output=True, timeout=120,
                              env=child_env({**sentinelkit_env, "DEBUG_MODE": "true"}))
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert _transport(done.stderr) == "mcp SDK (threads)"
    assert set(_answers(done.stdout)) <= {1, 2}  # nothing but JSON-RPC answers on stdout


def test_a_socket_on_stdin_and_stdout_is_served_by_the_sdk_transport(sentinelkit_env: dict[str, str]) -> None:
    """One socket for both (socat, inetd): asyncio would take the client's data on the socket it writes to for
    the peer closing it, so the SDK's transport serves, and answers."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        proc = subprocess.Popen(SERVE, stdin=theirs, stdout=theirs, stderr=subprocess.PIPE,
                                env=child_env({**sentinelkit_env, "DEBUG_MODE": "true"}))
        theirs.close()
        try:
            ours.sendall(_lines([*HELLO, {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}]))
            received = b""
            with ours.makefile("rb") as answers:
                for _ in range(2):
                    received += answers.readline()
        finally:
            ours.shutdown(socket.SHUT_WR)
            _, err = proc.communicate(timeout=60)
    assert "tools" in _answers(received)[2]["result"]
    assert _transport(err) == "mcp SDK (threads)"


async def test_the_end_of_stdin_waits_only_for_requests_the_sdk_answers() -> None:
    """Requests are counted as the SDK sees them (a float or boolean id, no jsonrpc, list params: not
    requests it answers), answers as it writes them (non-ASCII ids unescaped), cancelled ones need none."""
    import mcp.types as t

    pending = stdiopipes._Pending()
    for message in [{"jsonrpc": "2.0", "id": 'é"x', "method": "tools/list"},
                    {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "slow"}},
                    {"jsonrpc": "2.0", "id": 0, "method": "ping"},
                    {"jsonrpc": "2.0", "id": 1.0, "method": "ping"}, {"jsonrpc": "2.0", "id": True, "method": "ping"},
                    {"id": 3, "method": "ping"}, {"jsonrpc": "2.0", "id": 4, "method": "ping", "params": [1]},
                    {"jsonrpc": "2.0", "method": "notifications/initialized"}]:
        pending.read(json.dumps(message).encode())
    assert dict(pending.ids) == {'é"x': 1, 7: 1, 0: 1}
    pending.written(t.JSONRPCResponse(jsonrpc="2.0", id='é"x', result={}).model_dump_json(by_alias=True,
                                                                                          exclude_unset=True))
    pending.written(t.JSONRPCError(jsonrpc="2.0", id=0, error=t.ErrorData(code=-32601, message="no"))
                    .model_dump_json(by_alias=True, exclude_unset=True))
    pending.written(t.JSONRPCRequest(jsonrpc="2.0", id=7, method="elicitation/create", params={})
                    .model_dump_json(by_alias=True, exclude_unset=True))  # the server's own request, same id
    assert dict(pending.ids) == {7: 1}
    pending.read(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}')
    assert not pending.ids
    await asyncio.wait_for(pending.drained(), 1)
