"""Metrics through the OpenTelemetry API, named after the semantic conventions where they exist.

| name | kind | attributes |
|---|---|---|
| ``mcp.server.operation.duration`` (s) | histogram | ``mcp.method.name`` (``tools/call``), ``gen_ai.tool.name``, ``gen_ai.operation.name``, ``sentinelkit.pack``, ``sentinelkit.outcome``, ``error.type`` |
| ``sentinelkit.tool.calls`` | counter | ``gen_ai.tool.name``, ``sentinelkit.pack``, ``sentinelkit.outcome``, ``sentinelkit.safety`` |
| ``http.client.request.duration`` (s) | histogram | ``http.request.method``, ``http.response.status_code``, ``url.template``, ``server.address``, ``error.type``, ``sentinelkit.tenant``, ``sentinelkit.azure.service`` |
| ``sentinelkit.azure.requests`` | counter | ``http.response.status_code``, ``sentinelkit.tenant``, ``sentinelkit.azure.service`` |
| ``sentinelkit.azure.throttled`` | counter | 429 answers, ``sentinelkit.tenant`` |
| ``sentinelkit.azure.throttle.wait`` (s) | counter | time waited as Retry-After asked, ``sentinelkit.tenant`` |
| ``sentinelkit.cache.lookups`` | counter | ``sentinelkit.cache.result`` (``hit``/``miss``) |
| ``sentinelkit.confirmations.open`` | gauge | confirmations asked and not yet answered |

The meter is created on first use, and only when something can receive the values: sentinelkit's SDK set
up, providers handed to ``telemetry.use``, or an application that imported the metrics API (e.g. to set its
own provider). Otherwise nothing is recorded and the metrics API (30 ms to import) is never loaded.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import meter_provider

if TYPE_CHECKING:
    from ..call import Outcome, ToolCall

#: bucket boundaries the semantic conventions recommend (MCP operations; HTTP client requests)
MCP_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]
HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

#: sources of the open-confirmations gauge (one per server runtime), read when the gauge is collected
_open_confirmations: weakref.WeakSet[Any] = weakref.WeakSet()


class Instruments:
    def __init__(self, meter: Any) -> None:
        self.operation_duration = meter.create_histogram(
            "mcp.server.operation.duration", unit="s", explicit_bucket_boundaries_advisory=MCP_BUCKETS,
            description="Duration of the MCP tool calls the server handled (tools/call), from arguments to answer.")
        self.tool_calls = meter.create_counter(
            "sentinelkit.tool.calls", unit="{call}", description="Tool calls, by tool, pack and outcome.")
        self.http_duration = meter.create_histogram(
            "http.client.request.duration", unit="s", explicit_bucket_boundaries_advisory=HTTP_BUCKETS,
            description="Duration of each attempt of an Azure request (ARM, Log Analytics query API).")
        self.azure_requests = meter.create_counter(
            "sentinelkit.azure.requests", unit="{request}",
            description="Azure request attempts, by status and target tenant (status 0: no answer).")
        self.throttled = meter.create_counter(
            "sentinelkit.azure.throttled", unit="{response}", description="429 answers from Azure, by target tenant.")
        self.throttle_wait = meter.create_counter(
            "sentinelkit.azure.throttle.wait", unit="s",
            description="Time spent waiting before retrying because Azure's Retry-After asked for it, by tenant.")
        self.cache_lookups = meter.create_counter(
            "sentinelkit.cache.lookups", unit="{lookup}",
            description="Read-cache lookups, by result (hit or miss): the hit ratio is hits / lookups.")
        meter.create_observable_gauge(
            "sentinelkit.confirmations.open", callbacks=[_observe_open_confirmations], unit="{confirmation}",
            description="Confirmations asked (a preview or an elicitation) and not answered yet.")


_instruments: Instruments | None = None


def instruments() -> Instruments | None:
    """The instruments, or ``None`` while nothing could receive their values (see the module docstring)."""
    global _instruments
    if _instruments is None:
        provider = meter_provider()
        if provider is None and "opentelemetry.metrics" not in sys.modules:
            return None
        from opentelemetry import metrics

        from .. import __version__
        from .spans import SCOPE

        _instruments = Instruments((provider or metrics.get_meter_provider()).get_meter(SCOPE, __version__))
    return _instruments


def reset() -> None:
    global _instruments
    _instruments = None


def watch_confirmations(source: Callable[[], int]) -> None:
    """Count ``source()`` (an object with ``__call__``: a runtime's open confirmations) in the gauge."""
    _open_confirmations.add(source)


def unwatch_confirmations(source: Callable[[], int]) -> None:
    """A runtime closed: its confirmations no longer count."""
    _open_confirmations.discard(source)


def _observe_open_confirmations(options: Any) -> Iterable[Any]:
    from opentelemetry.metrics import Observation

    return [Observation(sum(source() for source in list(_open_confirmations)))]


def record_tool_call(call: ToolCall, outcome: Outcome, seconds: float, error_type: str | None) -> None:
    found = instruments()
    if found is None:
        return
    attributes: dict[str, Any] = {"gen_ai.tool.name": call.tool, "sentinelkit.pack": call.pack,
                                  "sentinelkit.outcome": outcome}
    found.tool_calls.add(1, {**attributes, "sentinelkit.safety": call.spec.safety.value})
    attributes.update({"mcp.method.name": "tools/call", "gen_ai.operation.name": "execute_tool"})
    if error_type:
        attributes["error.type"] = error_type
    found.operation_duration.record(seconds, attributes)


def record_azure_attempt(*, service: str, tenant: str, method: str, template: str, server: str, status: int,
                         seconds: float, error_type: str | None, waited: float | None) -> None:
    found = instruments()
    if found is None:
        return
    common = {"sentinelkit.tenant": tenant, "sentinelkit.azure.service": service}
    attributes: dict[str, Any] = {**common, "http.request.method": method, "url.template": template,
                                  "server.address": server}
    if status:
        attributes["http.response.status_code"] = status
    if error_type:
        attributes["error.type"] = error_type
    found.http_duration.record(seconds, attributes)
    found.azure_requests.add(1, {**common, "http.response.status_code": status})
    if status == 429:
        found.throttled.add(1, common)
    if waited:
        found.throttle_wait.add(waited, common)


def record_cache_lookup(hit: bool) -> None:
    found = instruments()
    if found is not None:
        found.cache_lookups.add(1, {"sentinelkit.cache.result": "hit" if hit else "miss"})
