"""The OpenTelemetry SDK and its exporters, as ``[telemetry]`` and the standard environment choose them.

Needs the ``sentinelkit[otel]`` extra, and imports it only when telemetry is configured: a server without
exporters starts exactly as before. Exporters, per signal (traces, metrics):

- ``otlp``: OTLP over HTTP (``http/protobuf``, the default) or gRPC, to ``OTEL_EXPORTER_OTLP_ENDPOINT``
  (or ``[telemetry] otlp_endpoint``); the other ``OTEL_EXPORTER_OTLP_*`` variables apply as usual;
- ``console``: one JSON document per span or metric batch on stderr (stdout carries MCP over stdio);
- ``azure_monitor``: Application Insights, through Microsoft's ``azure-monitor-opentelemetry-exporter``,
  to the ``IngestionEndpoint`` of the connection string (``APPLICATIONINSIGHTS_CONNECTION_STRING``).

``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` (comma lists, or ``none``) win over ``[telemetry]
exporters``; with neither, a connection string or an OTLP endpoint in the environment is enough.
``OTEL_SDK_DISABLED=true`` or ``[telemetry] enabled = false`` turn everything off.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..settings import ConfigError

if TYPE_CHECKING:
    from ..settings import Settings

EXPORTERS = ("otlp", "console", "azure_monitor")
CONNECTION_STRING_ENV = "APPLICATIONINSIGHTS_CONNECTION_STRING"
_OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                   "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")


@dataclass(frozen=True)
class Plan:
    """The exporters each signal uses (empty: the SDK runs, records ids, and sends nothing)."""

    traces: tuple[str, ...]
    metrics: tuple[str, ...]
    connection_string: str | None


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _names(value: str | None, default: list[str], source: str) -> tuple[str, ...]:
    if value is None or not value.strip():
        return tuple(default)
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    if names == ["none"]:
        return ()
    unknown = [n for n in names if n not in EXPORTERS]
    if unknown:
        raise ConfigError(f"environment variable {source}={value!r}: unknown exporter {unknown[0]!r}; use "
                          f"{', '.join(EXPORTERS)} or none")
    return tuple(dict.fromkeys(names))


def plan(settings: Settings, environ: Mapping[str, str] = os.environ) -> Plan | None:
    """Which exporters to build, or ``None`` when telemetry is not configured (see the module docstring)."""
    config = settings.telemetry
    if _true(environ.get("OTEL_SDK_DISABLED")) or config.enabled is False:
        return None
    connection = (environ.get(CONNECTION_STRING_ENV) or "").strip() or config.azure_monitor_connection_string
    default: list[str] = list(config.exporters)
    if not default:
        if connection:
            default.append("azure_monitor")
        if any((environ.get(name) or "").strip() for name in _OTLP_ENDPOINTS):
            default.append("otlp")
    traces = _names(environ.get("OTEL_TRACES_EXPORTER"), default, "OTEL_TRACES_EXPORTER")
    metrics = _names(environ.get("OTEL_METRICS_EXPORTER"), default, "OTEL_METRICS_EXPORTER")
    if not traces and not metrics and not config.enabled:
        return None
    if "azure_monitor" in (*traces, *metrics) and not connection:
        raise ConfigError(
            "telemetry: the azure_monitor exporter needs the Application Insights connection string: set "
            f"{CONNECTION_STRING_ENV} (the resource's Overview page in the Azure portal shows it) or "
            "[telemetry] azure_monitor_connection_string in sentinelkit.toml")
    return Plan(traces, metrics, connection)


class Telemetry:
    """The SDK's providers sentinelkit built; ``shutdown`` sends what is still buffered (once)."""

    def __init__(self, tracer_provider: Any, meter_provider: Any, plan: Plan) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.plan = plan
        self._done = False

    def shutdown(self) -> None:
        if self._done:
            return
        self._done = True
        for provider in (self.tracer_provider, self.meter_provider):
            try:
                provider.shutdown()
            except Exception:  # an exporter that cannot reach its endpoint must not fail the exit
                pass


def configure(settings: Settings, environ: Mapping[str, str] = os.environ, *, set_global: bool = True
              ) -> Telemetry | None:
    """Build the SDK's providers and exporters when telemetry is configured, make them sentinelkit's (and
    the process's global ones, for FastMCP's own spans), and return them; ``None`` when not configured."""
    chosen = plan(settings, environ)
    if chosen is None:
        return None
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise ConfigError("telemetry is configured ([telemetry] or the OTEL_* environment) but the OpenTelemetry "
                          "SDK is not installed: pip install 'sentinelkit[otel]'") from None
    if chosen.connection_string:
        from ..log import register_secret

        register_secret(chosen.connection_string)
    resource = _resource(settings, environ)
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    for name in chosen.traces:
        tracer_provider.add_span_processor(BatchSpanProcessor(_exporter("traces", name, chosen, settings, environ)))
    interval = None if environ.get("OTEL_METRIC_EXPORT_INTERVAL") else settings.telemetry.metric_export_interval * 1000
    readers = [PeriodicExportingMetricReader(_exporter("metrics", name, chosen, settings, environ),
                                             export_interval_millis=interval) for name in chosen.metrics]
    meter_provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
    if set_global:
        from opentelemetry import metrics, trace

        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
    from . import use

    use(tracer_provider, meter_provider)
    telemetry = Telemetry(tracer_provider, meter_provider, chosen)
    import atexit

    atexit.register(telemetry.shutdown)
    return telemetry


def _resource(settings: Settings, environ: Mapping[str, str]) -> Any:
    """service.name: ``OTEL_SERVICE_NAME`` (or ``OTEL_RESOURCE_ATTRIBUTES``), else the server's name."""
    from opentelemetry.sdk.resources import Resource

    from .. import __version__

    attributes: dict[str, Any] = {"service.version": __version__}
    named = environ.get("OTEL_SERVICE_NAME") or "service.name=" in environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    if not named:
        attributes["service.name"] = settings.server_name
    return Resource.create(attributes)


def _exporter(signal: str, name: str, chosen: Plan, settings: Settings, environ: Mapping[str, str]) -> Any:
    """One exporter of ``signal`` (``traces`` or ``metrics``)."""
    if name == "console":
        if signal == "traces":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            return ConsoleSpanExporter(out=sys.stderr)
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter(out=sys.stderr)
    if name == "azure_monitor":
        from azure.monitor.opentelemetry.exporter import AzureMonitorMetricExporter, AzureMonitorTraceExporter

        options: dict[str, Any] = {"connection_string": chosen.connection_string}
        if settings.ca_bundle:  # the CA sentinelkit trusts for Azure endpoints (the emulator's, offline)
            options["connection_verify"] = str(settings.ca_bundle)
        cls = AzureMonitorTraceExporter if signal == "traces" else AzureMonitorMetricExporter
        try:
            return cls(**options)
        except ValueError:  # the exporter parses the string here; its message would say nothing of where it came from
            raise ConfigError(
                "the Application Insights connection string (APPLICATIONINSIGHTS_CONNECTION_STRING or [telemetry] "
                "azure_monitor_connection_string) is not valid: copy it whole from the resource's Overview page "
                "in the portal ('InstrumentationKey=<guid>;IngestionEndpoint=https://...;...')") from None
    return _otlp(signal, settings, environ)


def _otlp(signal: str, settings: Settings, environ: Mapping[str, str]) -> Any:
    config = settings.telemetry
    protocol = (environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or config.otlp_protocol or "http/protobuf").strip()
    if protocol not in ("grpc", "http/protobuf"):
        raise ConfigError(f"telemetry: OTLP protocol {protocol!r} is not supported; use http/protobuf or grpc")
    options: dict[str, Any] = {}
    if config.otlp_endpoint and not any((environ.get(n) or "").strip() for n in _OTLP_ENDPOINTS):
        base = config.otlp_endpoint.rstrip("/")
        options["endpoint"] = base if protocol == "grpc" else f"{base}/v1/{signal}"
    if protocol == "grpc":
        if signal == "traces":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

            return Grpc(**options)
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics

        return GrpcMetrics(**options)
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

        return Http(**options)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetrics

    return HttpMetrics(**options)
