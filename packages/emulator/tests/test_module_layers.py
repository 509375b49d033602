"""The emulator's modules import each other in one direction only (issue 20: faults ⇄ runtime ⇄ traffic).

Every import counts, including those under ``TYPE_CHECKING`` and inside functions: a cycle hidden
there still ties the modules together for readers and type checkers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sentinelkit_emulator

ROOT = Path(sentinelkit_emulator.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """module -> the package's modules it imports."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                origin = ".".join([*base, node.module] if node.module else base)
                for alias in node.names:
                    found.add(f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    state: dict[str, str] = {}
    trail: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        trail.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == "open":
                return trail[trail.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        state[module] = "done"
        trail.pop()
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_the_emulator_has_no_import_cycle() -> None:
    graph = _imports()
    assert "sentinelkit_emulator.faults" in graph and graph["sentinelkit_emulator.runtime"]  # the walk found them
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_fault_and_traffic_state_import_nothing_of_the_emulator() -> None:
    graph = _imports()
    assert graph["sentinelkit_emulator.faults"] == set() and graph["sentinelkit_emulator.traffic"] == set()
