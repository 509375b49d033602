"""Declaring a workspace: tables and functions in every spelling a user meets, checked by the real parser."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sentinelkit_kql import GET_WATCHLIST, Function, KqlValidator, Parameter, Schema, Table, kql_type


@pytest.mark.parametrize(("spelling", "kql"), [
    ("string", "string"), ("String", "string"), ("System.String", "string"), ("dateTime", "datetime"),
    ("Datetime", "datetime"), ("boolean", "bool"), ("Bool", "bool"), ("Int32", "int"), ("System.Int64", "long"),
    ("Real", "real"), ("double", "real"), ("Dynamic", "dynamic"), ("uniqueid", "guid"), ("timespan", "timespan"),
])
def test_type_spellings(spelling: str, kql: str) -> None:
    assert kql_type(spelling) == kql


def test_unknown_type_is_named_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"table 'T', column 'a': unknown KQL type 'varchar'; use one of: bool, "):
        Table("T", {"a": "varchar"})


def test_table_parse_keeps_order_and_unusual_names() -> None:
    table = Table.parse("Custom_CL(TimeGenerated:datetime, ['Source IP']:string, ['it\\'s']:long, Type:string)")
    assert table.name == "Custom_CL"
    assert table.columns == (("TimeGenerated", "datetime"), ("Source IP", "string"), ("it's", "long"), ("Type", "string"))


def test_arm_table_resource_gives_standard_columns_first() -> None:
    resource = {"name": "AppAudit_CL", "properties": {"schema": {
        "name": "AppAudit_CL",
        "standardColumns": [{"name": "TenantId", "type": "guid"}],
        "columns": [{"name": "TimeGenerated", "type": "dateTime"}, {"name": "Ok", "type": "boolean"},
                    {"name": "Count", "type": "int"}]}}}
    assert Table.from_arm(resource).columns == (("TenantId", "guid"), ("TimeGenerated", "datetime"), ("Ok", "bool"),
                                                ("Count", "int"))


def test_a_column_declared_twice() -> None:
    # Sentinel's own IdentityInfo.json lists UACFlags twice with one type: harmless, kept once
    assert Table("T", [("a", "string"), ("a", "String")]).columns == (("a", "string"),)
    with pytest.raises(ValueError, match="column 'a' is declared twice, as string and as int"):
        Table("T", [("a", "string"), ("a", "int")])


def test_a_name_declared_as_table_and_function() -> None:
    with pytest.raises(ValueError, match="'T' is declared twice \\(as a table and as a function\\)"):
        Schema([Table("T", {"a": "string"})], [Function("T", body="print 1")])


def test_function_needs_exactly_one_of_body_and_result() -> None:
    with pytest.raises(ValueError, match="give either its body or its result columns"):
        Function("F")
    with pytest.raises(ValueError, match="give either its body or its result columns"):
        Function("F", body="T", result={"a": "string"})


@pytest.mark.parametrize(("declaration", "message"), [
    ("T", "expected Name\\(...\\)"),
    ("T(a:string", "unbalanced parentheses"),
    ("T(a string)", "expected name:type"),
    ("T(a:string) extra", "unexpected text after the column list"),
])
def test_bad_table_declarations_say_what_is_wrong(declaration: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Table.parse(declaration)


def test_function_parse() -> None:
    f = Function.parse("RecentSignins(lookback:timespan = 1d, users:dynamic = dynamic(['a,b'])) "
                       "{ Signins | where TimeGenerated > ago(lookback) }")
    assert f.name == "RecentSignins" and f.body == "{ Signins | where TimeGenerated > ago(lookback) }"
    assert f.parameters == (Parameter("lookback", "timespan", "1d"), Parameter("users", "dynamic", "dynamic(['a,b'])"))
    with pytest.raises(ValueError, match="needs a body"):
        Function.parse("F(a:string)")


def test_schema_round_trips_through_json() -> None:
    schema = Schema([Table("T", {"a": "string"}), Table("Open", {"k": "string"}, open=True)],
                    [GET_WATCHLIST, Function.parse("F(n:int = 3) { T | take n }"),
                     Function("G", [Parameter("rows", "(*)")], body="rows | count")], database="ws")
    again = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert again == schema and again.key == schema.key
    assert Schema([Table("T", {"a": "int"})]).key != Schema([Table("T", {"a": "string"})]).key


def check(validator: KqlValidator, schema: Schema, query: str) -> list[tuple[str, str]]:
    result = validator.validate(query, schema)
    assert result.engine == "microsoft" and result.scope == "schema"
    return [(d.code, query[d.start:d.start + d.length]) for d in result.diagnostics]


def test_columns_with_spaces_quotes_and_keyword_names_resolve(validator: KqlValidator) -> None:
    schema = Schema([Table.parse("T(['Source IP']:string, ['it\\'s']:long, project:string, Type:string)")])
    assert check(validator, schema, "T | project ['Source IP'], ['it\\'s'], ['project'], Type") == []
    assert check(validator, schema, "T | where ['it\\'s'] > 1 and ['Source IP'] has '10.'") == []
    assert check(validator, schema, "T | project ['Source Ip']") == [("KS142", "['Source Ip']")]


def test_column_types_are_enforced(validator: KqlValidator) -> None:
    schema = Schema({"T": {"Count": "long", "Name": "string", "When": "datetime"}})
    assert check(validator, schema, "T | where When > ago(1d) | summarize sum(Count) by Name") == []
    assert check(validator, schema, "T | extend x = strlen(Count)") == [("KS141", "Count")]


def test_watchlists_resolve_with_any_of_their_columns(validator: KqlValidator) -> None:
    schema = Schema([Table.parse("SigninLogs(UserPrincipalName:string, IPAddress:string)")], [GET_WATCHLIST])
    query = ("let vips = _GetWatchlist('VIPUsers') | project SearchKey, ['User Principal Name'], Tier;\n"
             "SigninLogs | where UserPrincipalName in (vips)")
    assert check(validator, schema, query) == []
    assert check(validator, schema, "_GetWatchlist() | take 1") == [("KS119", "_GetWatchlist")]
    assert check(validator, Schema(), "_GetWatchlist('VIPUsers')") == [("KS211", "_GetWatchlist")]  # not declared


def test_stored_function_with_body_is_typed_by_the_parser(validator: KqlValidator) -> None:
    schema = Schema([Table.parse("Events(TimeGenerated:datetime, Account:string, EventID:int)")],
                    [Function.parse("Logons(lookback:timespan = 1d) { Events | where TimeGenerated > ago(lookback) "
                                    "and EventID == 4624 | project TimeGenerated, Account }")])
    assert check(validator, schema, "Logons() | summarize count() by Account") == []
    assert check(validator, schema, "Logons(7d) | where EventID == 1") == [("KS142", "EventID")]
    assert check(validator, schema, "Logons('x', 2)") == [("KS119", "Logons")]


def test_function_known_only_by_its_result(validator: KqlValidator) -> None:
    asim = Function("_Im_NetworkSession", [Parameter("starttime", "datetime", "datetime(null)"),
                                           Parameter("srcipaddr_has_any_prefix", "dynamic", "dynamic([])")],
                    result={"TimeGenerated": "datetime", "SrcIpAddr": "string", "DstIpAddr": "string"})
    schema = Schema(functions=[asim])
    assert check(validator, schema, "_Im_NetworkSession(starttime=ago(1h)) | summarize count() by SrcIpAddr") == []
    assert check(validator, schema, "_Im_NetworkSession() | project DstPortNumber") == [("KS142", "DstPortNumber")]


def test_tabular_parameter(validator: KqlValidator) -> None:
    schema = Schema([Table.parse("T(a:string)")], [Function("Top", [Parameter("rows", "(*)"), Parameter("n", "int")],
                                                            body="rows | take n")])
    assert check(validator, schema, "T | invoke Top(3) | project a") == []


def test_cross_workspace_references_are_reported_as_unchecked(validator: KqlValidator) -> None:
    schema = Schema([Table.parse("SecurityEvent(Computer:string)")])
    result = validator.validate("union SecurityEvent, workspace('other').SecurityEvent | summarize count() by Computer",
                                schema)
    assert result.diagnostics == () and result.ok
    assert not result.complete and result.engine == "microsoft"
    assert result.reason is not None and result.reason.startswith("workspace() and what it reads were not checked")


def test_bad_parameter_declarations() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "not ok", "type": "string"}, "a parameter name must be an identifier"),
        ({"name": "x", "type": "text"}, "parameter 'x': unknown KQL type 'text'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            Parameter(**kwargs)


def test_tables_as_a_plain_mapping(validator: KqlValidator) -> None:
    """The emulator's catalog form, ``{table: {column: type}}``, is accepted as it is."""
    result = validator.validate("SecurityEvent | where EventID == 4625 | project Computer, Acount",
                                {"SecurityEvent": {"Computer": "string", "EventID": "int", "Account": "string"}})
    assert [(d.code, d.message) for d in result] == [
        ("KS142", "The name 'Acount' does not refer to any known column, table, variable or function.")]
