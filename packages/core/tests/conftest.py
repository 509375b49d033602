"""Shared fixtures of the core's tests: the sample packs, pip-installed during the run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SAMPLES = Path(__file__).parent / "sample_packs"


@pytest.fixture(scope="session")
def sample_packs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install`` the sample third-party packs (a good one and one that fails at import) into a
    directory of their own, as a user would install a pack next to sentinelkit."""
    target = tmp_path_factory.mktemp("site-packages")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--no-build-isolation", "--target", str(target), str(SAMPLES / "sample"), str(SAMPLES / "broken"),
           str(SAMPLES / "typo")]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"pip install of the sample packs failed:\n{done.stdout}\n{done.stderr}"
    return target


@pytest.fixture
def sample_packs(sample_packs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The sample packs importable (and their entry points visible) in this process and its children."""
    monkeypatch.syspath_prepend(str(sample_packs_dir))
    import os

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(sample_packs_dir), os.environ.get("PYTHONPATH")) if p))
    yield sample_packs_dir
    for name in [m for m in sys.modules if m.startswith(("sentinelkit_sample", "sentinelkit_broken", "sentinelkit_typo"))]:
        del sys.modules[name]
