"""Without Microsoft's parser (no mini-racer, or no files and no registry) the check is syntax-only and
says so; it still catches syntax errors, with their position."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from kql_testkit import files_under, sentinel_queries
from sentinelkit_kql import KqlValidator, PackageError, Schema


@pytest.fixture
def without_mini_racer(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the ``microsoft`` extra were not installed (``import py_mini_racer`` fails)."""
    monkeypatch.setitem(sys.modules, "py_mini_racer", None)


def test_without_mini_racer_the_check_is_syntax_only_and_says_why(without_mini_racer: None, parser_cache: Path,
                                                                  sentinel_schema: Schema) -> None:
    v = KqlValidator(cache_dir=parser_cache)
    result = v.validate("DeviceProcessEvents\n| where FileName =~ 'x' and\n| take 10", sentinel_schema)
    assert (result.engine, result.scope, result.complete, result.ok) == ("syntax-only", "syntax", False, False)
    assert result.reason == ("mini-racer is not installed, so Microsoft's KQL parser cannot run "
                             "(pip install 'sentinelkit-kql[microsoft]'). Only the syntax was checked, "
                             "with duckdb-kql's ANTLR grammar")
    [error] = result.diagnostics
    assert (error.code, error.line, error.column, error.length) == ("SYNTAX", 3, 1, 1)
    assert error.message.startswith("Unexpected '|'")
    assert v.engine == "syntax-only" and v.unavailable_reason is not None


def test_the_fallback_does_not_invent_schema_errors(without_mini_racer: None, sentinel_schema: Schema) -> None:
    """Names are not checked at all: a misspelt column passes, and the result says the check was partial."""
    result = KqlValidator().validate("DeviceProcessEvents | where FileNme == 'x'", sentinel_schema)
    assert result.diagnostics == () and result.ok and not result.complete and result.engine == "syntax-only"
    assert "Partial check (syntax-only): mini-racer is not installed" in result.render()


def test_the_fallback_accepts_published_queries(without_mini_racer: None) -> None:
    v = KqlValidator()
    rejected = [q["file"] for q in sentinel_queries() if not v.validate(q["query"]).ok]
    assert rejected == []


def test_no_files_and_no_registry_falls_back_with_the_offline_instructions(
        empty_cache: Path, closed_port_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SENTINELKIT_KQL_REGISTRY", closed_port_url)
    v = KqlValidator()
    with caplog.at_level(logging.WARNING, logger="sentinelkit_kql"):
        result = v.validate("SigninLogs | where ResultType ==")
    assert (result.engine, result.complete) == ("syntax-only", False)
    assert result.reason is not None and result.reason.startswith(
        "Could not download @kusto/language-service-next 12.4.1 (Microsoft's KQL parser) from http://127.0.0.1:")
    assert "SENTINELKIT_KQL_TARBALL" in result.reason and result.reason.endswith("with duckdb-kql's ANTLR grammar")
    [error] = result.errors
    assert (error.line, error.column, error.message) == (1, 33, "The query ends where more was expected")
    assert "KQL validation is syntax-only: Could not download" in caplog.text
    assert files_under(empty_cache) == []
    # a second validation does not knock on the registry again right away
    assert v.validate("SigninLogs | take 1").ok


def test_require_microsoft_turns_the_fallback_into_an_error(empty_cache: Path, closed_port_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINELKIT_KQL_REGISTRY", closed_port_url)
    with pytest.raises(PackageError, match="Could not download"):
        KqlValidator(require_microsoft=True).validate("T | take 1")
