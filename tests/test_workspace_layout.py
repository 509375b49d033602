"""The monorepo's promise: every folder under packages/ is one installable distribution with a
``src/`` layout, its own README and its own tests, and it is installed in the test environment."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists())


def test_there_are_packages() -> None:
    assert PACKAGES, "no package folders found under packages/"


@pytest.mark.parametrize("folder", PACKAGES, ids=lambda p: p.name)
def test_package_folder_is_one_hatchling_distribution(folder: Path) -> None:
    pyproject = tomllib.loads((folder / "pyproject.toml").read_text())
    assert pyproject["build-system"]["build-backend"] == "hatchling.build"
    name = pyproject["project"]["name"]
    assert name == "sentinelkit" or name.startswith("sentinelkit-")
    wheel_packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    for package in wheel_packages:
        assert package.startswith("src/") and (folder / package / "__init__.py").exists()
    assert (folder / "README.md").read_text().strip(), f"{folder.name} needs a README"
    assert list((folder / "tests").glob("test_*.py")), f"{folder.name} needs tests"
    # installed in this environment (the workspace installs every member)
    assert metadata.version(name) == pyproject["project"]["version"]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m hatch run test" in readme
    assert "python3 -m hatch run test" in ci
