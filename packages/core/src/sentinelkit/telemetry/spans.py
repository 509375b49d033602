"""Spans through the OpenTelemetry API: one per tool call (``execute_tool <tool>``, GenAI semantic
conventions), one per workspace of a fan-out, one per attempt of an Azure request (``azure.telemetry``),
and what packs open with ``sentinelkit.span`` (the PowerShell bridge).

Nothing secret goes on a span: no arguments, URLs as templates, error messages redacted like the logs.
Without an SDK the spans record nothing (and still carry a trace context a client sent).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from . import tracer_provider

if TYPE_CHECKING:
    from ..call import Outcome, ToolCall
    from ..workspaces import Workspace

#: the instrumentation scope of every span and metric of sentinelkit
SCOPE = "sentinelkit"
#: outcomes that mark a tool call's span as failed
FAILED_OUTCOMES = frozenset({"error", "failed"})
Kind = Literal["internal", "client", "server", "producer", "consumer"]
_KINDS = {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT, "server": SpanKind.SERVER,
          "producer": SpanKind.PRODUCER, "consumer": SpanKind.CONSUMER}

_tracer: trace.Tracer | None = None


def tracer() -> trace.Tracer:
    """sentinelkit's tracer: from the provider ``telemetry.use`` set, else the global one."""
    global _tracer
    if _tracer is None:
        from .. import __version__

        provider = tracer_provider() or trace.get_tracer_provider()
        _tracer = provider.get_tracer(SCOPE, __version__)
    return _tracer


def reset() -> None:
    global _tracer
    _tracer = None


def recording() -> bool:
    """Whether spans can record at all (an SDK's provider is set). Without one, the spans made per workspace
    and per Azure request are skipped: a context switch each for nothing (the current trace context stays)."""
    provider = tracer_provider() or trace.get_tracer_provider()
    return not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


def current_ids() -> dict[str, str]:
    """``{"trace_id", "span_id"}`` (hex, as OpenTelemetry backends show them) of the current span; empty
    outside any trace. Logs and audit records carry them, to be joined with the trace."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}


def fail(span: Span, exc: BaseException, *, error_type: str | None = None) -> None:
    """Mark ``span`` failed by ``exc``: its type and its message, redacted (no stack: the log has it)."""
    if not span.is_recording():
        return
    from ..log import redact_text

    kind = error_type or type(exc).__qualname__
    message = redact_text(str(exc))[:2000]
    span.set_attribute("error.type", kind)
    span.add_event("exception", {"exception.type": type(exc).__qualname__, "exception.message": message})
    span.set_status(Status(StatusCode.ERROR, message[:300]))


@contextmanager
def span(name: str, *, kind: Kind = "internal", attributes: Mapping[str, AttributeValue] | None = None
         ) -> Iterator[Span]:
    """A span of the current trace (the tool call's, when a tool runs): a pack's own unit of work, e.g. a
    PowerShell function run by the bridge. An exception marks it failed (type and redacted message) and
    goes on. Put no secrets, arguments or resource ids in ``attributes``."""
    if not recording():
        yield trace.INVALID_SPAN
        return
    with tracer().start_as_current_span(name, kind=_KINDS[kind], attributes=dict(attributes or {}),
                                        record_exception=False, set_status_on_exception=False) as current:
        try:
            yield current
        except BaseException as exc:
            fail(current, exc)
            raise


@contextmanager
def tool_span(call: ToolCall) -> Iterator[Span]:
    """The span of one tool call (GenAI ``execute_tool``); ``end_tool_span`` completes it."""
    attributes: dict[str, AttributeValue] = {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.tool, "gen_ai.tool.type": "function",
        "sentinelkit.pack": call.pack, "sentinelkit.safety": call.spec.safety.value,
        "sentinelkit.dry_run": call.dry_run,
    }
    if call.caller:
        attributes["enduser.id"] = call.caller
    with tracer().start_as_current_span(f"execute_tool {call.tool}", kind=SpanKind.INTERNAL, attributes=attributes,
                                        record_exception=False, set_status_on_exception=False) as current:
        yield current


def end_tool_span(current: Span, call: ToolCall, outcome: Outcome, error: BaseException | None) -> None:
    """What the call did, once it ended: outcome, targets, confirmation, Azure requests, the error."""
    if not current.is_recording():
        return
    tally = call.tally
    attributes: dict[str, AttributeValue] = {
        "sentinelkit.outcome": outcome,
        "sentinelkit.workspaces": len(call.targets),
        "sentinelkit.tenants": len({ws.tenant_label for ws in call.targets}),
        "sentinelkit.workspaces.failed": len(call.failures),
        "sentinelkit.confirm": call.confirm,
        "sentinelkit.azure.requests": tally.total_requests,
        "sentinelkit.azure.throttled": sum(tally.throttled.values()),
        "sentinelkit.azure.throttle_wait": round(sum(tally.waited.values()), 3),
    }
    if call.confirmed_by:
        attributes["sentinelkit.confirmed_by"] = call.confirmed_by
    current.set_attributes(attributes)
    if outcome in FAILED_OUTCOMES:
        from ..log import redact_text

        detail = redact_text(call.detail or (str(error) if error else outcome))
        current.set_attribute("error.type", type(error).__qualname__ if error is not None else outcome)
        current.add_event("exception", {"exception.type": "ToolError", "exception.message": detail[:2000]})
        current.set_status(Status(StatusCode.ERROR, detail[:300]))


@contextmanager
def workspace_span(ws: Workspace) -> Iterator[Span]:
    """One branch of a fan-out: the workspace and its tenant (names, not ids)."""
    if not recording():
        yield trace.INVALID_SPAN
        return
    attributes: dict[str, AttributeValue] = {"sentinelkit.workspace": ws.label, "sentinelkit.tenant": ws.tenant_label}
    with tracer().start_as_current_span(f"workspace {ws.label}", kind=SpanKind.INTERNAL, attributes=attributes,
                                        record_exception=False, set_status_on_exception=False) as current:
        yield current
