"""The HTTP transport frees what idle or slow clients hold: an MCP session left idle is closed after
``[http] session_idle_timeout``, and a client that never finishes its request headers (or its body) is
disconnected after ``header_timeout`` (``body_timeout``). Bounded, on 127.0.0.1 only."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sentinelkit_devkit.services import free_port, start_replica, stop

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
ACCEPT = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@pytest.fixture
def quick_timeouts_server(sentinelkit_env: dict[str, str], tmp_path: Path) -> Iterator[int]:
    config = tmp_path / "limits.toml"
    config.write_text(Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text()
                      + "\n[http]\nsession_idle_timeout = 1\nheader_timeout = 1\nbody_timeout = 1\n")
    port = free_port()
    proc = start_replica({**sentinelkit_env, "SENTINELKIT_CONFIG": str(config)}, port, log=tmp_path / "server.log")
    try:
        yield port
    finally:
        stop(proc)


def _ping(url: str, session: str) -> int:
    body = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    return httpx.post(url, json=body, headers={**ACCEPT, "Mcp-Session-Id": session,
                                               "MCP-Protocol-Version": "2025-11-25"}, timeout=30).status_code


def test_an_idle_session_is_closed(quick_timeouts_server: int) -> None:
    url = f"http://127.0.0.1:{quick_timeouts_server}/mcp"
    opened = httpx.post(url, json=INITIALIZE, headers=ACCEPT, timeout=30)
    session = opened.headers["mcp-session-id"]
    assert _ping(url, session) == 200  # alive while used
    deadline = time.monotonic() + 60  # a bound, not a measurement: the session must go well before it
    while _ping(url, session) != 404:
        assert time.monotonic() < deadline, "the idle session was never closed"
        time.sleep(1.5)  # longer than the idle timeout: each ping would otherwise keep it alive


@pytest.mark.parametrize("sent", ["POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n",  # headers never finished
                                  "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                                  "Accept: application/json, text/event-stream\r\n"
                                  "Content-Length: 1000\r\n\r\n{{\"jsonrpc\":"])  # a body that never comes
def test_a_client_that_never_finishes_its_request_is_disconnected(quick_timeouts_server: int, sent: str) -> None:
    with socket.create_connection(("127.0.0.1", quick_timeouts_server), timeout=30) as sock:
        sock.sendall(sent.format(port=quick_timeouts_server).encode())
        try:
            data = sock.recv(65536)  # blocks until the server closes the connection (or 30 s: the bound)
        except TimeoutError:
            pytest.fail("the server kept the connection of a client that never finished its request")
        except ConnectionResetError:
            data = b""
    assert data == b""
    # and the server still serves everyone else
    assert httpx.post(f"http://127.0.0.1:{quick_timeouts_server}/mcp", json=INITIALIZE, headers=ACCEPT,
                      timeout=30).status_code == 200
