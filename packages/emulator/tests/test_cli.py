"""The console script's start-up contract, clean stop on signals, and the persisted state file."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest
from azure.identity import ClientSecretCredential


def _start(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentinelkit_emulator", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"emulator printed nothing; stderr: {proc.stderr.read() if proc.stderr else ''}")
    return proc, json.loads(line)


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=20)
    return out


def _arm_headers(info: dict[str, Any]) -> dict[str, str]:
    managing = next(t for t in info["tenants"] if t["role"] == "managing")
    cred = ClientSecretCredential(
        managing["id"], managing["client_id"], managing["client_secret"], authority=info["authority_url"],
        connection_verify=info["ca_path"], disable_instance_discovery=True,
    )
    return {"Authorization": "Bearer " + cred.get_token("https://management.azure.com/.default").token}


def test_startup_json_line_has_the_contract_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    proc, info = _start("--data-dir", str(tmp_path))
    try:
        for key in ("arm_url", "authority_url", "logs_url", "ca_path", "tenants", "env"):
            assert key in info
        assert info["arm_url"].startswith("https://127.0.0.1:")
        assert Path(info["ca_path"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert {t["name"] for t in info["tenants"]} == {"contoso-mssp", "fabrikam", "northwind", "tailspin", "woodgrove"}
        for tenant in info["tenants"]:
            assert tenant["id"] and tenant["client_id"] and tenant["client_secret"]
        env = info["env"]
        assert env["AZURE_AUTHORITY_HOST"] == info["authority_url"]
        assert env["SENTINELKIT_CA_BUNDLE"] == info["ca_path"]
        r = httpx.get(f"{info['arm_url']}/subscriptions?api-version=2022-12-01", headers=_arm_headers(info),
                      verify=ssl.create_default_context(cafile=info["ca_path"]))
        assert r.status_code == 200
        # the shell-wide variables trust the emulator and still every CA this machine trusts (pip keeps working)
        assert env["REQUESTS_CA_BUNDLE"] == env["SSL_CERT_FILE"]
        trusted = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
        machine = ssl.get_default_verify_paths().cafile or certifi.where()  # certifi's where the system has no bundle
        assert len(trusted.get_ca_certs()) > len(ssl.create_default_context(cafile=machine).get_ca_certs()) > 1
        assert httpx.get(f"{info['arm_url']}/subscriptions?api-version=2022-12-01", headers=_arm_headers(info),
                         verify=trusted).status_code == 200
    finally:
        rest = _stop(proc)
    assert proc.returncode == 0
    assert rest == ""  # exactly one line on stdout


def test_sigint_stops_cleanly() -> None:
    proc, _ = _start()
    _stop(proc, signal.SIGINT)
    assert proc.returncode == 0


def test_environment_from_startup_json_works_for_azure_identity(tmp_path: Path) -> None:
    """`env` is enough for azure-identity's EnvironmentCredential (the route DefaultAzureCredential takes)."""
    proc, info = _start()
    try:
        script = (
            "from azure.identity.aio import EnvironmentCredential\n"
            "import asyncio\n"
            "async def main():\n"
            "    async with EnvironmentCredential() as c:\n"
            "        print(len((await c.get_token('https://management.azure.com/.default')).token) > 100)\n"
            "asyncio.run(main())\n"
        )
        out = subprocess.run([sys.executable, "-c", script], env={**os.environ, **info["env"]},
                             capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "True", out.stderr
    finally:
        _stop(proc)


def test_state_file_persists_changes_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "emulator.state.json"
    proc, info = _start("--state-file", str(state))
    sub = next(t for t in info["tenants"] if t["name"] == "fabrikam")["subscriptions"][0]["id"]
    path = f"/subscriptions/{sub}/resourcegroups/rg-persisted?api-version=2021-04-01"
    try:
        r = httpx.put(info["arm_url"] + path, json={"location": "uksouth", "tags": {"k": "v"}},
                      headers=_arm_headers(info), verify=ssl.create_default_context(cafile=info["ca_path"]))
        assert r.status_code == 201
    finally:
        _stop(proc)
    assert state.exists()
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, no leftovers
    proc, info2 = _start("--state-file", str(state))
    try:
        # the same principals (secrets included) come back with the state
        assert info2["tenants"][0]["client_secret"] == info["tenants"][0]["client_secret"]
        r = httpx.get(info2["arm_url"] + path, headers=_arm_headers(info2), verify=ssl.create_default_context(cafile=info2["ca_path"]))
        assert r.status_code == 200 and r.json()["tags"] == {"k": "v"}
    finally:
        _stop(proc)


def test_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "broken.json"
    state.write_text('{"format": 99}')
    out = subprocess.run([sys.executable, "-m", "sentinelkit_emulator", "--state-file", str(state)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "is not a sentinelkit emulator state" in out.stderr
    assert state.read_text() == '{"format": 99}'  # nothing overwritten


@pytest.mark.parametrize("args", [["--scenario", "nope"], ["--port", "x"]])
def test_bad_options_exit_with_usage(args: list[str]) -> None:
    out = subprocess.run([sys.executable, "-m", "sentinelkit_emulator", *args], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "usage:" in out.stderr
