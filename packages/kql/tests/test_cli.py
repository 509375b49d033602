"""``python -m sentinelkit_kql fetch`` and ``check``, as a person at a terminal uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kql_testkit import files_under
from sentinelkit_kql import package
from sentinelkit_kql.cli import main


def cli(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sentinelkit_kql", *args], input=stdin, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env}, check=False)


def test_fetch_prints_where_the_parser_is(npm_tarball: Path, tmp_path: Path, closed_port_url: str) -> None:
    cache = tmp_path / "cache"
    done = cli("fetch", env={"SENTINELKIT_CACHE_DIR": str(cache), package.TARBALL_ENV: str(npm_tarball),
                             package.REGISTRY_ENV: closed_port_url})
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"@kusto/language-service-next 12.4.1 (verified) is in {cache / 'kql' / '12.4.1'}\n"
    package.verify(cache / "kql" / "12.4.1")


def test_fetch_without_a_registry_explains_and_fails(tmp_path: Path, closed_port_url: str) -> None:
    cache = tmp_path / "cache"
    done = cli("fetch", env={"SENTINELKIT_CACHE_DIR": str(cache), package.REGISTRY_ENV: closed_port_url})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: Could not download @kusto/language-service-next 12.4.1")
    assert "SENTINELKIT_KQL_TARBALL" in done.stderr and "Traceback" not in done.stderr
    assert files_under(cache) == []


def test_check_shows_the_mistake_where_it_is(parser_cache: Path) -> None:
    done = cli("check", "--table", "T(a:string, b:int)", "T | where b == 1 | where c == 2",
               env={"SENTINELKIT_CACHE_DIR": str(parser_cache)})
    assert done.returncode == 1, done.stderr
    assert done.stdout == ("Line 1, column 26: The name 'c' does not refer to any known column, table, variable or "
                           "function. (KS142)\nT | where b == 1 | where c == 2\n                         ^\n")


def test_check_a_valid_query_with_functions(parser_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--cache-dir", str(parser_cache), "--require-microsoft", "--get-watchlist",
                 "--table", "SigninLogs(UserPrincipalName:string, ResultType:string)",
                 "--function", "Failures(n:int = 10) { SigninLogs | where ResultType != '0' | take n }",
                 "Failures() | where UserPrincipalName in (_GetWatchlist('VIPUsers') | project SearchKey)"])
    assert (code, capsys.readouterr().out) == (0, "No problems found.\n")


def test_check_json_from_standard_input(parser_cache: Path) -> None:
    done = cli("check", "--json", "-", stdin="print x = \n", env={"SENTINELKIT_CACHE_DIR": str(parser_cache)})
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout) == {
        "ok": False, "engine": "microsoft", "scope": "syntax", "complete": True, "reason": None,
        "diagnostics": [{"code": "KS006", "severity": "error", "message": "Missing expression", "start": 9,
                         "length": 0, "line": 1, "column": 10}]}


def test_a_bad_declaration_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--table", "T(a:varchar)", "T"]) == 2
    assert capsys.readouterr().err == ("error: table 'T', column 'a': unknown KQL type 'varchar'; use one of: bool, "
                                       "datetime, decimal, dynamic, guid, int, long, real, string, timespan\n")


def test_check_without_the_parser_says_the_check_was_partial(empty_cache: Path, closed_port_url: str,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(package.REGISTRY_ENV, closed_port_url)
    assert main(["check", "--table", "T(a:string)", "T | where zz == 1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("No problems found in the syntax.\nPartial check (syntax-only): Could not download")
    assert main(["check", "--require-microsoft", "T | take 1"]) == 2
    assert capsys.readouterr().err.startswith("error: Could not download @kusto/language-service-next 12.4.1")
