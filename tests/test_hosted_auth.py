"""Hosted mode: Entra ID tokens on the HTTP transport, validated against the emulator's Entra ID (its
OpenID configuration and JWKS), and app roles deciding what a caller sees and calls — through a real
``sentinelkit serve --http`` process, tokens from azure-identity or the emulator's sign-in stand-in."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastmcp import Client
from sentinelkit_devkit.emulator import emulator_environment
from sentinelkit_devkit.services import free_port, start_replica, stop

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
ACCEPT = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def hosted(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One server with ``[http] auth = "entra"`` for the emulator's sentinelkit-api app registration."""
    folder = tmp_path_factory.mktemp("hosted-auth")
    env = emulator_environment(emulator.info, folder)
    app = emulator.app()
    config = folder / "sentinelkit.toml"
    config.write_text(Path(env["SENTINELKIT_CONFIG"]).read_text() + (
        f'\n[http]\nauth = "entra"\nentra_tenant_id = "{app["tenant_id"]}"\nentra_client_id = "{app["client_id"]}"\n'))
    env["SENTINELKIT_CONFIG"] = str(config)
    port = free_port()
    proc = start_replica(env, port, log=folder / "server.log")
    try:
        yield {"url": f"http://127.0.0.1:{port}/mcp", "base": f"http://127.0.0.1:{port}", "app": app,
               "audit": Path(env["SENTINELKIT_AUDIT_LOG"]), "log": folder / "server.log"}
    finally:
        stop(proc)


def _token(emulator: Any, app: dict[str, Any], **claims: Any) -> str:
    principal = emulator.principal(claims.pop("principal", "sentinelkit-mssp"))
    return str(emulator.issue_token(client_id=principal["client_id"], audience=app["identifier_uri"], **claims))


def _arm_requests(emulator: Any) -> int:
    return sum(n for key, n in emulator.traffic()["requests"].items() if key.startswith("arm:"))


def _audit(hosted: dict[str, Any]) -> list[dict[str, Any]]:
    path = hosted["audit"]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_app_token_from_azure_identity_is_accepted(emulator: Any, hosted: dict[str, Any]) -> None:
    """The automation principal gets its token the way any Entra client does (client credentials for the
    server's app id URI) and, as a Sentinel.Engineer, sees write tools too."""
    import asyncio

    from azure.identity import ClientSecretCredential

    p = emulator.principal("sentinelkit-mssp")
    credential = ClientSecretCredential(p["tenant_id"], p["client_id"], p["client_secret"],
                                        authority=emulator.info["authority_url"], connection_verify=emulator.info["ca_path"],
                                        disable_instance_discovery=True)
    token = credential.get_token(f"{hosted['app']['identifier_uri']}/.default").token

    async def tools() -> set[str]:
        async with Client(hosted["url"], auth=token) as client:
            return {t.name for t in await client.list_tools()}

    names = asyncio.run(tools())
    assert {"workspace_list", "incident_close", "dcr_delete"} <= names


@pytest.mark.parametrize("case", ["wrong audience", "expired", "foreign tenant", "forged signature", "not a JWT"])
def test_bad_tokens_get_401_and_nothing_is_called(emulator: Any, hosted: dict[str, Any], case: str) -> None:
    app = hosted["app"]
    woodgrove = emulator.tenant("woodgrove")["id"]
    if case == "wrong audience":  # a perfectly good token, for ARM
        token = _token(emulator, {"identifier_uri": "https://management.azure.com"})
    elif case == "expired":
        token = _token(emulator, app, lifetime=-600)
    elif case == "foreign tenant":  # the multi-tenant app, signed in another customer's tenant
        token = _token(emulator, app, tenant_id=woodgrove, roles=["Sentinel.Engineer"])
    elif case == "forged signature":  # the same claims, the emulator's key id, someone else's key
        genuine = _token(emulator, app)
        claims = jwt.decode(genuine, options={"verify_signature": False})
        claims["roles"] = ["Sentinel.Engineer"]
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": jwt.get_unverified_header(genuine)["kid"]})
    else:
        token = "not-a-jwt-but-long-enough-to-look-like-one"
    before = _arm_requests(emulator)
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "workspace_list", "arguments": {}}}
    with httpx.Client(timeout=30) as http:
        answers = [http.post(hosted["url"], json=body, headers={**ACCEPT, "Authorization": f"Bearer {token}"})
                   for body in (INITIALIZE, call)]
    assert [a.status_code for a in answers] == [401, 401]
    assert 'error="invalid_token"' in answers[0].headers["www-authenticate"]
    assert "resource_metadata=" in answers[0].headers["www-authenticate"]
    assert _arm_requests(emulator) == before


def test_a_valid_token_without_a_role_gets_403(emulator: Any, hosted: dict[str, Any]) -> None:
    token = _token(emulator, hosted["app"], roles=[])
    before = _arm_requests(emulator)
    answer = httpx.post(hosted["url"], json=INITIALIZE, headers={**ACCEPT, "Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 403
    assert "Sentinel.Reader" in answer.json()["error_description"]
    assert _arm_requests(emulator) == before


def test_protected_resource_metadata_names_the_tenant(hosted: dict[str, Any], emulator: Any) -> None:
    """What an MCP client reads (RFC 9728) to learn where to get a token and for which scope."""
    anonymous = httpx.post(hosted["url"], json=INITIALIZE, headers=ACCEPT, timeout=30)
    assert anonymous.status_code == 401
    metadata = httpx.get(f"{hosted['base']}/.well-known/oauth-protected-resource/mcp", timeout=30).json()
    tenant = hosted["app"]["tenant_id"]
    assert metadata["authorization_servers"] == [f"{emulator.info['authority_url']}/{tenant}/v2.0"]
    assert metadata["scopes_supported"] == [f"{hosted['app']['identifier_uri']}/.default"]
    assert metadata["resource"].endswith("/mcp")


async def test_a_reader_sees_and_calls_only_read_only_tools(emulator: Any, hosted: dict[str, Any]) -> None:
    carol = _token(emulator, hosted["app"], principal="sentinelkit-reader", user="carol.tier1@contoso-mssp.onmicrosoft.com")
    async with Client(hosted["url"], auth=carol) as client:
        tools = await client.list_tools()
        before = _arm_requests(emulator)
        refused = await client.call_tool("incident_close", {"workspace": "law-fabrikam-prod", "incident_id": "1",
                                                            "classification": "FalsePositive", "confirm": True},
                                         raise_on_error=False)
        after = _arm_requests(emulator)
        status = await client.call_tool("hosted_status", {})
    assert tools and all(t.annotations.read_only_hint for t in tools)
    assert "incident_list" in {t.name for t in tools} and "incident_close" not in {t.name for t in tools}
    assert refused.is_error and "not allowed for your roles (Sentinel.Reader)" in refused.content[0].text
    assert after == before  # refused before anything reached Azure
    record = _audit(hosted)[-1]
    assert (record["tool"], record["outcome"], record["caller"]) == (
        "incident_close", "refused", "carol.tier1@contoso-mssp.onmicrosoft.com")
    assert status.structured_content["caller_roles"] == ["Sentinel.Reader"]


async def test_a_responder_writes_incidents_only_and_is_the_caller_in_the_audit(emulator: Any,
                                                                                hosted: dict[str, Any]) -> None:
    bob = _token(emulator, hosted["app"], principal="sentinelkit-reader", user="bob.lead@contoso-mssp.onmicrosoft.com")
    async with Client(hosted["url"], auth=bob) as client:
        names = {t.name for t in await client.list_tools()}
        dry = await client.call_tool("incident_comment_add", {"workspace": "law-fabrikam-prod", "incident_id": "1",
                                                              "message": "triaged", "dry_run": True})
        refused = await client.call_tool("dcr_delete", {"workspace": "law-fabrikam-prod", "rule": "x"},
                                         raise_on_error=False)
    assert "incident_close" in names and "dcr_delete" not in names and "dcr_list" in names
    assert dry.structured_content["dry_run"] is True
    records = _audit(hosted)
    comment = next(r for r in reversed(records) if r["tool"] == "incident_comment_add")
    assert comment["caller"] == "bob.lead@contoso-mssp.onmicrosoft.com" and comment["outcome"] == "dry_run"
    assert refused.is_error and "Sentinel.Engineer" in refused.content[0].text
    assert records[-1]["tool"] == "dcr_delete" and records[-1]["outcome"] == "refused"


def test_refusals_are_logged_with_their_reason(hosted: dict[str, Any]) -> None:
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline and "tenant not allowed" not in text:
        text = hosted["log"].read_text()
        time.sleep(0.1)
    assert "http_token_refused" in text and "tenant not allowed" in text


@pytest.fixture(scope="module")
def tier1(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server whose roles are docs/hosting.md's own mapping (``SOC.Tier1``), with northwind read-only by policy."""
    folder = tmp_path_factory.mktemp("hosted-roles")
    env = emulator_environment(emulator.info, folder)
    app = emulator.app()
    docs = (Path(__file__).resolve().parents[1] / "docs" / "hosting.md").read_text()
    mapping = next(block for block in docs.split("```toml\n")[1:] if "http.roles" in block).split("```")[0]
    text = Path(env["SENTINELKIT_CONFIG"]).read_text()
    assert "[tenants.northwind]\n" in text
    text = text.replace("[tenants.northwind]\n", '[tenants.northwind]\nallow = "read_only"\n')
    config = folder / "sentinelkit.toml"
    config.write_text(text + (f'\n[http]\nauth = "entra"\nentra_tenant_id = "{app["tenant_id"]}"\n'
                              f'entra_client_id = "{app["client_id"]}"\n\n{mapping}'))
    env["SENTINELKIT_CONFIG"] = str(config)
    port = free_port()
    proc = start_replica(env, port, log=folder / "server.log")
    try:
        yield {"url": f"http://127.0.0.1:{port}/mcp", "app": app, "audit": Path(env["SENTINELKIT_AUDIT_LOG"])}
    finally:
        stop(proc)


async def test_configured_roles_replace_the_defaults_and_tenant_policies_apply_on_top(
        emulator: Any, tier1: dict[str, Any]) -> None:
    """docs/hosting.md's ``SOC.Tier1``: the read-only tools of three packs, and two incident writes. The
    default ``Sentinel.Engineer`` means nothing here; a read-only tenant refuses even an allowed write."""
    engineer = _token(emulator, tier1["app"], roles=["Sentinel.Engineer"])
    answer = httpx.post(tier1["url"], json=INITIALIZE, headers={**ACCEPT, "Authorization": f"Bearer {engineer}"},
                        timeout=30)
    assert answer.status_code == 403
    analyst = _token(emulator, tier1["app"], roles=["SOC.Tier1"])
    async with Client(tier1["url"], auth=analyst) as client:
        names = {t.name for t in await client.list_tools()}
        fabrikam = await client.call_tool("incident_comment_add", {"workspace": "law-fabrikam-prod", "incident_id": "1",
                                                                   "message": "tier 1", "dry_run": True})
        listed = await client.call_tool("incident_list", {"workspace": "law-northwind", "limit": 1})
        number = str(listed.structured_content["incidents"][0]["number"])
        northwind = await client.call_tool("incident_comment_add", {"workspace": "law-northwind",
                                                                    "incident_id": number, "message": "tier 1"},
                                           raise_on_error=False)
        refused = await client.call_tool("incident_close", {"workspace": "law-fabrikam-prod", "incident_id": "1",
                                                            "classification": "FalsePositive", "confirm": True},
                                         raise_on_error=False)
    assert {"incident_list", "workspace_list", "incident_comment_add", "incident_assign"} <= names
    assert not names & {"incident_close", "dcr_list", "dcr_delete"}  # dcr: not one of the role's packs
    assert fabrikam.structured_content["dry_run"] is True
    assert northwind.is_error and "read-only by policy" in northwind.content[0].text
    assert refused.is_error and "not allowed for your roles (SOC.Tier1)" in refused.content[0].text
    outcomes = [(r["tool"], r["outcome"]) for r in _audit(tier1)]
    assert outcomes[-2:] == [("incident_comment_add", "refused"), ("incident_close", "refused")]


async def test_compact_mode_lists_and_calls_only_what_the_roles_allow(emulator: Any, tmp_path: Path) -> None:
    """``tools = "compact"`` under Entra roles: a reader gets the packs' tools naming only read-only operations,
    and an operation outside the role is refused through the pack's tool as in the full mode."""
    env = emulator_environment(emulator.info, tmp_path)
    app = emulator.app()
    config = tmp_path / "compact.toml"
    config.write_text('tools = "compact"\n' + Path(env["SENTINELKIT_CONFIG"]).read_text() + (
        f'\n[http]\nauth = "entra"\nentra_tenant_id = "{app["tenant_id"]}"\nentra_client_id = "{app["client_id"]}"\n'))
    env["SENTINELKIT_CONFIG"] = str(config)
    port = free_port()
    proc = start_replica(env, port, log=tmp_path / "server.log")
    try:
        carol = _token(emulator, app, principal="sentinelkit-reader", user="carol.tier1@contoso-mssp.onmicrosoft.com")
        async with Client(f"http://127.0.0.1:{port}/mcp", auth=carol) as client:
            tools = {t.name: t for t in await client.list_tools()}
            listed = await client.call_tool("incidents", {"operation": "incident_list",
                                                          "arguments": {"workspace": "law-tailspin", "limit": 1}})
            refused = await client.call_tool("incidents", {"operation": "incident_close", "arguments": {
                "workspace": "law-fabrikam-prod", "incident_id": "1", "classification": "FalsePositive",
                "confirm": True}}, raise_on_error=False)
    finally:
        stop(proc)
    operations = tools["incidents"].input_schema["properties"]["operation"]["enum"]
    assert "incident_list" in operations and "incident_close" not in operations
    assert "incident_list" not in tools  # compact: the operations are not tools of their own
    assert listed.structured_content["incidents"]
    assert refused.is_error and "not allowed for your roles (Sentinel.Reader)" in refused.content[0].text
