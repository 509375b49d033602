"""Observability (issue 21): the span tree of a fan-out call and of a failing call, the metrics and KPIs of a
scripted series of calls with 429s injected by the emulator, trace ids joining log lines and audit records,
nothing secret on a span, and `sentinelkit stats` reading a running server. Through a real MCP client
against the emulator, with the OpenTelemetry SDK's in-memory exporters."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastmcp import Client
from sentinelkit_devkit.process import run_cli

pytest.importorskip("opentelemetry.sdk", reason="the OpenTelemetry SDK (sentinelkit[otel]) is not installed")

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

INCIDENTS = ("GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
             "Microsoft.OperationalInsights/workspaces/{name}/providers/Microsoft.SecurityInsights/incidents")


@pytest.fixture
def otel() -> Iterator[SimpleNamespace]:
    """sentinelkit's spans and metrics into the SDK's in-memory exporter and reader (not the global providers)."""
    from sentinelkit import telemetry

    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    telemetry.use(tracer_provider, MeterProvider(metric_readers=[reader]))
    yield SimpleNamespace(spans=spans, reader=reader)
    telemetry.use()


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return result.structured_content  # type: ignore[no-any-return]


def named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def everything_said(spans: list[ReadableSpan]) -> str:
    """Every name, attribute and event of the spans, as one text to search for what must not be there."""
    return json.dumps([[s.name, dict(s.attributes or {}), [(e.name, dict(e.attributes or {})) for e in s.events],
                        s.status.description] for s in spans], default=str)


def metric_points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    out: dict[str, list[Any]] = {}
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                out.setdefault(metric.name, []).extend(metric.data.data_points)
    return out


def total(points: list[Any], **attributes: Any) -> float:
    """The sum (counters) or count (histograms) of the points whose attributes include ``attributes``."""
    chosen = [p for p in points if all(p.attributes.get(k) == v for k, v in attributes.items())]
    return sum(getattr(p, "count", None) if hasattr(p, "bucket_counts") else p.value for p in chosen)


async def test_the_span_tree_of_a_fan_out_call(otel: SimpleNamespace, mcp_client: Client, emulator_faults: Any) -> None:
    emulator_faults.add_fault(match={"tenant": "northwind", "path": "/incidents$"}, status=403)
    answer = ok(await mcp_client.call_tool("incident_list", {"workspaces": "all", "limit": 1}))
    spans = list(otel.spans.get_finished_spans())
    call = named(spans, "execute_tool incident_list")
    branches = [s for s in children(spans, call) if s.name.startswith("workspace ")]
    labels = sorted(s.attributes["sentinelkit.workspace"] for s in branches)
    assert labels == sorted(set(labels)) and len(labels) == call.attributes["sentinelkit.workspaces"] >= 4
    assert set(answer["errors"]) < set(labels)  # every target is one child, failed or not
    assert call.attributes["gen_ai.tool.name"] == "incident_list" and call.attributes["sentinelkit.pack"] == "incidents"
    assert call.attributes["sentinelkit.outcome"] == "partial" and call.attributes["sentinelkit.workspaces.failed"] == 1
    assert call.attributes["sentinelkit.tenants"] >= 4 and call.attributes["enduser.id"].startswith("local:")
    failed = [s for s in branches if s.status.status_code is StatusCode.ERROR]
    assert [s.attributes["sentinelkit.tenant"] for s in failed] == ["northwind"]
    assert set(answer["errors"]) == {failed[0].attributes["sentinelkit.workspace"]}
    for branch in branches:  # each workspace's Azure requests are its children
        requests = [s for s in children(spans, branch) if s.kind is SpanKind.CLIENT]
        assert requests and all(s.name == INCIDENTS for s in requests), [s.name for s in requests]
        statuses = {s.attributes["http.response.status_code"] for s in requests}
        assert statuses == ({403} if branch in failed else {200})
        assert all(s.attributes["sentinelkit.azure.correlation_id"] for s in requests)
    refused = children(spans, failed[0])[0]
    assert refused.attributes["error.type"] == "403" and refused.status.status_code is StatusCode.ERROR
    said = everything_said(spans)
    for ws in emulator_faults.info["workspaces"]:  # templates: no subscription or workspace ids on any span
        assert ws["id"].split("/")[2] not in said and ws["customer_id"] not in said


async def test_the_span_tree_of_a_failing_call_keeps_secrets_out(otel: SimpleNamespace, mcp_client: Client,
                                                                 sentinelkit_env: dict[str, str]) -> None:
    secret = sentinelkit_env["AZURE_CLIENT_SECRET"]
    result = await mcp_client.call_tool("incident_get", {"workspace": "law-fabrikam-prod", "incident_id": secret},
                                        raise_on_error=False)
    assert result.is_error
    spans = list(otel.spans.get_finished_spans())
    call = named(spans, "execute_tool incident_get")
    assert call.status.status_code is StatusCode.ERROR and call.attributes["sentinelkit.outcome"] == "error"
    assert call.attributes["error.type"] and [e.name for e in call.events] == ["exception"]
    assert call.attributes["sentinelkit.workspaces"] == 1 and call.attributes["sentinelkit.tenants"] == 1
    requests = [s for s in children(spans, call) if s.kind is SpanKind.CLIENT and s.name.startswith(INCIDENTS)]
    assert [s.attributes["http.response.status_code"] for s in requests] == [404]  # (discovery's are beside it)
    assert requests[0].name == INCIDENTS + "/{name}" and requests[0].attributes["error.type"] == "404"
    said = everything_said(spans)
    assert secret not in said and "***" in said  # the message says what failed, with the secret masked


async def test_query_text_is_recorded_only_when_configured_and_redacted(
        otel: SimpleNamespace, make_server: Callable[..., Any], sentinelkit_env: dict[str, str], tmp_path: Path) -> None:
    secret = sentinelkit_env["AZURE_CLIENT_SECRET"]
    query = f'SecurityIncident | where Title == "{secret}" | take 1'
    expected = 'SecurityIncident | where Title == "***" | take 1'
    for record, config in ((False, None), (True, _config(sentinelkit_env, tmp_path, "record_queries = true"))):
        otel.spans.clear()
        async with Client(make_server(config=config)) as client:
            ok(await client.call_tool("logs_query", {"query": query, "workspaces": ["law-fabrikam-prod"]}))
        queries = [s for s in otel.spans.get_finished_spans() if s.name == "POST /v1/workspaces/{workspaceId}/query"]
        assert len(queries) == 1
        text = queries[0].attributes.get("db.query.text")
        assert (text is not None and text.startswith(expected)) if record else text is None, text


def _config(env: dict[str, str], tmp_path: Path, telemetry: str) -> Path:
    path = tmp_path / "telemetry.toml"
    path.write_text(Path(env["SENTINELKIT_CONFIG"]).read_text() + f"\n[telemetry]\n{telemetry}\n")
    return path


async def test_metrics_and_kpis_after_a_scripted_series_of_calls(otel: SimpleNamespace, mcp_client: Client,
                                                                 emulator_faults: Any) -> None:
    emulator_faults.add_fault(match={"tenant": "fabrikam", "path": "/incidents$", "method": "GET"}, status=429,
                              retry_after=1, count=2)
    for _ in range(2):
        ok(await mcp_client.call_tool("workspace_list", {}))
    listed = ok(await mcp_client.call_tool("incident_list", {"workspace": "law-fabrikam-prod", "status": "New",
                                                             "limit": 1}))
    incident = listed["incidents"][0]["id"] if "id" in listed["incidents"][0] else listed["incidents"][0]["name"]
    missing = await mcp_client.call_tool("incident_get", {"workspace": "law-fabrikam-prod", "incident_id": "missing"},
                                         raise_on_error=False)
    assert missing.is_error
    close = {"workspace": "law-fabrikam-prod", "incident_id": incident, "classification": "BenignPositive"}
    assert ok(await mcp_client.call_tool("incident_close", close))["confirmation_required"]

    points = metric_points(otel.reader)
    calls = points["sentinelkit.tool.calls"]
    assert total(calls, **{"gen_ai.tool.name": "workspace_list", "sentinelkit.outcome": "ok"}) == 2
    assert total(calls, **{"gen_ai.tool.name": "incident_list", "sentinelkit.outcome": "ok"}) == 1
    assert total(calls, **{"gen_ai.tool.name": "incident_get", "sentinelkit.outcome": "error"}) == 1
    assert total(calls, **{"gen_ai.tool.name": "incident_close", "sentinelkit.outcome": "preview",
                           "sentinelkit.safety": "destructive", "sentinelkit.pack": "incidents"}) == 1
    durations = points["mcp.server.operation.duration"]
    assert total(durations, **{"mcp.method.name": "tools/call"}) == 5
    assert total(durations, **{"gen_ai.tool.name": "incident_get"}) == 1
    assert [p.attributes.get("error.type") for p in durations if p.attributes["gen_ai.tool.name"] == "incident_get"]
    assert total(points["sentinelkit.azure.throttled"], **{"sentinelkit.tenant": "fabrikam"}) == 2
    assert total(points["sentinelkit.azure.throttle.wait"], **{"sentinelkit.tenant": "fabrikam"}) == 2.0
    assert total(points["sentinelkit.azure.requests"],
                 **{"sentinelkit.tenant": "fabrikam", "http.response.status_code": 429}) == 2
    assert total(points["http.client.request.duration"], **{"http.response.status_code": 429}) == 2
    assert total(points["http.client.request.duration"],
                 **{"http.response.status_code": 404, "sentinelkit.tenant": "fabrikam"}) == 1
    assert total(points["sentinelkit.confirmations.open"]) == 1
    lookups = points["sentinelkit.cache.lookups"]
    hits, misses = total(lookups, **{"sentinelkit.cache.result": "hit"}), total(
        lookups, **{"sentinelkit.cache.result": "miss"})
    assert misses > 0

    stats = ok(await mcp_client.call_tool("server_stats", {}))
    rows = {(r["tool"], r["tenant"]): r for r in stats["tools"]}
    assert rows[("workspace_list", None)]["last_hour"] | {"avg_ms": 0, "p50_ms": 0, "p95_ms": 0} == {
        "calls": 2, "success_rate": 1.0, "error_rate": 0.0, "avg_ms": 0, "p50_ms": 0, "p95_ms": 0, "breached": []}
    failing = rows[("incident_get", "fabrikam")]["since_start"]
    assert (failing["calls"], failing["error_rate"], failing["breached"]) == (1, 1.0, ["error_rate"])
    assert any(b.startswith("incident_get (all tenants), last hour: error rate 100.0% > 5%") for b in stats["breaches"])
    assert rows[("incident_close", "fabrikam")]["last_hour"]["success_rate"] == 1.0  # a preview is an answer
    fabrikam = next(a for a in stats["azure"] if a["tenant"] == "fabrikam")["last_hour"]
    assert (fabrikam["throttled"], fabrikam["retry_after_wait_seconds"], fabrikam["by_status"]["429"]) == (2, 2.0, 2)
    assert stats["cache"]["hits"] == hits and stats["cache"]["misses"] == misses
    assert stats["confirmations_open"] == 1

    ok(await mcp_client.call_tool("incident_close", {**close, "dry_run": True}))  # the answer to the preview
    assert total(metric_points(otel.reader)["sentinelkit.confirmations.open"]) == 0


async def test_log_lines_and_audit_records_carry_the_trace(otel: SimpleNamespace, mcp_client: Client,
                                                           audit_records: Callable[[], list[dict[str, Any]]],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from sentinelkit.log import configure

    configure("DEBUG")
    try:
        listed = ok(await mcp_client.call_tool("incident_list", {"workspace": "law-tailspin", "limit": 1}))
        incident = listed["incidents"][0].get("id") or listed["incidents"][0]["name"]
        ok(await mcp_client.call_tool("incident_update", {"workspace": "law-tailspin", "incident_id": incident,
                                                          "severity": "Low", "dry_run": True}))
    finally:
        configure("INFO")
    call = named(list(otel.spans.get_finished_spans()), "execute_tool incident_update")
    trace_id, span_id = format(call.context.trace_id, "032x"), format(call.context.span_id, "016x")
    record = audit_records()[-1]
    assert (record["tool"], record["outcome"], record["trace_id"], record["span_id"]) == (
        "incident_update", "dry_run", trace_id, span_id)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "azure_request" and line.get("trace_id") == trace_id]
    assert requests and all(line["span_id"] == span_id for line in requests)


async def test_sentinelkit_stats_reads_the_running_servers_kpis(make_server: Callable[..., Any], tmp_path: Path,
                                                                 sentinelkit_env: dict[str, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(sentinelkit_env, tmp_path, "stats_interval = 0.1")
    monkeypatch.setenv("SENTINELKIT_CONFIG", str(config))
    stats_dir = tmp_path / "stats"
    async with Client(make_server()) as client:
        ok(await client.call_tool("workspace_list", {"tenant": "fabrikam"}))
        assert (await client.call_tool("incident_get", {"workspace": "law-fabrikam-prod", "incident_id": "missing"},
                                       raise_on_error=False)).is_error
        mine = stats_dir / f"{os.getpid()}.json"
        deadline = time.monotonic() + 30
        while not (mine.exists() and '"incident_get"' in mine.read_text()) and time.monotonic() < deadline:
            await _sleep(0.05)
        env = {**sentinelkit_env, "SENTINELKIT_CONFIG": str(config)}
        text = run_cli("stats", env=env)
        checked = run_cli("stats", "--check", "--json", "--tool", "incident_get", env=env)
    assert text.returncode == 0, text.stderr
    assert "incident_get" in text.stdout and "workspace_list" in text.stdout and "100.0% !" in text.stdout
    assert "BREACHED" in text.stdout and "incident_get (all tenants), last hour: error rate 100.0% > 5%" in text.stdout
    assert checked.returncode == 2, checked.stderr
    servers = json.loads(checked.stdout)["servers"]
    mine_only = [s for s in servers if s["server"]["pid"] == os.getpid()]
    assert [r["tool"] for r in mine_only[0]["tools"]] == ["incident_get", "incident_get"]
    assert not (stats_dir / f"{os.getpid()}.json").exists()  # removed when the server stopped
    after = run_cli("stats", env=env)
    assert after.returncode == 0 and "no running sentinelkit server has stats" in after.stdout


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
