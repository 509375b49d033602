"""Contract tests every pack's test-suite reuses::

    from sentinelkit_devkit.contract import PackContract

    class TestIncidentsContract(PackContract):
        pack = "incidents"
        # arguments that reach the confirmation step of each destructive tool
        destructive_examples = {"incident_delete": {"workspace": "law-fabrikam-prod", "incident_id": "..."}}

They check what a user of the pack relies on: it loads, every tool is documented and declares its
safety class, names and schemas are valid, read-only mode hides its writes, and destructive tools
change nothing until confirmed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from sentinelkit import SHARED_ARGUMENTS, Safety
from sentinelkit.contract import TOOL_NAME_RE

HEAVY_MODULES = ("azure.", "aiohttp", "structlog", "duckdb", "duckdb_kql", "pypsrp", "msal")


class PackContract:
    pack: ClassVar[str] = ""
    destructive_examples: ClassVar[dict[str, dict[str, Any]]] = {}

    @pytest.fixture
    def pack_tools(self, sentinelkit_server: Any) -> dict[str, Any]:
        import asyncio  # noqa: F401

        runtime = sentinelkit_server._sentinelkit_runtime
        info = sentinelkit_server._sentinelkit_packs.packs.get(self.pack)
        assert info is not None, f"pack {self.pack!r} is not installed (entry-point group 'sentinelkit')"
        assert info.error is None, f"pack {self.pack!r} failed to load: {info.error}"
        return {name: spec for name, spec in runtime.collected.tools.items() if spec.pack == self.pack}

    def test_listing_tools_imports_no_heavy_modules(self, sentinelkit_env: Any) -> None:
        """``tools/list`` must stay fast: tool bodies import Azure SDKs etc. on first call only."""
        import json
        import subprocess
        import sys

        code = (
            "import asyncio, json, sys\n"
            "from sentinelkit.packs import PackManager\n"
            "from sentinelkit.server import build_server\n"
            "from sentinelkit.settings import load_settings\n"
            f"pack = {self.pack!r}\n"
            "mcp = build_server(load_settings(), PackManager(settings=load_settings(), enabled=lambda n: n in (pack, 'core')))\n"
            "asyncio.run(mcp.list_tools())\n"
            "heavy = sorted({m.split('.')[0] if not m.startswith('azure.') else '.'.join(m.split('.')[:2])\n"
            "    for m in sys.modules if m.startswith(HEAVY)})\n"
            "print(json.dumps(heavy))\n"
        ).replace("HEAVY", repr(HEAVY_MODULES))
        import os
        from pathlib import Path

        import sentinelkit

        paths = [str(Path(sentinelkit.__file__).resolve().parents[1])] + [p for p in sys.path if os.path.isabs(p)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr
        heavy = json.loads(done.stdout.strip().splitlines()[-1])
        assert heavy == [], (f"pack {self.pack!r} imports {heavy} at start-up; import them inside the tool "
                             "bodies so that tools/list stays fast")

    async def _listed(self, server: Any) -> dict[str, Any]:
        from fastmcp import Client

        async with Client(server) as client:
            return {t.name: t for t in await client.list_tools()}

    def test_pack_contributes_something(self, sentinelkit_server: Any, pack_tools: dict[str, Any]) -> None:
        info = sentinelkit_server._sentinelkit_packs.packs[self.pack]
        assert pack_tools or info.prompts or info.resources, f"pack {self.pack!r} registers nothing"

    async def test_tools_are_documented(self, sentinelkit_server: Any, pack_tools: dict[str, Any]) -> None:
        listed = await self._listed(sentinelkit_server)
        for name in pack_tools:
            tool = listed[name]
            assert tool.description and len(tool.description.strip()) >= 20, f"{name}: docstring missing or too short"
            for param, schema in (tool.input_schema.get("properties") or {}).items():
                if param in SHARED_ARGUMENTS:  # explained once, in the server's instructions
                    continue
                assert schema.get("description"), f"{name}: parameter {param!r} is not documented (Args: section)"

    async def test_safety_is_declared(self, sentinelkit_server: Any, pack_tools: dict[str, Any]) -> None:
        listed = await self._listed(sentinelkit_server)
        for name, spec in pack_tools.items():
            ann = listed[name].annotations
            assert ann is not None, f"{name}: no MCP annotations"
            assert Safety.from_annotations(ann) is spec.safety, f"{name}: annotations {ann} are not {spec.safety}"

    async def test_names_and_schemas_are_valid(self, sentinelkit_server: Any, pack_tools: dict[str, Any]) -> None:
        listed = await self._listed(sentinelkit_server)
        try:
            from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
        except ImportError:  # pragma: no cover
            Draft202012Validator = None
        for name in pack_tools:
            assert TOOL_NAME_RE.match(name), (f"{name}: not <object>_<verb> in snake_case (nor a PowerShell "
                                              "Verb-Noun name for generated tools)")
            schema = listed[name].input_schema
            assert schema.get("type") == "object", name
            if Draft202012Validator is not None:
                Draft202012Validator.check_schema(schema)

    async def test_read_only_mode_hides_writes(self, make_server: Any, pack_tools: dict[str, Any]) -> None:
        listed = await self._listed(make_server(read_only=True))
        for name, spec in pack_tools.items():
            assert (name in listed) is (spec.safety.value == "read_only"), name

    async def test_writes_offer_dry_run_and_destructive_need_confirmation(
        self, sentinelkit_server: Any, pack_tools: dict[str, Any]
    ) -> None:
        from fastmcp import Client

        listed = await self._listed(sentinelkit_server)
        for name, spec in pack_tools.items():
            props = listed[name].input_schema.get("properties") or {}
            if spec.safety.value != "read_only":
                assert "dry_run" in props, f"{name}: writes must accept dry_run"
            if spec.safety.value == "destructive":
                assert "confirm" in props, f"{name}: destructive tools must accept confirm"
        async with Client(sentinelkit_server) as client:  # no elicitation handler: preview expected
            for name, args in self.destructive_examples.items():
                result = await client.call_tool(name, args, raise_on_error=False)
                assert not result.is_error, result.content
                data = result.structured_content or {}
                assert data.get("confirmation_required") is True, f"{name} changed something without confirmation"
