"""Deliberately broken variants of published queries: each mistake comes back with Microsoft's code,
message and the exact position of the mistake."""

from __future__ import annotations

import pytest
from kql_testkit import sentinel_queries
from sentinelkit_kql import Diagnostic, KqlValidator, Schema

BASE = next(q["query"] for q in sentinel_queries() if q["file"].endswith("/DoppelPaymerProcDump.kql"))


def position(query: str, needle: str, after: str = "") -> tuple[int, int, int]:
    """Offset, 1-based line and column of ``needle`` (the first after ``after``)."""
    start = query.index(needle, query.index(after) if after else 0)
    line = query.count("\n", 0, start) + 1
    return start, line, start - (query.rfind("\n", 0, start) + 1) + 1


def only_error(validator: KqlValidator, query: str, schema: Schema) -> Diagnostic:
    result = validator.validate(query, schema)
    assert len(result.diagnostics) == 1, result.render()
    assert not result.ok and result.complete and result.engine == "microsoft"
    return result.diagnostics[0]


def test_unknown_column(validator: KqlValidator, sentinel_schema: Schema) -> None:
    query = BASE.replace("and ProcessCommandLine has 'lsass'", "and ProcessCmdLine has 'lsass'")
    d = only_error(validator, query, sentinel_schema)
    start, line, column = position(query, "ProcessCmdLine")
    assert (d.code, d.severity, d.start, d.length, d.line, d.column) == ("KS142", "error", start, 14, line, column)
    assert d.message == "The name 'ProcessCmdLine' does not refer to any known column, table, variable or function."
    assert d.render() == f"Line {line}, column {column}: {d.message} (KS142)"
    assert d.excerpt(query) == ("or (FileName in~ ('procdump.exe','procdump64.exe') and ProcessCmdLine has 'lsass')\n"
                                + " " * (column - 1) + "^" * 14)


def test_unknown_column_where_a_string_is_needed_gets_both_of_microsofts_errors(
        validator: KqlValidator, sentinel_schema: Schema) -> None:
    query = BASE.replace("(FileName in~", "(FileNme in~")
    result = validator.validate(query, sentinel_schema)
    start = query.index("FileNme")
    assert [(d.code, d.message, d.start) for d in result.diagnostics] == [
        ("KS107", "A value of type string or dynamic expected.", start),
        ("KS142", "The name 'FileNme' does not refer to any known column, table, variable or function.", start)]


def test_unknown_table(validator: KqlValidator, sentinel_schema: Schema) -> None:
    query = BASE.replace("\nDeviceProcessEvents\n", "\nDeviceProcessEvent\n")
    d = only_error(validator, query, sentinel_schema)
    start, _, _ = position(query, "DeviceProcessEvent")
    assert (d.code, d.start, d.length, d.line, d.column) == ("KS204", start, 18, 2, 1)
    assert d.message == "The name 'DeviceProcessEvent' does not refer to any known table, tabular variable or function."


def test_syntax_error_missing_operand(validator: KqlValidator, sentinel_schema: Schema) -> None:
    query = BASE.replace("ProcessCommandLine has 'lsass')", "ProcessCommandLine has )")
    d = only_error(validator, query, sentinel_schema)
    start, line, column = position(query, " )", after="ProcessCommandLine has )")  # right after `has`
    assert (d.code, d.message, d.start, d.length, d.line, d.column) == ("KS006", "Missing expression", start, 0, line, column)


def test_syntax_error_unclosed_parenthesis(validator: KqlValidator, sentinel_schema: Schema) -> None:
    query = "DeviceProcessEvents\n| where Timestamp > ago(7d\n| take 10"
    result = validator.validate(query, sentinel_schema)
    assert [(d.code, d.message, d.line, d.column) for d in result.errors] == [("KS005", "Expected: )", 2, 27)]


@pytest.mark.parametrize(("call", "code", "message"), [
    ("tolower(DeviceName, 1)", "KS119", "The function 'tolower' expects 1 argument."),
    ("substring(DeviceName)", "KS119", "The function 'substring' expects 3 arguments."),
    ("strlen(ProcessId)", "KS141", "The expression must have one of the types: string or dynamic."),
    ("tolowr(DeviceName)", "KS211", "The name 'tolowr' does not refer to any known function."),
])
def test_wrong_function_call(call: str, code: str, message: str, validator: KqlValidator,
                             sentinel_schema: Schema) -> None:
    query = BASE.replace("| extend HostName = iff(", f"| extend Check = {call}\n| extend HostName = iff(")
    d = only_error(validator, query, sentinel_schema)
    assert (d.code, d.message) == (code, message)
    assert d.line == position(query, "| extend Check")[1]


def test_positions_count_characters_not_utf16_units(validator: KqlValidator, sentinel_schema: Schema) -> None:
    """JavaScript counts a character outside the BMP twice; positions here are Python string offsets."""
    query = "DeviceProcessEvents\r\n| where FileName == '💥🔥' and Nope == 1"
    d = only_error(validator, query, sentinel_schema)
    assert query[d.start:d.start + d.length] == "Nope"
    assert (d.line, d.column) == (2, query.index("Nope") - query.index("| where") + 1)


def test_several_problems_are_all_reported_in_order(validator: KqlValidator, sentinel_schema: Schema) -> None:
    query = "DeviceProcessEvents | where Foo == 1 | extend x = tolower(Bar, 2) | join (Nowhere) on DeviceId"
    result = validator.validate(query, sentinel_schema)
    assert [(d.code, query[d.start:d.start + d.length]) for d in result.diagnostics] == [
        ("KS142", "Foo"), ("KS119", "tolower"), ("KS142", "Bar"), ("KS204", "Nowhere")]
    assert [d.start for d in result.diagnostics] == sorted(d.start for d in result.diagnostics)


def test_render_lists_each_problem_with_its_line(validator: KqlValidator, sentinel_schema: Schema) -> None:
    result = validator.validate("DeviceProcessEvents\n| where Foo == 1", sentinel_schema)
    assert result.render() == ("Line 2, column 9: The name 'Foo' does not refer to any known column, table, variable "
                               "or function. (KS142)\n| where Foo == 1\n        ^^^")
    assert result.to_dict() == {
        "ok": False, "engine": "microsoft", "scope": "schema", "complete": True, "reason": None,
        "diagnostics": [{"code": "KS142", "severity": "error", "start": 28, "length": 3, "line": 2, "column": 9,
                         "message": "The name 'Foo' does not refer to any known column, table, variable or function."}]}
