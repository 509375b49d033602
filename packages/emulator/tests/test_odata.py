"""The OData $filter/$orderby parser Sentinel's list operations use in the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from sentinelkit_emulator.arm.odata import ODataError, parse_datetime, parse_filter, parse_orderby, sort_items


def incident(number: int, status: str, severity: str, owner: str | None, created: str, labels: list[str],
             title: str = "Rare RDP connections") -> dict[str, Any]:
    return {
        "name": f"inc-{number}",
        "properties": {
            "incidentNumber": number, "status": status, "severity": severity, "title": title,
            "owner": {"assignedTo": owner, "objectId": None},
            "createdTimeUtc": created,
            "labels": [{"labelName": name, "labelType": "User"} for name in labels],
        },
    }


ITEMS = [
    incident(1, "New", "High", None, "2026-11-01T08:00:00.1234567Z", ["VIP"]),
    incident(2, "Active", "Medium", "Alice Analyst", "2026-11-10T08:00:00Z", []),
    incident(3, "Closed", "Low", "Bob Lead", "2026-11-20T08:00:00.5Z", ["Phishing", "VIP"], "Phishing O'Brien"),
    incident(4, "New", "Informational", None, "2026-11-24T23:59:59Z", []),
]


def matching(expression: str) -> list[int]:
    keep = parse_filter(expression)
    return [i["properties"]["incidentNumber"] for i in ITEMS if keep(i)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("properties/status eq 'New'", [1, 4]),
        ("properties/status eq 'new'", [1, 4]),  # case-insensitive, like Sentinel's store
        ("properties/status ne 'Closed'", [1, 2, 4]),
        ("properties/incidentNumber gt 2", [3, 4]),
        ("properties/incidentNumber ge 2 and properties/incidentNumber le 3", [2, 3]),
        ("properties/incidentNumber lt 2 or properties/incidentNumber eq 4", [1, 4]),
        ("not (properties/status eq 'New')", [2, 3]),
        ("not properties/status eq 'New' and properties/severity eq 'Low'", [3]),
        ("(properties/severity eq 'High' or properties/severity eq 'Low') and properties/status ne 'Closed'", [1]),
        ("properties/owner/assignedTo eq null", [1, 4]),
        ("properties/owner/assignedTo ne null", [2, 3]),
        ("properties/createdTimeUtc gt 2026-11-15T00:00:00Z", [3, 4]),
        ("properties/createdTimeUtc ge 2026-11-01T08:00:00.1234567Z", [1, 2, 3, 4]),
        ("properties/createdTimeUtc lt datetime'2026-11-10T08:00:00Z'", [1]),
        ("properties/createdTimeUtc le '2026-11-10T08:00:00.0000000Z'", [1, 2]),
        ("properties/createdTimeUtc gt 2026-11-20", [3, 4]),
        ("contains(properties/title, 'rdp')", [1, 2, 4]),
        ("startswith(properties/title, 'Phish')", [3]),
        ("endswith(properties/title, 'connections')", [1, 2, 4]),
        ("substringof('RDP', properties/title)", [1, 2, 4]),
        ("properties/title eq 'Phishing O''Brien'", [3]),
        ("tolower(properties/severity) eq 'high'", [1]),
        ("properties/labels/any(l: l/labelName eq 'VIP')", [1, 3]),
        ("properties/labels/any(l: l/labelName eq 'VIP' and properties/status eq 'Closed')", [3]),
        ("properties/labels/all(l: l/labelName ne 'Phishing')", [1, 2, 4]),
        ("properties/labels/any()", [1, 3]),
        ("not properties/labels/any()", [2, 4]),
        ("properties/severity in ('High', 'Low')", [1, 3]),
        ("Properties/Status eq 'Active'", [2]),  # paths match case-insensitively as a fallback
        ("properties/doesNotExist eq null", [1, 2, 3, 4]),
        ("properties/incidentNumber eq '3'", [3]),
        ("properties/status eq 3", []),
    ],
)
def test_filters(expression: str, expected: list[int]) -> None:
    assert matching(expression) == expected


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("properties/status eq", "expected a property path, a literal or '(' but found the end of the expression"),
        ("properties/status eq 'New' and", "found the end of the expression at position 30"),
        ("(properties/status eq 'New'", "expected ')'"),
        ("properties/status eq 'New')", "expected 'and', 'or' or the end of the expression but found ')'"),
        ("properties/status = 'New'", "unexpected character '='"),
        ("properties/status eq 'New", "unterminated string literal starting at position 21"),
        ("properties/status equals 'New'", "expected 'and', 'or' or the end"),
        ("frobnicate(properties/status)", "unknown function 'frobnicate'"),
        ("contains(properties/title)", "function 'contains' takes 2 argument(s), got 1"),
        ("properties/labels/any(l l/labelName eq 'x')", "expected ':'"),
        ("properties/labels/any(: x)", "expected a lambda variable name"),
        ("and eq 1", "expected a property path, a literal or '('"),
        ("", "the expression is empty"),
    ],
)
def test_syntax_errors_name_the_problem(expression: str, problem: str) -> None:
    with pytest.raises(ODataError) as info:
        parse_filter(expression)
    assert problem in str(info.value)
    assert str(info.value).startswith("Invalid $filter")


def test_orderby_parses_several_keys() -> None:
    assert parse_orderby("properties/createdTimeUtc desc, name") == [
        (["properties", "createdTimeUtc"], True), (["name"], False)]
    assert parse_orderby("properties/severity ASC") == [(["properties", "severity"], False)]
    for bad in ("properties/severity sideways", "properties/a b c", ", name", "1abc"):
        with pytest.raises(ODataError, match=r"Invalid \$orderby"):
            parse_orderby(bad)


def test_sort_items_orders_by_several_keys_with_ranks_and_nulls() -> None:
    by_created = sort_items(ITEMS, parse_orderby("properties/createdTimeUtc desc"))
    assert [i["name"] for i in by_created] == ["inc-4", "inc-3", "inc-2", "inc-1"]
    ranks = {"properties/severity": {"informational": 0, "low": 1, "medium": 2, "high": 3}}
    by_severity = sort_items(ITEMS, parse_orderby("properties/severity desc"), ranks)
    assert [i["properties"]["severity"] for i in by_severity] == ["High", "Medium", "Low", "Informational"]
    by_status_then_number = sort_items(ITEMS, parse_orderby("properties/status asc, properties/incidentNumber desc"))
    assert [i["name"] for i in by_status_then_number] == ["inc-2", "inc-3", "inc-4", "inc-1"]
    by_owner = sort_items(ITEMS, parse_orderby("properties/owner/assignedTo"))
    assert [i["properties"]["owner"]["assignedTo"] for i in by_owner] == [None, None, "Alice Analyst", "Bob Lead"]


def test_parse_datetime_accepts_dotnet_and_offsets() -> None:
    seven = parse_datetime("2026-11-25T10:00:00.1234567Z")
    assert seven is not None and seven.microsecond == 123456 and seven.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    offset = parse_datetime("2026-11-25T12:00:00+02:00")
    assert offset is not None and offset == parse_datetime("2026-11-25T10:00:00Z")
    assert parse_datetime("2026-11-25") is not None
    assert parse_datetime("yesterday") is None and parse_datetime(42) is None  # type: ignore[arg-type]
