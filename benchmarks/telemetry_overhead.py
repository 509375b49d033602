"""Tool-call overhead of telemetry: tracing off, on without an exporter, and on with exporters.

One in-process server against the embedded emulator, called through an in-memory MCP client. Each round calls
the tool once in every mode, in turn (each mode's tracer and instruments, built once, swapped between calls), so
machine noise hits all modes alike; the figure is the median of the per-round differences to "off".

- off: no SDK (the OpenTelemetry API's no-op spans and no metrics: what a plain install runs);
- on, no exporter: the SDK records every span and metric and sends nothing (trace ids in logs and audit);
- on, exporters: OTLP over HTTP (batched spans, metrics every second) to a local sink on 127.0.0.1.

Tools: ``workspace_list`` (answered from the discovery cache: the cost of the call's span, metrics and KPIs
alone) and ``incident_get`` with the incident dropped from the read cache before each call (one ARM request:
plus one HTTP span and its metrics).

    python benchmarks/telemetry_overhead.py [--rounds 300] [--isolated 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that accepts everything (the collector's work is not ours to measure)."""

    received = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        Sink.received += 1
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def modes(sink: str) -> dict[str, tuple[Any, Any]]:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporting = TracerProvider()
    exporting.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{sink}/v1/traces")))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{sink}/v1/metrics"), export_interval_millis=1000)
    return {"off": (None, None), "on, no exporter": (TracerProvider(), MeterProvider()),
            "on, OTLP exporters": (exporting, MeterProvider(metric_readers=[reader]))}


def switcher(chosen: dict[str, tuple[Any, Any]]) -> Any:
    """``switch(mode)``: make that mode's tracer and instruments sentinelkit's. ``telemetry.use`` builds them again
    (a server does it once), which would be measured with each call; here each mode's are built once and swapped.
    (Off keeps the metrics API's no-op instruments, as when an application imported the API: a few microseconds
    more than a plain server, so the added cost shown is that much lower.)"""
    from sentinelkit import telemetry
    from sentinelkit.telemetry import metrics, spans

    built = {}
    for name, providers in chosen.items():
        telemetry.use(*providers)
        built[name] = (spans.tracer(), metrics.instruments())

    def switch(name: str) -> None:
        spans._tracer, metrics._instruments = built[name]

    return switch


async def measure(rounds: int, chosen: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, list[float]]]:
    from fastmcp import Client

    from sentinelkit import telemetry
    from sentinelkit.server import build_server, runtime_of
    from sentinelkit.settings import load_settings

    out: dict[str, dict[str, list[float]]] = {}
    for tool, arguments in (("workspace_list", {"tenant": "fabrikam"}), ("incident_get", None)):
        server = build_server(load_settings())
        runtime = runtime_of(server)
        async with Client(server) as client:
            stale = None
            if arguments is None:  # an incident of law-fabrikam-prod, read from ARM on every call
                listed = await client.call_tool("incident_list", {"workspace": "law-fabrikam-prod", "limit": 1})
                incident = listed.structured_content["incidents"][0]
                arguments = {"workspace": "law-fabrikam-prod", "incident_id": incident.get("id") or incident["name"]}
                marker = "/providers/Microsoft.SecurityInsights/incidents/"

                def stale(key: str, marker: str = marker) -> bool:
                    return marker in key
            for _ in range(20):  # warm: discovery, token, connections
                await client.call_tool(tool, arguments)
            times: dict[str, list[float]] = {name: [] for name in chosen}
            names = list(chosen)
            switch = switcher(chosen)
            cpu_times: dict[str, list[float]] = {name: [] for name in chosen}
            for index in range(rounds):
                for name in names[index % 3:] + names[:index % 3]:  # each mode first in turn
                    switch(name)
                    if stale is not None:
                        runtime.cache._drop(stale)  # the incident's read goes to ARM again
                    started, cpu = time.perf_counter(), time.process_time()
                    await client.call_tool(tool, arguments)
                    times[name].append((time.perf_counter() - started) * 1000)
                    cpu_times[name].append((time.process_time() - cpu) * 1000)
            telemetry.use()
            out[tool] = times
            out[f"{tool} (CPU time of the process, all threads: less sensitive to other processes)"] = cpu_times
    return out


class _Response:
    """What the policy reads of an answer."""

    status_code = 200
    headers = {"x-ms-request-id": "r", "x-ms-correlation-request-id": "c"}


class _Next:
    async def send(self, request: Any) -> Any:
        from azure.core.pipeline import PipelineResponse

        return PipelineResponse(request.http_request, _Response(), request.context)


def isolated(chosen: dict[str, tuple[Any, Any]], count: int) -> dict[str, dict[str, float]]:
    """sentinelkit's own telemetry work, without MCP, HTTP or the emulator: what one tool call (span, metrics,
    KPIs) and one Azure request attempt (span, metrics) cost, in microseconds (median of ``count``)."""
    from azure.core.pipeline import PipelineContext, PipelineRequest
    from azure.core.rest import HttpRequest

    from sentinelkit import telemetry
    from sentinelkit.azure.telemetry import TelemetryPolicy
    from sentinelkit.builtin import workspace_list
    from sentinelkit.call import ToolCall, running
    from sentinelkit.contract import spec_from
    from sentinelkit.runtime import Runtime
    from sentinelkit.settings import load_settings
    from sentinelkit.telemetry.calls import observe

    settings = load_settings()
    runtime = Runtime(settings)
    spec = spec_from(workspace_list, pack="core")
    policy = TelemetryPolicy("arm", settings)
    policy.next = _Next()  # type: ignore[assignment]
    url = ("https://management.azure.com/subscriptions/0b1c/resourceGroups/rg/providers/Microsoft.OperationalInsights/"
           "workspaces/law/providers/Microsoft.SecurityInsights/incidents/42?api-version=2025-09-01")

    async def attempt() -> None:
        request = PipelineRequest(HttpRequest("GET", url), PipelineContext(None, sentinelkit_tenant="fabrikam"))
        await policy.send(request)

    async def run() -> dict[str, dict[str, float]]:
        """On the event loop, as in the server: the KPIs file is then written a few seconds after calls, not
        during each one."""
        out: dict[str, dict[str, float]] = {}
        for name, providers in chosen.items():
            telemetry.use(*providers)
            calls, attempts = [], []
            for _ in range(count):
                call = ToolCall(spec, {}, caller="local:bench")
                started = time.perf_counter()
                with observe(call, runtime):
                    pass
                calls.append((time.perf_counter() - started) * 1e6)
                with running(call):
                    started = time.perf_counter()
                    await attempt()
                    attempts.append((time.perf_counter() - started) * 1e6)
            out[name] = {"tool call": statistics.median(calls), "Azure request attempt": statistics.median(attempts)}
        telemetry.use()
        runtime.stats_file.close()
        return out

    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=300, help="tool calls per mode through MCP (0: skip)")
    parser.add_argument("--isolated", type=int, default=20000, help="repetitions of the isolated measurement")
    args = parser.parse_args()
    from sentinelkit_devkit.emulator import emulator_environment

    from sentinelkit_emulator import Emulator

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sink = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp, Emulator() as emulator:
        os.environ.update(emulator_environment(emulator.info, Path(tmp)))
        os.chdir(tmp)
        chosen = modes(sink)
        results = asyncio.run(measure(args.rounds, chosen)) if args.rounds else {}
        alone = isolated(chosen, args.isolated)
        for tracer_provider, meter_provider in chosen.values():  # the last batches go out before the sink stops
            for provider in (tracer_provider, meter_provider):
                if provider is not None:
                    provider.shutdown()
    server.shutdown()
    print(f"sentinelkit's telemetry work alone (median of {args.isolated:,}, microseconds; the loop's own cost "
          "included)")
    for name, figures in alone.items():
        print(f"  {name:<20} " + "   ".join(f"{what} {value:7.1f} us" for what, value in figures.items()))
    print()
    print(f"{args.rounds} rounds, each mode once per round (ms per tool call)")
    for tool, times in results.items():
        print(f"\n{tool}")
        for name, values in times.items():
            added = statistics.median(v - o for v, o in zip(values, times["off"], strict=True))
            extra = "" if name == "off" else f"   added (median of paired differences) {added:+.3f} ms"
            print(f"  {name:<20} p50 {statistics.median(values):7.3f}   p95 "
                  f"{statistics.quantiles(values, n=20)[-1]:7.3f}{extra}")
    print(f"\nOTLP requests the sink received: {Sink.received}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
