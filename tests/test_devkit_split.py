"""The devkit split: ``pip install sentinelkit`` alone — into a fresh virtual environment, as a user
would — installs no pytest plugin, never imports the emulator, and has no ``demo`` or ``--emulator``;
installed beside it, sentinelkit-devkit adds them through the ``register_commands`` hook."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest
from sentinelkit_devkit.process import run_cli

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
from importlib.metadata import entry_points
from sentinelkit.packs import PackManager
from sentinelkit.server import build_server
from sentinelkit.settings import load_settings
build_server(load_settings())
print(json.dumps({
    "pytest11": [e.value for e in entry_points(group="pytest11")],
    "packs": sorted(PackManager().load().packs),
    "emulator_imported": any(m.startswith("sentinelkit_emulator") for m in sys.modules),
    "devkit_imported": any(m.startswith("sentinelkit_devkit") for m in sys.modules),
}))
"""


@pytest.fixture(scope="module")
def core_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with ``pip install ./packages/core`` (its dependencies from PyPI)."""
    where = tmp_path_factory.mktemp("core-only")
    venv.EnvBuilder(with_pip=True).create(where)
    python = where / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           str(ROOT / "packages" / "core")], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return python


def test_sentinelkit_alone_has_no_pytest_plugin_and_imports_no_emulator(core_only: Path, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""), "SENTINELKIT_AUDIT_LOG": str(tmp_path / "a.jsonl")}
    done = subprocess.run([str(core_only), "-c", PROBE], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert not any("sentinelkit" in e for e in seen["pytest11"]), seen["pytest11"]
    assert seen["packs"] == ["core"]
    assert seen["emulator_imported"] is False and seen["devkit_imported"] is False
    command = core_only.parent / "sentinelkit"
    demo = subprocess.run([str(command), "demo"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert demo.returncode == 2 and "invalid choice: 'demo'" in demo.stderr
    emulator = subprocess.run([str(command), "serve", "--emulator"], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)
    assert emulator.returncode == 2 and "unrecognized arguments: --emulator" in emulator.stderr
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True, env=env, timeout=120)
    assert version.stdout.strip() == "sentinelkit 0.1.0"


def test_the_devkit_adds_its_commands_through_the_hook(sentinelkit_env) -> None:
    helped = " ".join(run_cli("--help").stdout.split())
    assert "demo a short tour against the embedded emulator (pack devkit)" in helped
    serve = run_cli("serve", "--help")
    assert "--emulator" in serve.stdout and "--emulator-state" in serve.stdout
    stray = run_cli("serve", "--emulator-state", "x.sqlite", timeout=60)
    assert stray.returncode != 0 and "--emulator-state needs --emulator" in stray.stderr
    packs = {p["name"]: p for p in json.loads(run_cli("packs", "--json").stdout)["packs"]}
    assert packs["devkit"]["loaded"] and packs["devkit"]["error"] is None
