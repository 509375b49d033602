"""The output helpers every pack uses: default fields, ``fields``, ``limit`` + ``cursor``, budget."""

from __future__ import annotations

import json

import pytest

from sentinelkit.errors import KitError
from sentinelkit.outputs import page

ITEMS = [{"id": i, "title": f"incident {i}", "severity": "High", "description": "x" * 50} for i in range(40)]


def test_default_fields_and_limit_with_a_cursor_to_the_rest() -> None:
    first = page(ITEMS, default_fields=["id", "title"], limit=10)
    assert first["items"][0] == {"id": 0, "title": "incident 0"}
    assert (first["count"], first["total"]) == (10, 40)
    assert "cursor=" in first["truncated"] and "items 1-10 of 40" in first["truncated"]
    second = page(ITEMS, default_fields=["id", "title"], limit=10, cursor=first["next_cursor"])
    assert second["items"][0]["id"] == 10
    last = page(ITEMS, limit=10, cursor=page(ITEMS, limit=30)["next_cursor"])
    assert last["count"] == 10 and "next_cursor" not in last and "truncated" not in last


def test_fields_selects_and_star_returns_everything() -> None:
    assert page(ITEMS, fields=["severity"], default_fields=["id"], limit=1)["items"] == [{"severity": "High"}]
    assert page(ITEMS, fields="id,severity", limit=1)["items"] == [{"id": 0, "severity": "High"}]
    assert set(page(ITEMS, fields=["*"], default_fields=["id"], limit=1)["items"][0]) == set(ITEMS[0])


def test_unknown_field_lists_the_available_ones() -> None:
    with pytest.raises(KitError) as err:
        page(ITEMS, fields=["sevrity"], limit=1)
    assert "sevrity" in str(err.value) and "severity" in str(err.value)


def test_size_budget_truncates_and_says_how_to_continue() -> None:
    out = page(ITEMS, limit=40, budget=1_000)
    assert len(json.dumps(out)) < 1_500
    assert 0 < out["count"] < 40
    assert "to stay under 1000 characters" in out["truncated"]
    rest = page(ITEMS, limit=40, budget=100_000, cursor=out["next_cursor"])
    assert rest["count"] == 40 - out["count"]


def test_long_values_are_clipped_with_a_note() -> None:
    out = page([{"id": 1, "query": "q" * 10_000}], limit=1)
    assert len(out["items"][0]["query"]) < 2_200 and "truncated: 10000 characters" in out["items"][0]["query"]


def test_bad_cursor_is_explained() -> None:
    with pytest.raises(KitError) as err:
        page(ITEMS, cursor="garbage")
    assert "next_cursor" in str(err.value)
