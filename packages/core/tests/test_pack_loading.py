"""Pack loading rules of the pack API v1: a misspelled hook is the pack's load error, each pack registers
only under its own name and with keywords that exist, a pack name in [packs] that is not installed is
a configuration error, and a pack's settings come from [packs.<name>] (the environment winning)."""

from __future__ import annotations

import types
from pathlib import Path

from fastmcp import Client
from pydantic_settings import SettingsConfigDict
from sentinelkit_devkit.process import cli_json, run_cli

from sentinelkit import READ_ONLY, Kit, PackSettings, SettingsRegistrar, ToolRegistrar, hookimpl, tool


@tool(READ_ONLY)
async def probe_settings(kit: Kit) -> dict[str, object]:
    """Show the probe pack's settings (a test tool)."""
    return kit.pack_settings(ProbeSettings).model_dump()


class ProbeSettings(PackSettings):
    model_config = SettingsConfigDict(env_prefix="SENTINELKIT_PROBE_")

    greeting: str = "hello"
    retries: int = 2


def _probe_pack() -> types.SimpleNamespace:
    @hookimpl
    def register_settings(register: SettingsRegistrar) -> None:
        register(ProbeSettings)

    @hookimpl
    def register_tools(register: ToolRegistrar) -> None:
        assert register.settings(ProbeSettings).greeting  # available while registering too
        register(probe_settings)

    return types.SimpleNamespace(register_settings=register_settings, register_tools=register_tools,
                                 __name__="tests.probe")


def _config(env: dict[str, str], tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "with-packs.toml"
    path.write_text(Path(env["SENTINELKIT_CONFIG"]).read_text() + "\n" + extra)
    return path


def test_a_misspelled_hook_is_the_packs_load_error(sample_packs, sentinelkit_env) -> None:
    packs = {p["name"]: p for p in cli_json("packs", "--json")["packs"]}
    typo = packs["typo"]
    assert typo["loaded"] is False and typo["tools"] == []
    assert "'register_tool' matches no hook specification (did you mean 'register_tools'?)" in typo["error"]
    assert packs["sample"]["loaded"] is True  # the others still load
    human = run_cli("packs").stdout
    assert "typo" in human and "FAILED" in human and "register_tool" in human


async def test_a_pack_cannot_register_under_another_name_or_with_unknown_keywords(make_server) -> None:
    @tool(READ_ONLY)
    async def forged_echo(kit: Kit) -> str:
        """Pretends to be a core tool (a test tool)."""
        return "forged"

    @hookimpl
    def register_tools(register: ToolRegistrar) -> None:
        register(forged_echo, _pack="core")  # type: ignore[call-arg]

    @hookimpl
    def register_typo_keyword(register: ToolRegistrar) -> None:
        register(forged_echo, safty="destructive")  # type: ignore[call-arg]

    forger = types.SimpleNamespace(register_tools=register_tools, __name__="tests.forger")
    sloppy = types.SimpleNamespace(register_tools=register_typo_keyword, __name__="tests.sloppy")
    server = make_server(plugins={"forger": forger, "sloppy": sloppy})
    packs = server._sentinelkit_packs.packs
    assert "unexpected keyword argument '_pack'" in packs["forger"].error
    assert "unexpected keyword argument 'safty'" in packs["sloppy"].error
    async with Client(server) as client:
        names = {t.name for t in await client.list_tools()}
    assert "forged_echo" not in names and "workspace_list" in names
    assert "forged_echo" not in packs["core"].tools


def test_an_unknown_pack_name_in_the_configuration_is_an_error_with_a_suggestion(sentinelkit_env, tmp_path) -> None:
    config = _config(sentinelkit_env, tmp_path, '[packs]\nenable = ["incident", "health"]\n')
    env = {"SENTINELKIT_CONFIG": str(config)}
    served = run_cli("serve", env=env, timeout=60)
    assert served.returncode == 2
    assert "[packs] enable names 'incident', which is not an installed pack (did you mean 'incidents'?)" in served.stderr
    checked = run_cli("config", "check", env=env, timeout=60)
    assert checked.returncode == 1 and "FAIL configuration" in checked.stdout and "'incidents'" in checked.stdout
    table = _config(sentinelkit_env, tmp_path, "[packs.powershel]\ntimeout = 10\n")
    listed = run_cli("packs", env={"SENTINELKIT_CONFIG": str(table)}, timeout=60)
    assert listed.returncode == 1 and "[packs.powershel] is not an installed pack (did you mean 'powershell'?)" in (
        listed.stdout)


async def test_pack_settings_come_from_the_packs_table_and_the_environment_wins(make_server, sentinelkit_env,
                                                                                  tmp_path, monkeypatch) -> None:
    config = _config(sentinelkit_env, tmp_path, '[packs.probe]\ngreeting = "bonjour"\nretries = 5\n')
    monkeypatch.setenv("SENTINELKIT_PROBE_RETRIES", "7")
    async with Client(make_server(config=config, plugins={"probe": _probe_pack()})) as client:
        result = await client.call_tool("probe_settings", {})
    assert result.structured_content == {"greeting": "bonjour", "retries": 7}


def test_invalid_pack_settings_fail_that_pack_naming_the_key(make_server, sentinelkit_env, tmp_path) -> None:
    config = _config(sentinelkit_env, tmp_path, '[packs.probe]\nretries = "many"\ngreetng = "hi"\n')
    server = make_server(config=config, plugins={"probe": _probe_pack()})
    error = server._sentinelkit_packs.packs["probe"].error
    assert error.startswith("invalid settings: [packs.probe] of ") and str(config) in error
    assert "retries" in error and "greetng" in error
    assert "probe_settings" not in server._sentinelkit_packs.packs["probe"].tools


async def test_content_kinds_are_collected_per_pack_and_names_are_unique(sample_packs, make_server) -> None:
    from sentinelkit_sample import ResourceGroupTag

    from sentinelkit import ContentKindRegistrar

    @hookimpl
    def register_content_kinds(register: ContentKindRegistrar) -> None:
        register(ResourceGroupTag())  # the sample pack declares this kind already

    @hookimpl
    def register_not_a_kind(register: ContentKindRegistrar) -> None:
        register({"name": "watchlist"})  # type: ignore[arg-type]

    twin = types.SimpleNamespace(register_content_kinds=register_content_kinds, __name__="tests.twin")
    wrong = types.SimpleNamespace(register_content_kinds=register_not_a_kind, __name__="tests.wrong")
    server = make_server(plugins={"twin": twin, "wrong": wrong})
    collected = server._sentinelkit_runtime.collected
    assert collected.kind_packs["sample_tag"] == "sample"
    packs = server._sentinelkit_packs.packs
    assert packs["twin"].error == "content kind 'sample_tag' is already declared by pack 'sample'"
    assert "takes a sentinelkit.ContentKind instance, not dict" in packs["wrong"].error
