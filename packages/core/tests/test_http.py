"""Streamable HTTP: ``sentinelkit serve --http``, loopback by default, auth required off loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastmcp import Client
from sentinelkit_devkit.process import SENTINELKIT, child_env, run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def http_server(env: dict[str, str], *extra: str, port: int | None = None, bare_port: bool = False,
                stderr: Path | None = None) -> Iterator[str]:
    """``serve --http 127.0.0.1:PORT`` (``--http PORT`` with ``bare_port``; ``--http`` alone with ``port``: the
    configuration's); its stderr goes to ``stderr`` when given."""
    configured = port is not None
    port = port or _free_port()
    http = ["--http"] if configured else ["--http", str(port) if bare_port else f"127.0.0.1:{port}"]
    err = stderr.open("w") if stderr is not None else subprocess.PIPE
    proc = subprocess.Popen([*SENTINELKIT, "serve", *http, *extra], env=child_env(env),
                            stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None:
                    said = proc.stderr.read() if proc.stderr else stderr.read_text() if stderr else ""
                    raise AssertionError(f"server exited: {said}") from None
                if time.monotonic() > deadline:
                    raise AssertionError("the HTTP server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if stderr is not None:
            err.close()


async def test_http_transport_serves_tools(sentinelkit_env) -> None:
    with http_server(sentinelkit_env) as url:
        async with Client(url) as client:
            names = {t.name for t in await client.list_tools()}
            result = await client.call_tool("workspace_list", {"tenant": "northwind"})
    assert "workspace_list" in names
    assert [w["name"] for w in result.structured_content["workspaces"]] == ["law-northwind"]


async def test_http_bearer_token_is_enforced_when_configured(sentinelkit_env) -> None:
    token = "s3cret-token-for-tests-0123456789"
    with http_server({**sentinelkit_env, "SENTINELKIT_HTTP_TOKEN": token}) as url:
        anonymous = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                               headers={"Accept": "application/json, text/event-stream"})
        assert anonymous.status_code == 401
        async with Client(url, auth=token) as client:
            assert "workspace_list" in {t.name for t in await client.list_tools()}


def test_non_loopback_bind_without_auth_is_refused(sentinelkit_env) -> None:
    done = run_cli("serve", "--http", "0.0.0.0:8765", timeout=60)
    assert done.returncode != 0
    assert "refusing to listen on 0.0.0.0" in done.stderr and "127.0.0.1" in done.stderr


def test_non_loopback_allowed_but_without_token_is_refused(sentinelkit_env, tmp_path) -> None:
    from pathlib import Path

    config = tmp_path / "remote.toml"
    config.write_text(Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text() + "\n[http]\nallow_remote = true\n")
    done = run_cli("--config", str(config), "serve", "--http", "0.0.0.0:8765", timeout=60)
    assert done.returncode != 0 and "without authentication" in done.stderr and "SENTINELKIT_HTTP_TOKEN" in done.stderr


@pytest.mark.parametrize("value", ["localhost:http", "8000x", ":"])
def test_malformed_http_address_is_explained(sentinelkit_env, value: str) -> None:
    done = run_cli("serve", "--http", value, timeout=60)
    assert done.returncode != 0 and "HOST:PORT" in done.stderr


def test_a_bare_port_binds_loopback() -> None:
    from sentinelkit.cli import parse_hostport

    assert parse_hostport("8765") == ("127.0.0.1", 8765)
    assert parse_hostport("[::1]:8765") == ("::1", 8765)


async def test_serve_http_takes_a_bare_port(sentinelkit_env) -> None:
    with http_server(sentinelkit_env, bare_port=True) as url:  # e.g. --http 8765: http://127.0.0.1:8765/mcp
        async with Client(url) as client:
            assert "workspace_list" in {t.name for t in await client.list_tools()}


async def test_http_with_entra_id_tokens(sentinelkit_env, emulator, tmp_path) -> None:
    from pathlib import Path

    tenant = emulator.info["managing_tenant_id"]
    app = emulator.app()["client_id"]  # the MCP server's own app registration (its app roles: tests/test_hosted_auth.py)
    config = tmp_path / "entra.toml"
    config.write_text(Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text()
                      + f'\n[http]\nauth = "entra"\nentra_tenant_id = "{tenant}"\nentra_client_id = "{app}"\n')
    caller = emulator.principal("sentinelkit-reader")
    good = emulator.admin.post("/token", json={"client_id": caller["client_id"], "tenant_id": tenant,
                                               "audience": f"api://{app}"}).json()["access_token"]
    arm_token = emulator.admin.post("/token", json={"client_id": caller["client_id"], "tenant_id": tenant}).json()[
        "access_token"]
    with http_server({**sentinelkit_env, "SENTINELKIT_CONFIG": str(config)}) as url:
        async with Client(url, auth=good) as client:
            assert "workspace_list" in {t.name for t in await client.list_tools()}
        wrong_audience = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                    headers={"Accept": "application/json, text/event-stream",
                                             "Authorization": f"Bearer {arm_token}"})
    assert wrong_audience.status_code == 401


async def test_http_address_from_configuration(sentinelkit_env, tmp_path) -> None:
    from pathlib import Path

    port = _free_port()
    config = tmp_path / "http.toml"
    config.write_text(Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text() + f"\n[http]\nport = {port}\n")
    with http_server({**sentinelkit_env, "SENTINELKIT_CONFIG": str(config)}, port=port) as url:
        async with Client(url) as client:
            assert "workspace_list" in {t.name for t in await client.list_tools()}


async def test_http_refuses_foreign_host_and_origin_dns_rebinding(sentinelkit_env) -> None:
    """A web page reaching the loopback server by DNS rebinding sends its own Host and Origin."""
    env = {k: v for k, v in sentinelkit_env.items() if k != "SENTINELKIT_HTTP_TOKEN"}
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}}
    accept = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    with http_server(env) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        async with httpx.AsyncClient(timeout=60) as http:
            foreign_host = await http.post(url, json=initialize, headers={**accept, "Host": f"attacker.example:{port}"})
            foreign_origin = await http.post(url, json=initialize,
                                             headers={**accept, "Origin": f"http://attacker.example:{port}"})
            rebound = await http.post(url, json=initialize, headers={**accept, "Host": f"attacker.example:{port}",
                                                                     "Origin": f"http://attacker.example:{port}"})
            null_origin = await http.post(url, json=initialize, headers={**accept, "Origin": "null"})
            own_origin = await http.post(url, json=initialize, headers={**accept, "Host": f"localhost:{port}",
                                                                        "Origin": f"http://localhost:{port}"})
        async with Client(url) as client:  # no Origin header: non-browser clients keep working
            result = await client.call_tool("workspace_list", {"tenant": "northwind"})
    assert foreign_host.status_code == 421
    assert foreign_origin.status_code == 403
    assert rebound.status_code in (403, 421)
    assert null_origin.status_code == 403
    assert own_origin.status_code == 200
    assert [w["name"] for w in result.structured_content["workspaces"]] == ["law-northwind"]


def test_allowed_host_names() -> None:
    from sentinelkit.httpauth import allowed_authorities

    loopback = allowed_authorities("127.0.0.1", 8000)
    assert loopback == {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"}
    remote = allowed_authorities("0.0.0.0", 8443, ["mcp.example.com:443", "Box.Internal", "fe80::1"])
    assert {"mcp.example.com:443", "box.internal:8443", "[fe80::1]:8443", "localhost:8443"} <= remote
    assert "0.0.0.0:8443" not in remote
    assert "10.0.0.5:8765" in allowed_authorities("10.0.0.5", 8765)


def console_spans(text: str) -> list[dict[str, Any]]:
    """The spans the console exporter wrote (indented JSON objects between the one-line JSON log lines)."""
    decoder, spans, at = json.JSONDecoder(), [], 0
    while (at := text.find("{\n", at)) != -1:
        span, at = decoder.raw_decode(text, at)
        if isinstance(span, dict) and "context" in span:
            spans.append(span)
    return spans


async def test_http_continues_the_clients_w3c_trace(sentinelkit_env, tmp_path) -> None:
    """A client's `traceparent` header: the server's spans (FastMCP's request span, the tool call, its Azure
    requests) continue that trace, exported here by the console exporter (stderr) chosen in the environment."""
    pytest.importorskip("opentelemetry.sdk", reason="sentinelkit[otel] is not installed")
    from fastmcp.client.transports import StreamableHttpTransport

    trace_id, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    env = {**sentinelkit_env, "OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none"}
    log = tmp_path / "server.err"
    with http_server(env, stderr=log) as url:
        transport = StreamableHttpTransport(url, headers={"traceparent": f"00-{trace_id}-{parent}-01"})
        async with Client(transport) as client:
            await client.call_tool("workspace_list", {"tenant": "northwind"})
    spans = console_spans(log.read_text())
    request = next(s for s in spans if s["name"] == "tools/call workspace_list")
    assert (request["context"]["trace_id"], request["parent_id"], request["kind"]) == (
        f"0x{trace_id}", f"0x{parent}", "SpanKind.SERVER")
    tool = next(s for s in spans if s["name"] == "execute_tool workspace_list")
    assert tool["parent_id"] == request["context"]["span_id"] and tool["context"]["trace_id"] == f"0x{trace_id}"
    azure = [s for s in spans if s["kind"] == "SpanKind.CLIENT" and s["context"]["trace_id"] == f"0x{trace_id}"]
    assert azure and all(s["attributes"]["url.template"].startswith("/") for s in azure)
