"""What every tool call leaves behind besides its answer and audit record: its span, its metrics and its
place in the server's KPIs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from . import metrics, spans

if TYPE_CHECKING:
    from ..call import Outcome, ToolCall
    from ..runtime import Runtime


def outcome_of(call: ToolCall) -> Outcome:
    """How the call ended, for telemetry: ``ok`` for an answer of a read-only tool (``partial`` when some of its
    targets failed), the audit's outcome otherwise."""
    if call.outcome is not None or call.spec.safety.writes:
        return call.final_outcome()
    return "partial" if call.failures else "ok"


@contextmanager
def observe(call: ToolCall, runtime: Runtime) -> Iterator[None]:
    """Run the call inside its span; when it ends, record its outcome, duration and Azure requests."""
    started = time.perf_counter()
    with spans.tool_span(call) as span:
        error: BaseException | None = None
        try:
            yield
        except BaseException as exc:
            error = exc
            raise
        finally:
            seconds = time.perf_counter() - started
            if error is not None and call.outcome is None:
                call.end("error", f"{type(error).__name__}")  # cancelled, or a failure the wrapper did not map
            outcome = outcome_of(call)
            spans.end_tool_span(span, call, outcome, error)
            error_type = (type(error).__qualname__ if error is not None else outcome) \
                if outcome in spans.FAILED_OUTCOMES else None
            metrics.record_tool_call(call, outcome, seconds, error_type)
            runtime.stats.record_call(call, outcome, seconds)
            runtime.stats_file.touch()


def cache_lookup(hit: bool) -> None:
    """A read-cache lookup: counted for the hit ratio (metric, and the current call's tally for the KPIs)."""
    from ..call import current_call

    metrics.record_cache_lookup(hit)
    call = current_call()
    if call is not None:
        call.tally.cache(hit)
