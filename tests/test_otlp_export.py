"""OTLP export (issue 21) through the real exporters: a `sentinelkit call` process configured by `[telemetry]` in
sentinelkit.toml (OTLP over HTTP) or by the standard OTEL_* environment (OTLP over gRPC) sends the tool call's
trace and the metrics to a collector on 127.0.0.1, which decodes what it received."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sentinelkit_devkit.process import run_cli

pytest.importorskip("opentelemetry.exporter.otlp.proto.grpc", reason="sentinelkit[otel] is not installed")

from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as mpb  # noqa: E402
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as tpb  # noqa: E402


class Collector:
    """What an OTLP collector received: spans as (trace id, span id, parent id, name, attributes), metric names,
    the service names of the resources."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, str, str, dict[str, Any]]] = []
        self.metrics: set[str] = set()
        self.services: set[str] = set()
        self.lock = threading.Lock()

    def traces(self, request: Any) -> None:
        with self.lock:
            for resource_spans in request.resource_spans:
                self._service(resource_spans.resource)
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        attributes = {a.key: _value(a.value) for a in span.attributes}
                        self.spans.append((span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(),
                                           span.name, attributes))

    def metrics_of(self, request: Any) -> None:
        with self.lock:
            for resource_metrics in request.resource_metrics:
                self._service(resource_metrics.resource)
                for scope in resource_metrics.scope_metrics:
                    self.metrics.update(metric.name for metric in scope.metrics)

    def _service(self, resource: Any) -> None:
        self.services.update(_value(a.value) for a in resource.attributes if a.key == "service.name")


def _value(value: Any) -> Any:
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None


@pytest.fixture
def http_collector() -> Iterator[tuple[str, Collector]]:
    collector = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                request: Any = tpb.ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.traces(request)
                answer = tpb.ExportTraceServiceResponse()
            else:
                request = mpb.ExportMetricsServiceRequest()
                request.ParseFromString(body)
                collector.metrics_of(request)
                answer = mpb.ExportMetricsServiceResponse()
            data = answer.SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", collector
    server.shutdown()


@pytest.fixture
def grpc_collector() -> Iterator[tuple[str, Collector]]:
    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as mgrpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as tgrpc

    collector = Collector()

    class Traces(tgrpc.TraceServiceServicer):  # type: ignore[misc]
        def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - the service's name
            collector.traces(request)
            return tpb.ExportTraceServiceResponse()

    class Metrics(mgrpc.MetricsServiceServicer):  # type: ignore[misc]
        def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - the service's name
            collector.metrics_of(request)
            return mpb.ExportMetricsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    tgrpc.add_TraceServiceServicer_to_server(Traces(), server)
    mgrpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"http://127.0.0.1:{port}", collector
    server.stop(None)


def assert_the_call_arrived(collector: Collector, service: str) -> None:
    tool = [s for s in collector.spans if s[3] == "execute_tool incident_list"]
    assert len(tool) == 1, [s[3] for s in collector.spans]
    trace_id, span_id, _, _, attributes = tool[0]
    assert attributes["sentinelkit.outcome"] == "ok" and attributes["sentinelkit.workspaces"] == 1
    branch = [s for s in collector.spans if s[3] == "workspace law-fabrikam-prod"]
    assert len(branch) == 1 and branch[0][0] == trace_id and branch[0][2] == span_id
    http = [s for s in collector.spans if s[2] == branch[0][1] and s[3].startswith("GET /subscriptions/")]
    assert http and all(s[4]["sentinelkit.tenant"] == "fabrikam" for s in http)
    assert {"sentinelkit.tool.calls", "mcp.server.operation.duration", "http.client.request.duration"} <= \
        collector.metrics
    assert collector.services == {service}


def test_otlp_over_http_chosen_in_sentinelkit_toml(http_collector: tuple[str, Collector],
                                                   sentinelkit_env: dict[str, str], tmp_path: Path) -> None:
    endpoint, collector = http_collector
    config = tmp_path / "with-telemetry.toml"
    config.write_text(Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text() + (
        f'\n[telemetry]\nexporters = ["otlp"]\notlp_protocol = "http/protobuf"\notlp_endpoint = "{endpoint}"\n'))
    env = {**sentinelkit_env, "SENTINELKIT_CONFIG": str(config), "MCP_SERVER_NAME": "soc-sentinelkit"}
    done = run_cli("call", "incident_list", "--args", '{"workspace": "law-fabrikam-prod", "limit": 2}', env=env)
    assert done.returncode == 0, done.stderr
    assert_the_call_arrived(collector, "soc-sentinelkit")  # service.name: the server's name


def test_otlp_over_grpc_chosen_by_the_otel_environment(grpc_collector: tuple[str, Collector],
                                                      sentinelkit_env: dict[str, str]) -> None:
    endpoint, collector = grpc_collector
    env = {**sentinelkit_env, "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp",
           "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
           "OTEL_SERVICE_NAME": "sentinelkit-grpc"}
    done = run_cli("call", "incident_list", "--args", '{"workspace": "law-fabrikam-prod", "limit": 2}', env=env)
    assert done.returncode == 0, done.stderr
    assert_the_call_arrived(collector, "sentinelkit-grpc")
