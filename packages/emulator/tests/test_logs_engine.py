"""The KQL engine over a small hand-made store, with the real duckdb-kql: shapes, errors, limits, caching."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest

from sentinelkit_emulator.logs.engine import (
    LogsEngine,
    QueryApiError,
    format_datetime,
    format_timespan,
    parse_timespan,
    render_info,
)
from sentinelkit_emulator.logs.schemas import STANDARD_TABLES, custom_table_schema, workspace_schemas
from sentinelkit_emulator.model import World
from sentinelkit_emulator.store import Store

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
WS = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law-one"
WS2 = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law-two"
CID, CID2 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def iso(hours_ago: float) -> str:
    return (NOW - dt.timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")


def make_store(sentinel: bool = True) -> Store:
    store = Store(World(), NOW)
    for ws, cid in ((WS, CID), (WS2, CID2)):
        store.put({"id": ws, "name": ws.rsplit("/", 1)[1], "type": "Microsoft.OperationalInsights/workspaces",
                   "properties": {"customerId": cid}})
    if sentinel:
        store.put({"id": f"{WS}/providers/Microsoft.SecurityInsights/onboardingStates/default", "name": "default",
                   "type": "Microsoft.SecurityInsights/onboardingStates", "properties": {}})
    store.append_logs(CID, "Heartbeat", [
        {"TimeGenerated": iso(h), "Computer": f"vm{h % 3}", "OSType": "Linux", "ComputerPrivateIPs": ["10.0.0.1"]}
        for h in range(48)
    ])
    store.append_logs(CID2, "Heartbeat", [{"TimeGenerated": iso(1), "Computer": "other", "OSType": "Windows"}])
    store.append_logs(CID, "SentinelHealth", [
        {"TimeGenerated": iso(2), "SentinelResourceName": "Rule A", "Status": "Failure",
         "ExtendedProperties": {"RuleId": "a", "Issues": [1, 2]}},
    ])
    return store


def run(store: Store, query: str, engine: LogsEngine | None = None, workspaces: Any = None, **kw: Any) -> Any:
    engine = engine or LogsEngine()
    snap = engine.snapshot(store, workspaces or [(WS, CID)])
    kw.setdefault("now", NOW)
    return engine.run(snap, query, **kw)


def rows(result: Any) -> list[dict[str, Any]]:
    table = result.body["tables"][0]
    return [dict(zip([c["name"] for c in table["columns"]], r, strict=True)) for r in table["rows"]]


def inner(err: QueryApiError) -> dict[str, Any]:
    node = err.body()["error"]
    while "innererror" in node:
        node = node["innererror"]
    return node


# -- timespans and value formats -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "start", "end"), [
    ("PT1H", NOW - dt.timedelta(hours=1), NOW),
    ("P7D", NOW - dt.timedelta(days=7), NOW),
    ("PT86400.0S", NOW - dt.timedelta(days=1), NOW),  # what azure-monitor-query sends for a timedelta
    ("P1DT12H", NOW - dt.timedelta(hours=36), NOW),
    ("2026-11-20T00:00:00Z/2026-11-21T00:00:00Z", dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
     dt.datetime(2026, 11, 21, tzinfo=dt.UTC)),
    ("2026-11-20T00:00:00.000Z/PT12H", dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
     dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)),
    ("P1D/2026-11-21T00:00:00Z", dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
     dt.datetime(2026, 11, 21, tzinfo=dt.UTC)),
])
def test_parse_timespan(text: str, start: dt.datetime, end: dt.datetime) -> None:
    assert parse_timespan(text, NOW) == (start, end)


@pytest.mark.parametrize("text", ["", "P", "PT", "1 hour", "2026-13-01/PT1H", "PT1H/PT2H"])
def test_parse_timespan_refuses(text: str) -> None:
    with pytest.raises(QueryApiError) as err:
        parse_timespan(text, NOW)
    assert err.value.status == 400 and err.value.body()["error"]["innererror"]["code"] == "InvalidTimespan"


def test_wire_formats() -> None:
    assert format_datetime(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    assert format_datetime(dt.datetime(2026, 1, 2, 3, 4, 5, 120000)) == "2026-01-02T03:04:05.1200000Z"
    assert format_timespan(dt.timedelta(days=2, hours=1, seconds=3, microseconds=5)) == "2.01:00:03.0000050"
    assert format_timespan(-dt.timedelta(minutes=5)) == "-00:05:00"
    assert render_info("T | render piechart with (title='Top')") == {
        "visualization": "piechart", "title": "Top", "accumulate": False, "isQuerySorted": False,
        "kind": "default", "annotation": "", "by": None}
    assert render_info("T | take 1") is None


# -- schemas -----------------------------------------------------------------------------------------


def test_standard_tables_have_the_common_columns() -> None:
    for name, schema in STANDARD_TABLES.items():
        assert schema["TimeGenerated"] == "datetime" and schema["TenantId"] == "string", name
        assert list(schema)[-1] == "Type", name
    usage = STANDARD_TABLES["Usage"]
    assert usage["Quantity"] == "real" and usage["IsBillable"] == "bool" and usage["DataType"] == "string"
    assert STANDARD_TABLES["SentinelHealth"]["ExtendedProperties"] == "dynamic"


def test_workspace_tables_without_arm_tables_follow_sentinel_onboarding() -> None:
    store = make_store(sentinel=False)
    tables = workspace_schemas(store, WS, CID)
    assert "Heartbeat" in tables and "SecurityIncident" not in tables
    assert "SentinelHealth" in tables  # it has rows, so it exists
    store = make_store(sentinel=True)
    assert "SecurityIncident" in workspace_schemas(store, WS, CID)


def test_arm_tables_are_authoritative() -> None:
    store = make_store()
    tables = "Microsoft.OperationalInsights/workspaces/tables"
    store.put({"id": f"{WS}/tables/Heartbeat", "name": "Heartbeat", "type": tables,
               "properties": {"schema": {"name": "Heartbeat", "columns": [{"name": "Site_CF", "type": "string"}],
                                         "standardColumns": [{"name": "TenantId", "type": "guid"}]}}})
    store.put({"id": f"{WS}/tables/App_CL", "name": "App_CL", "type": tables,
               "properties": {"schema": {"name": "App_CL", "columns": [
                   {"name": "TimeGenerated", "type": "dateTime"}, {"name": "Ok", "type": "boolean"},
                   {"name": "Bag", "type": "dynamic"}, {"name": "N", "type": "long"}]}}})
    found = workspace_schemas(store, WS, CID)
    assert "SecurityEvent" not in found  # not listed by the Tables API
    assert "SentinelHealth" in found  # rows exist
    assert found["Heartbeat"]["Site_CF"] == "string" and found["Heartbeat"]["TenantId"] == "string"
    assert custom_table_schema(store.get(f"{WS}/tables/App_CL")) == {
        "TenantId": "string", "TimeGenerated": "datetime", "Ok": "bool", "Bag": "dynamic", "N": "long",
        "Type": "string"}


# -- answers -----------------------------------------------------------------------------------------


def test_answer_shape_and_types() -> None:
    result = run(make_store(), """Heartbeat | take 1
        | project TimeGenerated, Computer, ComputerPrivateIPs, TenantId, Type, n = 1, l = tolong(2), r = 1.5,
                  b = true, since = now() - TimeGenerated, g = toguid('00000000-0000-0000-0000-000000000001')""")
    table = result.body["tables"][0]
    assert table["name"] == "PrimaryResult"
    assert [(c["name"], c["type"]) for c in table["columns"]] == [
        ("TimeGenerated", "datetime"), ("Computer", "string"), ("ComputerPrivateIPs", "dynamic"),
        ("TenantId", "string"), ("Type", "string"), ("n", "long"), ("l", "long"), ("r", "real"), ("b", "bool"),
        ("since", "timespan"), ("g", "guid")]
    row = table["rows"][0]
    assert row[0].endswith("Z") and row[2] == '["10.0.0.1"]' and row[3] == CID and row[4] == "Heartbeat"
    assert row[5:9] == [1, 2, 1.5, True] and row[10] == "00000000-0000-0000-0000-000000000001"
    json.dumps(result.body, allow_nan=False)  # what Starlette's JSONResponse requires


def test_dynamic_paths_and_empty_tables() -> None:
    store = make_store()
    got = rows(run(store, "SentinelHealth | project r = tostring(ExtendedProperties.RuleId), "
                          "n = array_length(ExtendedProperties.Issues)"))
    assert got == [{"r": "a", "n": 2}]
    empty = run(store, "SecurityIncident | where Status == 'New'")
    assert empty.body["tables"][0]["rows"] == [] and len(empty.body["tables"][0]["columns"]) == len(
        STANDARD_TABLES["SecurityIncident"])


def test_timespan_applies_to_every_table_and_does_not_leak() -> None:
    store, engine = make_store(), LogsEngine()
    assert rows(run(store, "Heartbeat | count", engine, timespan="PT5H30M"))[0]["Count"] == 6
    assert rows(run(store, "union Heartbeat, SentinelHealth | count", engine, timespan="PT1H30M"))[0]["Count"] == 2
    assert rows(run(store, "Heartbeat | count", engine))[0]["Count"] == 48


def test_rows_appended_later_are_loaded_and_store_swap_rebuilds() -> None:
    store, engine = make_store(), LogsEngine()
    assert rows(run(store, "Heartbeat | count", engine))[0]["Count"] == 48
    store.append_logs(CID, "Heartbeat", [{"TimeGenerated": iso(0), "Computer": "late"}])
    assert rows(run(store, "Heartbeat | count", engine))[0]["Count"] == 49
    fresh = make_store()
    assert rows(run(fresh, "Heartbeat | count", engine))[0]["Count"] == 48


def test_custom_table_created_and_deleted_through_arm() -> None:
    store, engine = make_store(), LogsEngine()
    table = {"id": f"{WS}/tables/Jobs_CL", "name": "Jobs_CL", "type": "Microsoft.OperationalInsights/workspaces/tables",
             "properties": {"schema": {"name": "Jobs_CL", "columns": [{"name": "TimeGenerated", "type": "dateTime"},
                                                                     {"name": "Job", "type": "string"}]}}}
    store.put(table)
    store.append_logs(CID, "Jobs_CL", [{"TimeGenerated": iso(1), "Job": "backup"}])
    assert rows(run(store, "Jobs_CL | project Job", engine)) == [{"Job": "backup"}]
    store.delete(table["id"])
    with pytest.raises(QueryApiError) as err:
        run(store, "Jobs_CL | take 1", engine)
    assert "Jobs_CL" in inner(err.value)["message"]


def test_cross_workspace() -> None:
    got = rows(run(make_store(), "Heartbeat | summarize n = count() by TenantId | order by n desc",
                   workspaces=[(WS, CID), (WS2, CID2)]))
    assert got == [{"TenantId": CID, "n": 48}, {"TenantId": CID2, "n": 1}]


def test_row_limit_gives_a_partial_error() -> None:
    result = run(make_store(), "Heartbeat", max_rows=10)
    assert result.truncated and len(result.body["tables"][0]["rows"]) == 10
    error = result.body["error"]
    assert error["code"] == "PartialError"
    assert "exceed the set limit of 10 records" in error["details"][0]["innererror"]["message"]
    small = run(make_store(), "Heartbeat", max_bytes=2000)
    assert small.truncated and 0 < len(small.body["tables"][0]["rows"]) < 48


def test_statistics_and_render() -> None:
    result = run(make_store(), "Heartbeat | summarize count() by Computer | render piechart",
                 include_statistics=True, include_render=True)
    assert result.body["statistics"]["query"]["inputDatasetStatistics"]["rows"]["total"] == 48
    assert result.body["render"]["visualization"] == "piechart"


def test_concurrent_queries_on_one_workspace() -> None:
    store, engine = make_store(), LogsEngine()
    snap = engine.snapshot(store, [(WS, CID)])
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                body = engine.run(snap, "Heartbeat | summarize n = count()", now=NOW).body
                results.append(body["tables"][0]["rows"][0][0])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [48] * 30


def test_timeout_interrupts_the_query() -> None:
    query = ("range x from 1 to 30000 step 1 | extend k = 1 "
             "| join kind=inner (range y from 1 to 30000 step 1 | extend k = 1) on k | summarize count()")
    with pytest.raises(QueryApiError) as err:
        run(make_store(), query, timeout=0.2)
    assert err.value.status == 504 and err.value.code == "GatewayTimeout"


# -- errors, in the service's format ---------------------------------------------------------------------


def test_syntax_error_body() -> None:
    with pytest.raises(QueryApiError) as err:
        run(make_store(), "Heartbeat\n| where TimeGenerated > ago(1h")
    body = err.value.body()["error"]
    assert err.value.status == 400 and body["code"] == "BadArgumentError"
    assert body["message"] == "The request had some invalid properties" and body["correlationId"]
    assert body["innererror"]["code"] == "SyntaxError"
    detail = body["innererror"]["innererror"]
    assert detail["code"] == "SYN0002" and detail["line"] == 2 and detail["token"] == "<EOF>"
    assert detail["message"].startswith("Query could not be parsed at '<EOF>' on line [2,")


def test_unknown_word_after_pipe_is_the_syntax_error_token() -> None:
    with pytest.raises(QueryApiError) as err:
        run(make_store(), "Heartbeat | wherex Computer == 'a'")
    detail = inner(err.value)
    assert detail["token"] == "wherex" and detail["pos"] == 12


@pytest.mark.parametrize(("query", "expected"), [
    ("NoSuchTable | take 1", "'take' operator: Failed to resolve table or column expression named 'NoSuchTable'"),
    ("heartbeat | count", "Failed to resolve table or column expression named 'heartbeat'"),  # KQL is case-sensitive
    ("Heartbeat | where Nope == 1", "'where' operator: Failed to resolve column or scalar expression named 'Nope'"),
    ("Heartbeat | project Nope", "Failed to resolve scalar expression named 'Nope'"),
])
def test_semantic_errors(query: str, expected: str) -> None:
    with pytest.raises(QueryApiError) as err:
        run(make_store(), query)
    assert err.value.body()["error"]["innererror"]["code"] == "SemanticError"
    assert expected in inner(err.value)["message"]


@pytest.mark.parametrize(("query", "named"), [
    ("Heartbeat | make-series n = count() on TimeGenerated step 1h", "the 'make-series' operator"),
    ("Heartbeat | evaluate bag_unpack(ComputerPrivateIPs)", "'evaluate bag_unpack'"),
    ("Heartbeat | serialize | extend p = prev(Computer)", "the function 'prev()'"),
    ("Heartbeat | extend k = hash(Computer)", "the function 'hash()'"),
    ("search 'vm1'", "the 'search' operator"),
    # named as the user wrote them, not by the translator's grammar or an aggregate rule the query keeps
    ("Syslog | parse kind=regex flags=U SyslogMessage with Who ' from ' Rest",
     "this form of the 'parse kind=regex flags=U' operator"),
    ("Heartbeat | summarize First = tostring(make_list(Computer)[0]) by Category",
     "an expression around an aggregation in 'summarize'"),
    ("let f = view (n:long) {\n(Heartbeat | take n);\n};\nf(1)", "a function body that is a parenthesized query"),
])
def test_unsupported_kql_says_so(query: str, named: str) -> None:
    with pytest.raises(QueryApiError) as err:
        run(make_store(), query)
    message = inner(err.value)["message"]
    assert err.value.status == 400 and "does not support " + named in message and "emulator" in message


@pytest.mark.parametrize(("query", "expected"), [
    ("Heartbeat | where Computer == 'vm1' | as H | summarize n = count() | extend m = toscalar(H | count)",
     [{"n": 16, "m": 16}]),
    ("print r = extract_all(@'(?<user>\\w+)@(?<dom>[\\w.]+)', dynamic(['dom', 'user']), 'a@x.com b@y.org')",
     [{"r": '[["x.com","a"],["y.org","b"]]'}]),
    ("print a = parse_command_line('bitsadmin /transfer j \"C:\\\\a b\\\\c.txt\" http://h/f', 'windows') "
     "| project n = array_length(a), f = tostring(a[3])", [{"n": 5, "f": "C:\\a b\\c.txt"}]),
    ("datatable(k:string, v:long)['a', 1, 'b', 2, 'a', 3] | summarize b = make_bag(bag_pack(k, v)) "
     "| extend keys = bag_keys(b)", [{"b": '{"b":2,"a":3}', "keys": '["b","a"]'}]),
    ("datatable(k:string, v:long)['a', 1, 'b', 2, 'a', 3] | summarize l = make_list_if(v, k == 'a'), "
     "s = make_set_if(k, v > 1)", [{"l": "[1,3]", "s": '["a","b"]'}]),
    ("Heartbeat | take 1 | project x = column_ifexists('Nope', 'none'), c = column_ifexists('Computer', '')",
     [{"x": "none", "c": "vm0"}]),
    ("print d = 20min / 2", [{"d": "00:10:00"}]),
    ("print p = ipv4_is_private('10.1.2.3'), q = ipv4_is_private('8.8.8.8'), r = ipv4_is_private('nope')",
     [{"p": True, "q": False, "r": None}]),
    ("let names = Heartbeat | summarize make_list(Computer); Heartbeat | where Computer in (names) | count",
     [{"Count": 48}]),
    ("let f = (T:(Computer:string)) { T | summarize n = count() }; f(Heartbeat)", [{"n": 48}]),
    ("let t = 'Heartbeat'; let f = (name:string) { table(name) | count }; f(t)", [{"Count": 48}]),
    ("datatable(a:dynamic)[dynamic([1, 5, 9])] | mv-apply x = a to typeof(long) on (where x > 3) | project x",
     [{"x": 5}, {"x": 9}]),
    ("Heartbeat | take 1 | project _ItemId | project ok = isnotempty(_ItemId)", [{"ok": True}]),
])
def test_constructs_of_sentinel_content_run(query: str, expected: list[dict[str, Any]]) -> None:
    """What the rewrites and the functions added to duckdb-kql's registry make run (tests/sentinel_content)."""
    assert rows(run(make_store(), query)) == expected


def test_hidden_item_id_is_shown_only_when_named() -> None:
    assert "_ItemId" not in rows(run(make_store(), "Heartbeat | take 1"))[0]


@pytest.mark.parametrize("query", [".drop table Heartbeat", "// comment\n.set-or-append Heartbeat <| print 1",
                                   ".show tables"])
def test_management_commands_are_refused(query: str) -> None:
    store = make_store()
    with pytest.raises(QueryApiError) as err:
        run(store, query)
    assert err.value.status == 400 and "management commands" in inner(err.value)["message"]
    assert rows(run(store, "Heartbeat | count"))[0]["Count"] == 48


def test_type_mismatch_is_a_semantic_error() -> None:
    with pytest.raises(QueryApiError) as err:
        run(make_store(), "Heartbeat | where Computer == 1")
    assert err.value.body()["error"]["innererror"]["code"] == "SemanticError"


def test_cached_translation_still_uses_each_querys_own_now() -> None:
    """The same KQL text twice (translated once) must honour each run's clock in ago()."""
    store = make_store()
    query = "Heartbeat | where TimeGenerated > ago(2h) | summarize n = count()"
    engine = LogsEngine()
    assert rows(run(store, query, engine, now=NOW)) == [{"n": 2}]
    assert rows(run(store, query, engine, now=NOW + dt.timedelta(hours=30))) == [{"n": 0}]
