"""Traces, metrics and the service's own KPIs.

The core speaks only the OpenTelemetry API (``spans``, ``metrics``): without an SDK every span and metric is
a no-op that costs microseconds and imports nothing new. ``setup`` (the ``sentinelkit[otel]`` extra) builds
the SDK and the exporters that ``[telemetry]`` or the ``OTEL_*`` environment choose; ``kpi`` keeps the KPIs
``server_stats`` and ``sentinelkit stats`` show, with no SDK at all.

sentinelkit records to the global OpenTelemetry providers unless ``use`` hands it others (an application
embedding the server, or a test with the SDK's in-memory exporters).
"""

from __future__ import annotations

from typing import Any

_providers: dict[str, Any] = {"traces": None, "metrics": None}


def use(tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Record sentinelkit's spans and metrics with these providers (``None``: the global ones again)."""
    from . import metrics, spans

    _providers["traces"] = tracer_provider
    _providers["metrics"] = meter_provider
    spans.reset()
    metrics.reset()


def tracer_provider() -> Any:
    """The provider ``use`` set, else ``None`` (the global one)."""
    return _providers["traces"]


def meter_provider() -> Any:
    return _providers["metrics"]
