"""Pack discovery: built-in and third-party packs through the same hooks, broken packs, duplicates,
enable/disable — seen through a real MCP client and the ``sentinelkit`` command."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from fastmcp import Client
from sentinelkit_devkit.process import cli_json, run_cli

from sentinelkit import READ_ONLY, hookimpl, tool
from sentinelkit.packs import DuplicateToolError, PackManager


def _pack(name: str, *tool_names: str, fail: bool = False) -> types.SimpleNamespace:
    tools = []
    for tool_name in tool_names:
        async def body(kit, workspace: str = "x", _name: str = tool_name) -> str:
            """A tool of a test pack that answers with its own name."""
            return _name

        body.__name__ = tool_name
        tools.append(tool(READ_ONLY)(body))

    @hookimpl
    def register_tools(register):
        for t in tools:
            register(t)
        if fail:
            raise RuntimeError("cannot reach the pack's licence server")

    return types.SimpleNamespace(register_tools=register_tools, __name__=f"tests.{name}")


async def test_third_party_pack_installed_with_pip_is_served(sample_packs, make_server) -> None:
    server = make_server()
    async with Client(server) as client:
        names = {t.name for t in await client.list_tools()}
        prompts = {p.name for p in await client.list_prompts()}
        readme = await client.read_resource("sentinelkit://sample/readme")
    assert readme[0].text == "The sample pack tags resource groups."
    assert {"workspace_list", "sample_tags_get", "sample_tag_set", "sample_tag_remove"} <= names
    assert "sample-triage" in prompts
    info = server._sentinelkit_packs.packs["sample"]
    assert (info.distribution, info.version) == ("sentinelkit-sample", "0.3.1")


async def test_pack_failing_at_import_is_reported_and_others_still_load(sample_packs, make_server) -> None:
    server = make_server()
    broken = server._sentinelkit_packs.packs["broken"]
    assert "sentinelkit_dependency_that_is_not_installed" in broken.error
    async with Client(server) as client:
        assert "workspace_list" in {t.name for t in await client.list_tools()}


def test_sentinelkit_packs_shows_versions_tools_and_load_errors(sample_packs, sentinelkit_env) -> None:
    data = cli_json("packs", "--json")
    packs = {p["name"]: p for p in data["packs"]}
    assert packs["core"]["loaded"] and "workspace_list" in packs["core"]["tools"]
    assert packs["sample"]["version"] == "0.3.1" and "sample_tag_remove" in packs["sample"]["tools"]
    assert packs["broken"]["loaded"] is False
    assert "import failed" in packs["broken"]["error"] and "ModuleNotFoundError" in packs["broken"]["error"]
    human = run_cli("packs").stdout
    assert "broken" in human and "FAILED" in human and "sentinelkit_dependency_that_is_not_installed" in human


def test_sentinelkit_tools_lists_pack_and_safety(sample_packs, sentinelkit_env) -> None:
    tools = {t["name"]: t for t in cli_json("tools", "--json")["tools"]}
    assert tools["workspace_list"] == {**tools["workspace_list"], "pack": "core", "safety": "read_only"}
    assert tools["sample_tag_set"]["safety"] == "additive"
    assert tools["sample_tag_remove"]["safety"] == "destructive"
    assert tools["sample_tag_remove"]["pack"] == "sample"


def test_two_packs_with_the_same_tool_name_stop_start_up_naming_both() -> None:
    manager = PackManager(entry_points=False)
    manager.add(_pack("alpha", "incident_list"), "alpha")
    manager.add(_pack("beta", "incident_list"), "beta")
    with pytest.raises(DuplicateToolError) as err:
        manager.collect()
    assert "'alpha'" in str(err.value) and "'beta'" in str(err.value) and "incident_list" in str(err.value)


def test_serve_refuses_to_start_on_duplicate_tools(sample_packs, sentinelkit_env, tmp_path: Path) -> None:
    dup = tmp_path / "dup_pack"
    dup.mkdir()
    (dup / "dup_pack.py").write_text(
        "from sentinelkit import READ_ONLY, hookimpl, tool\n"
        "@tool(READ_ONLY)\nasync def sample_tags_get(kit) -> str:\n    '''Clashes with the sample pack.'''\n    return 'x'\n"
        "@hookimpl\ndef register_tools(register):\n    register(sample_tags_get)\n"
    )
    dist = dup / "dup_pack-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: dup-pack\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[sentinelkit]\ndup = dup_pack\n")
    import os

    env = {"PYTHONPATH": os.pathsep.join([str(dup), os.environ["PYTHONPATH"]])}
    done = run_cli("serve", env=env, timeout=60)
    assert done.returncode == 2
    assert "'sample'" in done.stderr and "'dup'" in done.stderr and "sample_tags_get" in done.stderr


async def test_a_pack_raising_while_registering_is_left_out(make_server) -> None:
    server = make_server(plugins={"flaky": _pack("flaky", "flaky_check", fail=True),
                                  "steady": _pack("steady", "steady_check")})
    packs = server._sentinelkit_packs.packs
    assert "licence server" in packs["flaky"].error and packs["flaky"].tools == []
    async with Client(server) as client:
        names = {t.name for t in await client.list_tools()}
    assert "steady_check" in names and "flaky_check" not in names


async def test_packs_can_be_disabled_and_enabled_by_configuration(sample_packs, make_server, sentinelkit_env,
                                                                  tmp_path: Path) -> None:
    base = Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text()
    disabled = tmp_path / "disabled.toml"
    disabled.write_text(base + '\n[packs]\ndisable = ["sample"]\n')
    async with Client(make_server(config=disabled)) as client:
        names = {t.name for t in await client.list_tools()}
    assert "sample_tag_set" not in names and "workspace_list" in names
    only = tmp_path / "only.toml"
    only.write_text(base + '\n[packs]\nenable = ["sample"]\n')
    server = make_server(config=only)
    assert server._sentinelkit_packs.packs["broken"].enabled is False
    async with Client(server) as client:
        names = {t.name for t in await client.list_tools()}
    assert "sample_tag_set" in names and "workspace_list" in names  # core is always on


async def test_tools_carry_safety_annotations_and_tags(sample_packs, make_server) -> None:
    async with Client(make_server()) as client:
        tools = {t.name: t for t in await client.list_tools()}
    remove = tools["sample_tag_remove"]
    assert remove.annotations.destructive_hint is True and not remove.annotations.read_only_hint
    assert {"confirm", "dry_run"} <= set(remove.input_schema["properties"])
    assert "kit" not in remove.input_schema["properties"] and "ctx" not in remove.input_schema["properties"]
    setter = tools["sample_tag_set"]
    assert setter.annotations.destructive_hint is False and "dry_run" in setter.input_schema["properties"]
    assert "confirm" not in setter.input_schema["properties"]
    assert remove.meta == {"sentinelkit": {"pack": "sample"}}  # the safety class is in the annotations
    assert tools["sample_tags_get"].annotations.read_only_hint is True


def test_sentinelkit_call_prints_the_result_as_json(sentinelkit_env) -> None:
    data = cli_json("call", "workspace_list", "--args", '{"tenant": "woodgrove"}')
    assert [w["name"] for w in data["workspaces"]] == ["law-woodgrove"]


def test_sentinelkit_call_reports_tool_errors_and_bad_json(sentinelkit_env) -> None:
    failed = run_cli("call", "workspace_get", "--args", '{"workspace": "law-nortwind"}')
    assert failed.returncode == 1 and "law-northwind" in failed.stderr
    bad = run_cli("call", "workspace_list", "--args", "{tenant: x}")
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr


async def test_tools_listed_from_the_schema_cache_match_freshly_built_ones(sample_packs, make_server, monkeypatch,
                                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("SENTINELKIT_CACHE_DIR", str(tmp_path / "cache"))
    listings = []
    for _ in range(2):  # cold cache (built and stored), then warm (listed from the cache)
        async with Client(make_server()) as client:
            listings.append({t.name: t.model_dump() for t in await client.list_tools()})
    assert (tmp_path / "cache" / "tool-schemas.json").exists()
    assert listings[0] == listings[1]
    async with Client(make_server()) as client:  # a cached tool still runs (built on first call)
        result = await client.call_tool("sample_tags_get", {"workspace": "law-northwind"})
    assert result.structured_content["resource_group"] == "rg-security"


async def test_a_tool_with_an_unusable_signature_is_left_out_and_explained(make_server) -> None:
    from sentinelkit import READ_ONLY, hookimpl, tool

    @tool(READ_ONLY)
    async def draft_list(workspace: str) -> str:  # forgot `kit`
        """List draft rules of a workspace (a broken test tool)."""
        return workspace

    @tool(READ_ONLY)
    async def draft_get(kit, workspace: str) -> str:
        """Show one draft rule (a working test tool)."""
        return workspace

    @hookimpl
    def register_tools(register):
        register(draft_list)
        register(draft_get)

    server = make_server(plugins={"drafts": types.SimpleNamespace(register_tools=register_tools, __name__="t.drafts")})
    info = server._sentinelkit_packs.packs["drafts"]
    assert info.loaded and "draft_list left out" in info.warnings[0] and "first parameter must be `kit`" in info.warnings[0]
    async with Client(server) as client:
        names = {t.name for t in await client.list_tools()}
    assert "draft_get" in names and "draft_list" not in names
