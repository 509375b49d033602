"""docs/pack-authors.md works as written: its example pack (the blocks whose first line is ``# file: <path>``)
is written to a folder and its commands run there, as the page says, in the environment docs/install.md
makes (``installed_clone``: sentinelkit, the devkit with its test extra, the emulator): the pack builds and
installs, its tests (the contract tests and its own) pass, and ``sentinelkit tools`` lists its tools."""

from __future__ import annotations

import re
from pathlib import Path

from doc_commands import ROOT, bash_blocks, example_files, run_block, user_env

DOC = ROOT / "docs" / "pack-authors.md"


def test_the_example_pack_builds_installs_and_passes_its_tests(installed_clone, tmp_path: Path) -> None:
    files = example_files(DOC)
    assert {"pyproject.toml", "src/sentinelkit_watchlists/__init__.py"} <= set(files), sorted(files)
    assert any(name.startswith("tests/") for name in files), sorted(files)
    pack = tmp_path / "sentinelkit-watchlists"
    for name, text in files.items():
        (pack / name).parent.mkdir(parents=True, exist_ok=True)
        (pack / name).write_text(text, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    commands = [c for block in bash_blocks(DOC) for c in block]
    ran = []
    for block in bash_blocks(DOC):
        ran += run_block(block, cwd=pack, env=user_env(home, venv=installed_clone.venv))
    failed = [r for r in ran if r.returncode != 0]
    assert not failed, "a command of docs/pack-authors.md fails as written:\n" + failed[0].explain()
    assert [r.command for r in ran] == commands  # every command of the page ran (tests/test_docs_commands.py relies on it)

    tests = next(r for r in ran if "pytest" in r.command.text)
    passed = re.search(r"(\d+) passed", tests.stdout)
    assert passed and int(passed.group(1)) >= 8 and not re.search(r"failed|error|skipped", tests.stdout), tests.stdout
    listed = next(r for r in ran if r.command.text.split()[:2] == ["sentinelkit", "tools"])
    rows = {line.split()[0]: line.split()[1:3] for line in listed.stdout.splitlines() if line and not line[0].isspace()}
    assert rows.get("watchlist_list") == ["watchlists", "read_only"], listed.stdout
    assert rows.get("watchlist_delete") == ["watchlists", "destructive"], listed.stdout
