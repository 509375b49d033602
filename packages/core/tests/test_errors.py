"""Failures a user meets — throttling, outages, unreachable endpoints, wrong secrets, missing
credentials, bad configuration — each a clear message, and the server keeps serving."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastmcp import Client
from sentinelkit_devkit.process import run_cli

from sentinelkit.settings import ConfigError, load_settings


def _config(env: dict[str, str], tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "extra.toml"
    path.write_text(Path(env["SENTINELKIT_CONFIG"]).read_text() + "\n" + extra)
    return path


async def test_throttling_is_retried_honouring_retry_after(sample_packs, make_server, emulator_faults) -> None:
    emulator_faults.add_fault(match={"path": "resourceGroups/rg-security$", "tenant": "northwind"}, status=429,
                              retry_after=1, count=2)
    async with Client(make_server()) as client:
        result = await client.call_tool("sample_tags_get", {"workspace": "law-northwind"})
    assert result.structured_content["resource_group"] == "rg-security"


async def test_a_huge_retry_after_is_capped(sample_packs, make_server, emulator_faults, sentinelkit_env,
                                            tmp_path: Path) -> None:
    emulator_faults.add_fault(match={"path": "resourceGroups/rg-security$"}, status=429, retry_after=3600, count=1)
    config = _config(sentinelkit_env, tmp_path, "[retry]\nretry_after_cap = 0.5\n")
    async with Client(make_server(config=config)) as client:
        result = await client.call_tool("sample_tags_get", {"workspace": "law-northwind"})
    assert not result.is_error


async def test_persistent_throttling_says_what_and_where(sample_packs, make_server, emulator_faults,
                                                         sentinelkit_env, tmp_path: Path) -> None:
    emulator_faults.add_fault(match={"path": "resourceGroups/rg-security$"}, status=429, retry_after=0)
    config = _config(sentinelkit_env, tmp_path, "[retry]\nmax_retries = 1\nbackoff_factor = 0\n")
    async with Client(make_server(config=config)) as client:
        result = await client.call_tool("sample_tags_get", {"workspace": "law-northwind"}, raise_on_error=False)
        assert result.is_error
        text = result.content[0].text
        assert "429" in text and "throttling" in text and "law-northwind" in text and "northwind" in text
        emulator_faults.clear_faults()
        again = await client.call_tool("sample_tags_get", {"workspace": "law-northwind"})
    assert not again.is_error  # same server, still serving


async def test_server_errors_say_they_are_transient(sample_packs, make_server, emulator_faults, sentinelkit_env,
                                                    tmp_path: Path) -> None:
    emulator_faults.add_fault(match={"path": "resourceGroups/rg-sentinel-weu$"}, status=503)
    config = _config(sentinelkit_env, tmp_path, "[retry]\nmax_retries = 0\n")
    async with Client(make_server(config=config)) as client:
        result = await client.call_tool("sample_tags_get", {"workspace": "law-tailspin"}, raise_on_error=False)
    assert result.is_error and "503" in result.content[0].text and "transient" in result.content[0].text


async def test_fan_out_reports_per_workspace_errors_and_progress(sample_packs, make_server, emulator_faults,
                                                                 sentinelkit_env, tmp_path: Path) -> None:
    config = _config(sentinelkit_env, tmp_path, "[retry]\nmax_retries = 0\n")
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    server = make_server(config=config)
    async with Client(server) as client:
        await client.call_tool("workspace_list", {})  # discover before the fault
        emulator_faults.add_fault(match={"path": "onboardingStates", "tenant": "tailspin"}, status=500)
        result = await client.call_tool("sample_sentinel_count", {}, progress_handler=on_progress)
    data = result.structured_content
    assert set(data["results"]) == {"law-contoso-soc", "law-fabrikam-prod", "law-northwind", "law-woodgrove"}
    assert set(data["errors"]) == {"law-tailspin"} and "500" in data["errors"]["law-tailspin"]
    assert data["summary"] == {"workspaces": 5, "succeeded": 4, "failed": 1}
    assert progress and progress[-1][0] == 5 and progress[-1][1] == 5


async def test_unreachable_endpoint_says_check_the_network(make_server, monkeypatch) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SENTINELKIT_ARM_ENDPOINT", f"https://127.0.0.1:{port}")
    config_free = make_server(config=None)
    async with Client(config_free) as client:
        result = await client.call_tool("workspace_list", {})
        data = result.structured_content
    assert data["count"] == 0
    text = " ".join(data["errors"].values())
    assert "could not reach Azure" in text and "SENTINELKIT_ARM_ENDPOINT" in text


async def test_wrong_secret_is_a_sign_in_error_without_the_secret(make_server, monkeypatch, emulator) -> None:
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-the-right-secret-123")
    async with Client(make_server()) as client:
        ws = await client.call_tool("workspace_get", {"workspace": "law-contoso-soc"}, raise_on_error=False)
    text = ws.content[0].text
    assert ws.is_error and "law-contoso-soc" in text
    assert "not-the-right-secret-123" not in text


def test_config_check_succeeds_against_the_emulator(sentinelkit_env) -> None:
    done = run_cli("config", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK   default (environment): got a token" in done.stdout
    assert "through Lighthouse" in done.stdout and "tenant woodgrove" in done.stdout


def test_config_check_reports_a_wrong_secret(sentinelkit_env) -> None:
    done = run_cli("config", "check", env={"AZURE_CLIENT_SECRET": "wrong-secret-value"})
    assert done.returncode == 1
    assert "FAIL default (environment)" in done.stdout and "could not sign in" in done.stdout
    assert "AADSTS7000215" in done.stdout and "wrong-secret-value" not in done.stdout


def test_config_check_without_credentials_explains_what_to_set(tmp_path: Path, monkeypatch) -> None:
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "SENTINELKIT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SENTINELKIT_ARM_ENDPOINT", "https://127.0.0.1:9")
    monkeypatch.setenv("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("HOME", str(tmp_path))  # no az login cache either
    done = run_cli("config", "check")
    assert done.returncode == 1
    assert "FAIL default" in done.stdout


def test_malformed_toml_names_the_file_and_line(tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "sentinelkit.toml"
    bad.write_text('read_only = true\n[tenants.fabrikam\ntenant_id = "x"\n')
    monkeypatch.setenv("SENTINELKIT_CONFIG", str(bad))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(bad) in str(err.value) and "line 2" in str(err.value)
    done = run_cli("serve")
    assert done.returncode != 0 and str(bad) in done.stderr and "not valid TOML" in done.stderr


def test_unknown_or_invalid_keys_are_named(tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "sentinelkit.toml"
    bad.write_text('cache_tll = 10\n[retry]\nmax_retries = "many"\n')
    monkeypatch.setenv("SENTINELKIT_CONFIG", str(bad))
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert str(bad) in message and "cache_tll" in message and "retry.max_retries" in message


def test_bad_environment_value_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("SENTINELKIT_CACHE_TTL", "five minutes")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "SENTINELKIT_CACHE_TTL" in str(err.value)


def test_workspace_pointing_at_an_unknown_tenant_is_named(tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "sentinelkit.toml"
    bad.write_text('[[workspaces]]\nalias = "fab"\ntenant = "fabrikam"\nid = "/subscriptions/s/resourceGroups/rg/'
                   'providers/Microsoft.OperationalInsights/workspaces/w"\n')
    monkeypatch.setenv("SENTINELKIT_CONFIG", str(bad))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "workspaces[0].tenant" in str(err.value) and str(bad) in str(err.value)


def test_missing_config_file_is_named(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SENTINELKIT_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "nope.toml" in str(err.value) and "SENTINELKIT_CONFIG" in str(err.value)


async def test_missing_resource_says_it_does_not_exist_and_what_to_check(make_server, emulator) -> None:
    real = next(w for w in emulator.info["workspaces"] if w["name"] == "law-northwind")["id"]
    missing = real.rsplit("/", 1)[0] + "/law-does-not-exist"
    async with Client(make_server()) as client:
        result = await client.call_tool("workspace_get", {"workspace": missing}, raise_on_error=False)
    text = result.content[0].text
    assert result.is_error and "404" in text and "does not exist" in text and "workspace_list" in text


async def test_stale_etag_is_reported_as_a_concurrent_change(make_server, emulator) -> None:
    from sentinelkit.errors import AzureCallError
    from sentinelkit.server import runtime_of

    server = make_server()
    runtime = runtime_of(server)
    async with Client(server):
        ws = await runtime.workspaces.resolve("law-tailspin")
        rg = f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}"
        with pytest.raises(AzureCallError) as err:
            await runtime.arm(ws.via).put(rg, "2024-03-01", {"location": "westeurope", "tags": {}}, etag='"stale"',
                                          where=ws.where(ws.resource_group, "update"))
    assert err.value.status == 412 and "changed since it was read" in str(err.value) and "law-tailspin" in str(err.value)


async def test_a_query_whose_answer_was_lost_is_asked_again(sample_packs, make_server, emulator_faults) -> None:
    """A KQL query is a POST that changes nothing: a dropped connection costs a retry, not the answer
    (a write POST is not resent: it may have been applied)."""
    async with Client(make_server()) as client:
        await client.call_tool("workspace_list", {})
        fault = emulator_faults.add_fault(match={"service": "logs", "method": "POST", "path": "/query$"},
                                          drop_response=True, count=1)
        emulator_faults.reset_traffic()
        result = await client.call_tool("sample_query_run", {"workspace": "law-northwind",
                                                             "kql": "print answer = 42"})
    assert result.structured_content["rows"] == [{"answer": 42}]
    assert fault["id"] not in [f["id"] for f in emulator_faults.faults()]  # used up: one answer was dropped
    assert emulator_faults.traffic()["requests"]["logs:northwind"] == 2  # and the query asked again


async def test_a_hanging_service_times_out_with_advice(sample_packs, make_server, emulator_faults, sentinelkit_env,
                                                       tmp_path: Path) -> None:
    config = _config(sentinelkit_env, tmp_path, "[retry]\nmax_retries = 0\ntimeout = 0.5\n")
    server = make_server(config=config)
    async with Client(server) as client:
        await client.call_tool("workspace_list", {})
        emulator_faults.add_fault(match={"path": "resourceGroups/rg-security$"}, hang_seconds=5, count=1)
        result = await client.call_tool("sample_tags_get", {"workspace": "law-northwind"}, raise_on_error=False)
    text = result.content[0].text
    assert result.is_error and "did not answer in time" in text and "law-northwind" in text


async def test_one_failing_tenant_does_not_hide_the_others(make_server, sentinelkit_env, tmp_path: Path) -> None:
    broken = Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text().replace(
        'client_secret = "', 'client_secret = "wrong-', 1)
    config = tmp_path / "one-broken.toml"
    config.write_text(broken)
    async with Client(make_server(config=config)) as client:
        result = await client.call_tool("workspace_list", {})
    data = result.structured_content
    assert {"law-contoso-soc", "law-northwind", "law-tailspin"} <= {w["name"] for w in data["workspaces"]}
    assert data["errors"] and "could not sign in" in " ".join(data["errors"].values())


async def test_audit_log_redacts_secret_arguments(make_server, sentinelkit_env) -> None:
    import json
    import types

    from sentinelkit import ADDITIVE, hookimpl, tool

    @tool(ADDITIVE)
    async def connector_key_set(kit, workspace: str, api_key: str) -> dict:
        """Store a data connector's API key (a test tool).

        Args:
            workspace: Workspace.
            api_key: The key.
        """
        await kit.workspace(workspace)
        await kit.confirm_change("store the connector key", {"api_key": api_key})
        return {"stored": True}

    @hookimpl
    def register_tools(register):
        register(connector_key_set)

    pack = types.SimpleNamespace(register_tools=register_tools, __name__="tests.keys")
    async with Client(make_server(plugins={"keys": pack})) as client:
        await client.call_tool("connector_key_set", {"workspace": "law-tailspin", "api_key": "k-123456789-secret"})
    text = Path(sentinelkit_env["SENTINELKIT_AUDIT_LOG"]).read_text()
    entry = json.loads(text.splitlines()[-1])
    assert entry["arguments"] == {"workspace": "law-tailspin", "api_key": "***"}
    assert "k-123456789-secret" not in text and entry["tenant"] == "tailspin"


def test_sovereign_cloud_endpoints_get_their_own_token_audiences(monkeypatch) -> None:
    monkeypatch.setenv("SENTINELKIT_ARM_ENDPOINT", "https://management.usgovcloudapi.net")
    monkeypatch.setenv("SENTINELKIT_LOGS_ENDPOINT", "https://api.loganalytics.us")
    monkeypatch.delenv("SENTINELKIT_CONFIG", raising=False)
    settings = load_settings()
    assert settings.arm_scope == "https://management.usgovcloudapi.net/.default"
    assert settings.logs_scope == "https://api.loganalytics.us/.default"


async def test_server_name_comes_from_mcp_server_name(make_server, monkeypatch) -> None:
    monkeypatch.setenv("MCP_SERVER_NAME", "contoso-soc")
    async with Client(make_server()) as client:
        info = client.server_info
        if info is None:  # 2026-07-28 has no handshake: the server says who it is in each result
            result = await client.call_tool("workspace_list", {"tenant": "woodgrove"})
            info = result.meta["io.modelcontextprotocol/serverInfo"]
            assert info["name"] == "contoso-soc"
        else:
            assert info.name == "contoso-soc"
