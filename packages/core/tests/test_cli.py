"""The ``sentinelkit`` command as a user sees it: the real command in a subprocess, against the emulator.

Elsewhere: ``--version`` and the devkit's commands in tests/test_devkit_split.py, ``serve --emulator``
leaving no folder behind (SIGTERM, a start-up error) in packages/devkit/tests/test_serve_emulator_files.py,
``call`` printing JSON and its exit codes in test_packs.py, ``serve --http`` in test_http.py.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from sentinelkit_devkit.process import child_env, cli_json, run_cli

from sentinelkit import SHARED_ARGUMENTS

SENTENCE_END = (".", "?", "!", ")", "`")


def test_tools_shows_each_tools_parameters_and_whole_descriptions(sample_packs, sentinelkit_env) -> None:
    tools = {t["name"]: t for t in cli_json("tools", "--json")["tools"]}
    assert tools["workspace_get"]["parameters"] == [  # a shared argument: what the server's instructions say
        {"name": "workspace", "type": "string", "required": True, "description": SHARED_ARGUMENTS["workspace"]}]
    remove = {p["name"]: p for p in tools["sample_tag_remove"]["parameters"]}
    assert [name for name, p in remove.items() if p["required"]] == ["workspace", "tag"]
    assert remove["tag"] == {"name": "tag", "type": "string", "required": True, "description": "Tag name."}
    assert remove["dry_run"]["type"] == "boolean" and remove["confirm"]["required"] is False  # added by the core
    assert all(p["description"] for t in tools.values() for p in t["parameters"])
    # every installed pack's tools: the docstring's whole first paragraph, on one line
    assert len({t["pack"] for t in tools.values()}) >= 4, "the packs of this repository are installed"
    cut = [(t["name"], t["description"][-40:]) for t in tools.values() if not t["description"].endswith(SENTENCE_END)]
    assert not cut, f"descriptions that stop mid-sentence: {cut}"

    text = run_cli("tools").stdout
    lines = text.splitlines()
    shown = lines[lines.index(next(line for line in lines if line.startswith("sample_tag_remove "))) + 1]
    assert shown.strip() == "(workspace, tag, dry_run?, confirm?)"  # ? marks an optional parameter
    for t in tools.values():
        assert f" {t['description']}" in text, f"{t['name']}: its description is cut in `sentinelkit tools`"


def test_a_missing_or_wrong_argument_is_one_sentence(sentinelkit_env) -> None:
    missing = run_cli("call", "workspace_get")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.splitlines() == [
        "error: workspace_get: invalid arguments: argument 'workspace' is required. Nothing was changed; see the "
        "tool's input schema."]
    wrong = run_cli("call", "workspace_list", "--args", '{"tenant": 5, "refresh": "often"}')
    assert wrong.returncode == 1 and len(wrong.stderr.splitlines()) == 1, wrong.stderr
    assert "argument 'tenant' must be a string" in wrong.stderr and "'refresh'" in wrong.stderr
    assert "pydantic" not in wrong.stderr + missing.stderr and "http" not in wrong.stderr + missing.stderr


async def _serve_with_errors(env: dict[str, str], stderr: Path, *args: str) -> None:
    """``sentinelkit serve`` over stdio, with calls that log: bad arguments, a tool error, a bug in a pack."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "sentinelkit.cli", "serve", *args],
                                   env=child_env(env))
    with open(stderr, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            for name, arguments in (("workspace_get", {}), ("workspace_get", {"workspace": "law-nowhere"}),
                                    ("sample_explode", {})):
                assert (await session.call_tool(name, arguments)).is_error


async def test_every_stderr_line_of_serve_is_json_unless_console_is_asked(sample_packs, sentinelkit_env,
                                                                           tmp_path: Path) -> None:
    await _serve_with_errors(sentinelkit_env, tmp_path / "json.log")
    lines = (tmp_path / "json.log").read_text().splitlines()
    assert len(lines) >= 2, lines  # the calls above were logged
    for line in lines:
        assert isinstance(json.loads(line), dict), line
    assert any("Invalid arguments for tool 'workspace_get'" in json.loads(line)["event"] for line in lines), lines
    await _serve_with_errors(sentinelkit_env, tmp_path / "console.log", "--log-format", "console")
    readable = (tmp_path / "console.log").read_text().splitlines()
    assert len(readable) >= 2 and not any(line.startswith("{") for line in readable), readable
    assert any("Invalid arguments for tool 'workspace_get'" in line for line in readable), readable


def test_call_without_credentials_fails_and_says_az_login(tmp_path: Path, monkeypatch) -> None:
    for name in [k for k in os.environ if k.startswith(("AZURE_", "SENTINELKIT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no Azure CLI sign-in either
    monkeypatch.setenv("SENTINELKIT_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.chdir(tmp_path)
    done = run_cli("call", "workspace_list")
    assert done.returncode != 0, done.stdout
    errors = json.loads(done.stdout)["errors"]
    assert "could not sign in" in errors["credential default"] and "`az login`" in errors["credential default"]
    assert "workspace_list answered, with errors for: credential default" in done.stderr


def test_config_goes_before_or_after_the_command(sentinelkit_env, tmp_path: Path) -> None:
    config = tmp_path / "no-dcr.toml"
    config.write_text(Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text() + '\n[packs]\ndisable = ["dcr"]\n')
    for args in (("--config", str(config), "tools", "--json"), ("tools", "--json", "--config", str(config))):
        packs = {t["pack"] for t in cli_json(*args)["tools"]}
        assert "dcr" not in packs and "core" in packs, (args, packs)
    assert "dcr" in {t["pack"] for t in cli_json("tools", "--json")["tools"]}  # without it, the pack is served
    checked = run_cli("config", "check", "--config", str(config))
    assert checked.returncode == 0 and str(config) in checked.stdout, checked.stdout


def test_an_unknown_config_key_gets_a_did_you_mean(sentinelkit_env, tmp_path: Path) -> None:
    config = tmp_path / "typo.toml"
    config.write_text("cache_tll = 10\n")
    checked = run_cli("config", "check", "--config", str(config))
    assert checked.returncode == 1
    assert f"{config}: invalid configuration: cache_tll: unknown key (did you mean 'cache_ttl'?)" in checked.stdout
    served = run_cli("serve", "--config", str(config), timeout=60)
    assert served.returncode != 0 and "(did you mean 'cache_ttl'?)" in served.stderr


def test_an_empty_sentinelkit_config_means_none_was_given(sentinelkit_env, tmp_path: Path) -> None:
    checked = run_cli("config", "check", env={"SENTINELKIT_CONFIG": ""})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "environment only (no sentinelkit.toml)" in checked.stdout
    assert "tenant woodgrove" not in checked.stdout  # its credential is in the file that was not read
    # as if unset: ./sentinelkit.toml is read
    Path("sentinelkit.toml").write_text(Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text())
    local = run_cli("config", "check", env={"SENTINELKIT_CONFIG": ""})
    assert local.returncode == 0 and "tenant woodgrove" in local.stdout, local.stdout
