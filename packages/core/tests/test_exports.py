"""The export directory: a tool's files stay inside it (no '..', absolute paths or symlinks out), and
writes are atomic and never replace a file unasked — seen through a real MCP client."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from fastmcp import Client

from sentinelkit import ADDITIVE, Kit, ToolRegistrar, hookimpl, tool


@tool(ADDITIVE)
async def probe_export(kit: Kit, path: str, text: str, overwrite: bool = False, fail_after: int = 0) -> dict[str, str]:
    """Write text to a file of the export directory (a test tool), optionally failing midway.

    Args:
        path: Path relative to the export directory.
        text: What to write.
        overwrite: Replace an existing file.
        fail_after: Raise after writing this many characters (0: never).
    """
    target = kit.export_path(path)
    await kit.confirm_change(f"write {target}", {"path": str(target)})
    with kit.export_writer(path, overwrite=overwrite) as out:
        for i, char in enumerate(text, 1):
            out.write(char)
            if fail_after and i == fail_after:
                raise RuntimeError("interrupted")
    return {"written": str(target)}


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    register(probe_export)


@pytest.fixture
def server(make_server):  # type: ignore[no-untyped-def]
    return make_server(plugins={"probe": types.SimpleNamespace(register_tools=register_tools, __name__="probe")})


async def test_files_are_written_atomically_inside_the_export_directory(server, sentinelkit_env) -> None:
    root = Path(sentinelkit_env["SENTINELKIT_EXPORT_DIR"])
    async with Client(server) as client:
        ok = await client.call_tool("probe_export", {"path": "tables/a.jsonl", "text": "one\n"})
        assert ok.structured_content["written"] == str((root / "tables" / "a.jsonl").resolve())
        assert (root / "tables" / "a.jsonl").read_text() == "one\n"

        again = await client.call_tool("probe_export", {"path": "tables/a.jsonl", "text": "two\n"}, raise_on_error=False)
        assert again.is_error and "already exists" in again.content[0].text and "overwrite" in again.content[0].text
        assert (root / "tables" / "a.jsonl").read_text() == "one\n"

        broken = await client.call_tool("probe_export", {"path": "tables/b.jsonl", "text": "partial", "fail_after": 3},
                                        raise_on_error=False)
        assert broken.is_error
        assert not (root / "tables" / "b.jsonl").exists()
        assert sorted(p.name for p in (root / "tables").iterdir()) == ["a.jsonl"]  # no temporary file left

        replaced = await client.call_tool("probe_export", {"path": "tables/a.jsonl", "text": "two\n", "overwrite": True})
        assert not replaced.is_error and (root / "tables" / "a.jsonl").read_text() == "two\n"


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/cron.d/evil", "~/evil", "a/../../escape.txt", "out/link/x"])
async def test_paths_leading_out_of_the_export_directory_are_refused(server, sentinelkit_env, tmp_path, path) -> None:
    root = Path(sentinelkit_env["SENTINELKIT_EXPORT_DIR"])
    (root / "out").mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    if not (root / "out" / "link").exists():
        (root / "out" / "link").symlink_to(outside)
    async with Client(server) as client:
        result = await client.call_tool("probe_export", {"path": path, "text": "x"}, raise_on_error=False)
    assert result.is_error and "export directory" in result.content[0].text
    assert list(outside.iterdir()) == [] and not (root.parent / "escape.txt").exists()
