"""Every command in the ```bash blocks of README.md and docs/*.md runs as written.

They run in a copy of the working tree (what a clone holds) with the environment docs/install.md makes
there (the ``installed_clone`` fixture, which runs install.md itself), one bash session per block, against
the emulator: the session emulator's environment stands for the reader's Azure credentials, except where a
block starts its own emulator (docs/emulator.md) or a line asks for ``--emulator`` (then without any
``AZURE_*``/``SENTINELKIT_*`` variable, as on a machine with no Azure). ``sentinelkit serve`` lines are
started, asked and stopped. A block that runs ``python3 -m hatch`` runs where hatch is installed, and
``hatch run`` in this checkout (a copy's hatch environment would take minutes to create; CI creates this
one from a clean clone).

A command that cannot run here is listed below with the reason; every other command runs, so a new
command in the docs runs too (and fails the test if it does not work as written), and an entry below that
no longer matches a command of the docs fails the test.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from doc_commands import ROOT, Command, Ran, bash_blocks, example_files, run_block, user_env
from sentinelkit_devkit.emulator import emulator_environment

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: docs whose commands another test runs, every one of them (it checks that)
RUN_ELSEWHERE = {"docs/pack-authors.md": "tests/test_pack_authors_doc.py"}
#: docs whose commands the ``installed_clone`` fixture runs (conftest.py at the root)
RUN_BY_THE_FIXTURE = {"docs/install.md"}

NOT_RUN = {
    "python3 -m pip install hatch && python3 -m hatch run demo":
        "CI runs it: .ci/run, in a clean clone, before the tests",
    "python3 -m pip install hatch && python3 -m hatch run test":
        "CI runs it: .ci/run (this test is part of it)",
    "az login  # or a service principal: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET":
        "the Azure CLI signs in to Azure itself; there is no Azure here (the emulator's environment stands in)",
    "python3 -m pip install sentinelkit sentinelkit-incidents sentinelkit-health sentinelkit-dcr  # not yet published":
        "nothing is published on PyPI yet (the same distributions from wheels are installed by the fixture)",
    "export APPLICATIONINSIGHTS_CONNECTION_STRING='InstrumentationKey=...;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;...'":
        "a placeholder for the reader's own resource (as written, serve stops on it and says so: "
        "test_a_malformed_connection_string_is_explained_without_showing_it); tests/test_app_insights_e2e.py "
        "serves with a real one, the emulator's component, and finds the rows in the workspace",
    "az monitor scheduled-query create --name sentinelkit-kpi-breach --resource-group rg-soc --scopes "
    "\"$WORKSPACE_RESOURCE_ID\" --severity 2 --evaluation-frequency 5m --window-size 1h --description \"sentinelkit: "
    "a tool's error rate > 5 % or its average response > 3 s over the last hour\" --condition \"count 'Breaches' > 0 "
    "at least 1 violations out of 1 aggregated points\" --condition-query Breaches=\"AppDependencies | where Name "
    "startswith 'execute_tool ' | extend tool = tostring(Properties['gen_ai.tool.name']), outcome = "
    "tostring(Properties['sentinelkit.outcome']) | summarize calls = count(), errors = countif(outcome in ('error', "
    "'failed')), avg_ms = avg(DurationMs) by AppRoleName, tool | where 1.0 * errors / calls > 0.05 or avg_ms > 3000\" "
    "--action-groups \"$ACTION_GROUP_ID\"":
        "the Azure CLI creates the alert rule in Azure; test_the_documented_kpi_query_and_alert_see_a_breach "
        "(tests/test_app_insights_e2e.py) runs its query on the emulator and sees the breach it fires on",
    "python3 -m hatch run bench  # all of them, one after the other":
        "every benchmark in full takes about 3 minutes here: test_every_benchmark_answers_help runs each script of "
        "hatch.toml's bench list with --help instead",
}
#: commands run in a shorter form, with the reason
SUBSTITUTED = {
    "python3 -m hatch run python benchmarks/startup.py --runs 21  # or one: spawn → tools/list vs bare FastMCP":
        ("python3 -m hatch run python benchmarks/startup.py --help", "21 runs take about a minute"),
}


def _plain(text: str) -> str:
    return " ".join(text.split())


SKIP = {_plain(text): reason for text, reason in NOT_RUN.items()}
SHORTER = {_plain(text): shorter for text, (shorter, _) in SUBSTITUTED.items()}


def _argv(command: Command) -> list[str]:
    return shlex.split(command.text, comments=True)


def _workspaces(ran: Ran) -> None:
    names = {w["name"] for w in json.loads(ran.stdout)["workspaces"]}
    assert len(names) == 6 and "law-woodgrove" in names, names  # every tenant, the non-delegated one too


def _checked(ran: Ran) -> None:
    assert "OK   default" in ran.stdout and "tenant woodgrove" in ran.stdout and "FAIL" not in ran.stdout, ran.stdout


def _served(ran: Ran) -> None:
    found = json.loads(ran.stdout)
    assert found["answered"] and found.get("tools", 2) >= 2, found
    lines = [line for line in found["stderr"].splitlines() if line.strip()]
    if "--log-format" not in _argv(ran.command):  # the docs promise JSON lines on stderr
        assert all(line.startswith("{") and json.loads(line) for line in lines), found["stderr"]


def expectation(command: Command) -> Callable[[Ran], None] | None:
    """What the docs say a command shows, beyond exiting 0."""
    argv = _argv(command)
    if argv[:3] == ["sentinelkit", "call", "workspace_list"]:
        return _workspaces
    if argv[:3] == ["sentinelkit", "config", "check"]:
        return _checked
    if argv[:2] == ["sentinelkit", "serve"]:
        return _served
    if argv[:2] == ["sentinelkit", "packs"]:
        return _packs_loaded
    if argv[:2] == ["python3", "list_incidents.py"]:
        return _incident_titles
    return None


def _incident_titles(ran: Ran) -> None:
    titles = ast.literal_eval(ran.stdout.strip())
    assert isinstance(titles, list) and 1 <= len(titles) <= 5 and all(isinstance(t, str) and t for t in titles), titles


def _packs_loaded(ran: Ran) -> None:
    loaded = set(re.findall(r"^(\S+) +\S+ +loaded", ran.stdout, re.M))
    assert {"core", "incidents", "health", "dcr"} <= loaded, ran.stdout


@pytest.fixture(scope="module")
def emulator_env(emulator, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return emulator_environment(emulator.info, tmp_path_factory.mktemp("docs-emulator"))


@pytest.mark.parametrize("doc", [d for d in DOCS if d.relative_to(ROOT).as_posix() not in RUN_ELSEWHERE],
                         ids=lambda d: d.relative_to(ROOT).as_posix())
def test_every_command_runs_as_written(doc: Path, installed_clone, emulator_env: dict[str, str],
                                       tmp_path: Path) -> None:
    name = doc.relative_to(ROOT).as_posix()
    fixture_ran = {_plain(c.text) for c in installed_clone.ran}
    home = tmp_path / "home"
    home.mkdir()
    for path, text in example_files(doc).items():  # the files a page names (`# file: <path>`) for its commands
        (installed_clone.clone / path).parent.mkdir(parents=True, exist_ok=True)
        (installed_clone.clone / path).write_text(text, encoding="utf-8")
    ran: list[Ran] = []
    unaccounted: list[Command] = []
    for block in bash_blocks(doc):
        todo = []
        for command in block:
            text = _plain(command.text)
            if text in SKIP or text in fixture_ran:
                continue
            if text in SHORTER:
                command = Command(command.doc, command.line, SHORTER[text])
            if name in RUN_BY_THE_FIXTURE:
                unaccounted.append(command)  # install.md's commands are all the fixture's to run
                continue
            todo.append(command)
        if not todo:
            continue
        texts = [c.text for c in todo]
        wrap = {c: "unset ${!AZURE_*} ${!SENTINELKIT_*}" for c in todo if "--emulator" in _argv(c)}
        if any("python3 -m hatch" in t for t in texts):
            cwd = ROOT if any("hatch run" in t for t in texts) else installed_clone.clone
            env = user_env(home)
        else:
            cwd, env = installed_clone.clone, user_env(home, venv=installed_clone.venv)
            if not any("sentinelkit-emulator" in t for t in texts):  # a block that starts its own brings its own
                env.update(emulator_env)
        done = run_block(todo, cwd=cwd, env=env, wrap=wrap)
        ran += done
        unaccounted += todo[len(done):]
        for result in done:
            assert result.returncode == 0, f"a command of {name} fails as written:\n{result.explain()}"
            check = expectation(result.command)
            if check is not None:
                try:
                    check(result)
                except (AssertionError, ValueError, KeyError) as exc:
                    raise AssertionError(f"{result.explain()}\n\ndoes not show what the docs say: {exc}") from exc
    assert not unaccounted, "commands neither run nor listed in NOT_RUN:\n" + "\n".join(map(str, unaccounted))


def test_every_listed_exception_is_still_a_command_of_the_docs() -> None:
    commands = {_plain(c.text) for doc in DOCS for block in bash_blocks(doc) for c in block}
    stale = [text for text in [*SKIP, *SHORTER] if text not in commands]
    assert not stale, f"NOT_RUN/SUBSTITUTED name commands that are no longer in the docs: {stale}"
    assert set(RUN_ELSEWHERE) | RUN_BY_THE_FIXTURE <= {d.relative_to(ROOT).as_posix() for d in DOCS}
    for test in RUN_ELSEWHERE.values():
        assert (ROOT / test).is_file(), test


def test_every_benchmark_answers_help() -> None:
    """The README's `hatch run bench` runs hatch.toml's bench list: each script exists and starts."""
    scripts = re.findall(r'"python (benchmarks/\S+\.py)"', (ROOT / "hatch.toml").read_text())
    assert len(scripts) >= 5, scripts
    for script in scripts:
        done = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "usage" in done.stdout.lower(), f"{script}: {done.stdout}{done.stderr}"
