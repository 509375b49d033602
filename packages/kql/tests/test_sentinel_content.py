"""Microsoft's published detections and hunting queries against Sentinel's own table schemas: the
valid ones pass, the broken ones fail with the diagnostics Microsoft's parser gives, at the place."""

from __future__ import annotations

from typing import Any

import pytest
from kql_testkit import sentinel_queries
from sentinelkit_kql import KqlValidator, Schema

QUERIES = sentinel_queries()


def test_the_sample_is_real_and_large_enough() -> None:
    assert len(QUERIES) >= 40
    assert {q["kind"] for q in QUERIES} == {"detection", "hunting"}
    assert sum("expected" not in q for q in QUERIES) >= 35
    for q in QUERIES:
        assert q["source"].endswith((".yaml", ".yml")) and len(q["commit"]) == 40, q["file"]


@pytest.mark.parametrize("entry", [q for q in QUERIES if "expected" not in q], ids=lambda q: q["file"])
def test_published_query_is_valid(entry: dict[str, Any], validator: KqlValidator, sentinel_schema: Schema) -> None:
    result = validator.validate(entry["query"], sentinel_schema)
    assert result.diagnostics == (), result.render()
    assert (result.ok, result.engine, result.scope, result.complete) == (True, "microsoft", "schema", True)


@pytest.mark.parametrize("entry", [q for q in QUERIES if "expected" in q], ids=lambda q: q["file"])
def test_published_query_with_problems_gets_microsofts_diagnostics(
        entry: dict[str, Any], validator: KqlValidator, sentinel_schema: Schema) -> None:
    result = validator.validate(entry["query"], sentinel_schema)
    found = [{"code": d.code, "line": d.line, "column": d.column, "text": entry["query"][d.start:d.start + d.length]}
             for d in result.diagnostics]
    assert found == entry["expected"], entry["note"]
    assert not result.ok and result.complete
    name = entry["expected"][0]["text"]
    assert f"The name '{name}' does not refer to any known" in result.errors[0].message


def test_a_table_the_workspace_lacks_is_named(validator: KqlValidator, sentinel_schema: Schema) -> None:
    mosaic = next(q for q in QUERIES if q["file"].endswith("MosaicLoader.kql"))
    [error] = validator.validate(mosaic["query"], sentinel_schema).errors
    assert error.render() == ("Line 1, column 1: The name 'DeviceRegistryEvents' does not refer to any known table, "
                              "tabular variable or function. (KS204)")


def test_every_published_query_parses(validator: KqlValidator) -> None:
    """Without a schema only the syntax is checked: all of Microsoft's queries are well-formed."""
    for q in QUERIES:
        result = validator.validate(q["query"])
        assert (result.diagnostics, result.scope, result.complete) == ((), "syntax", True), q["file"]
