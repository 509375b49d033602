"""The pack API is a boundary: a pack imports from ``sentinelkit`` only what its top level exports
(listed in docs/pack-authors.md), never ``sentinelkit.<submodule>``; and the types hold (mypy, strict on
the core, no untyped definitions in any pack)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sentinelkit

ROOT = Path(__file__).resolve().parents[1]
#: packages that are packs (or pack-like: what third parties write): everything but the core and the emulator
PACK_SOURCES = sorted(p / "src" for p in (ROOT / "packages").iterdir()
                      if (p / "src").is_dir() and p.name not in ("core", "emulator", "devkit", "kql"))


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every import of sentinelkit in a file."""
    out: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and (
                node.module == "sentinelkit" or node.module.startswith("sentinelkit.")):
            out.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names if a.name.startswith("sentinelkit.")]
    return out


def test_there_are_packs_to_check() -> None:
    assert len(PACK_SOURCES) >= 4, PACK_SOURCES


@pytest.mark.parametrize("src", PACK_SOURCES, ids=lambda p: p.parent.name)
def test_packs_import_only_what_sentinelkit_exports(src: Path) -> None:
    exported = set(sentinelkit.__all__)
    problems = []
    for path in sorted(src.rglob("*.py")):
        for line, module, names in _imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if module != "sentinelkit":
                problems.append(f"{where} imports {module}: import from `sentinelkit` only")
            problems += [f"{where} imports {name!r}, which sentinelkit does not export"
                         for name in names if name not in exported]
    assert not problems, "\n".join(problems)


def test_every_export_resolves_and_is_documented() -> None:
    doc = (ROOT / "docs" / "pack-authors.md").read_text(encoding="utf-8")
    missing = [name for name in sentinelkit.__all__ if name != "__version__" and f"`{name}" not in doc]
    for name in sentinelkit.__all__:
        getattr(sentinelkit, name)
    assert not missing, f"docs/pack-authors.md does not list: {', '.join(missing)}"


def test_the_core_ships_type_information() -> None:
    assert (Path(sentinelkit.__file__).parent / "py.typed").exists()


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPY_CACHE_DIR": str(ROOT / ".mypy_cache")}
    return subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", "--hide-error-context", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


def test_the_core_is_strictly_typed() -> None:
    done = _mypy("--strict", "packages/core/src/sentinelkit")
    assert done.returncode == 0, done.stdout + done.stderr


def test_packs_have_no_untyped_definitions() -> None:
    done = _mypy("--disallow-untyped-defs", "--ignore-missing-imports", *(str(p) for p in PACK_SOURCES))
    assert done.returncode == 0, done.stdout + done.stderr
