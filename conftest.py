"""Shared fixtures of the cross-package tests (here, not in tests/conftest.py: pack-powershell's tests are a
package named ``tests``, whose conftest would take that module name).

``installed_clone``: a copy of the working tree in which docs/install.md was followed as written (its
virtual environment, the wheels, the clone's folders, the devkit). Its pip installs mostly wait on the
network (about three minutes here), so when a test that needs it is collected, it starts at once in a
background process (``doc_commands.py install``) while the other tests run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from doc_commands import ROOT, Command

NEEDS_INSTALL = {"test_docs_commands.py", "test_pack_authors_doc.py"}
_install: dict[str, Any] = {}


@dataclass(frozen=True)
class Installed:
    clone: Path  # the copy of the working tree, where install.md ran
    venv: Path  # the environment it made and installed into
    home: Path  # HOME during the installs
    ran: dict[Command, str]  # every command it ran → its output


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly or not any(item.path.name in NEEDS_INSTALL for item in session.items):
        return
    where = Path(tempfile.mkdtemp(prefix="sentinelkit-install-"))
    log = open(where / "install.log", "w", encoding="utf-8")  # noqa: SIM115 (closed at the session's end)
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "tests" / "doc_commands.py"), "install", str(ROOT),
                             str(where), str(where / "report.json")], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    _install.update(where=where, proc=proc, log=log)


def pytest_sessionfinish(session: pytest.Session) -> None:
    proc = _install.get("proc")
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    if _install:
        _install["log"].close()
        shutil.rmtree(_install["where"], ignore_errors=True)


@pytest.fixture(scope="session")
def installed_clone() -> Installed:
    assert _install, "installed_clone is started when its tests are collected (conftest.py)"
    proc, where = _install["proc"], _install["where"]
    proc.wait(timeout=1800)
    log = (where / "install.log").read_text(errors="replace")
    assert proc.returncode == 0 and (where / "report.json").exists(), f"installing as docs/install.md says failed:\n{log}"
    report = json.loads((where / "report.json").read_text())
    ran = {}
    for r in report["ran"]:
        shown = f"{r['doc']}:{r['line']}: {r['text']}\nexit {r['returncode']}\n{r['stdout'][-3000:]}\n{r['stderr'][-3000:]}"
        assert r["returncode"] == 0, f"a command of docs/install.md failed as written:\n{shown}"
        ran[Command(r["doc"], r["line"], r["text"])] = r["stdout"] + r["stderr"]
    return Installed(Path(report["clone"]), Path(report["venv"]), Path(report["home"]), ran)
