"""Turning a pack's ``ToolSpec`` into a FastMCP tool.

The pack's function is ``async def name(kit, ...)``. The MCP-facing signature drops ``kit``, adds
``dry_run`` (every write) and ``confirm`` (destructive), and takes FastMCP's ``Context``; the call
runs the body with a ``Kit``, maps expected failures to clear tool errors, hides unexpected ones
behind a short message (the traceback goes to the log), and audits every write.
"""

from __future__ import annotations

import inspect
import typing
from typing import Annotated, Any

from fastmcp.exceptions import ToolError
from fastmcp.server.context import Context
from fastmcp.tools import Tool
from mcp.types import ToolAnnotations
from pydantic import Field

from .audit import CORRELATION_IDS, WRITE_GATE, WriteGate
from .contract import Safety, ToolSpec
from .errors import KitError
from .kit import Kit
from .log import logger, redact, redact_text
from .safety import Outcome

_DRY_RUN = Annotated[bool, Field(description="Show exactly what would change, and change nothing.")]
_CONFIRM = Annotated[bool, Field(description="Apply after reviewing the preview, when the client cannot ask the user "
                                             "(a client that can is always asked).")]


def _signature(spec: ToolSpec) -> tuple[inspect.Signature, dict[str, Any], set[str]]:
    fn = spec.fn
    hints = typing.get_type_hints(fn, include_extras=True)
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if not params or params[0].name != "kit":
        raise TypeError(f"tool {spec.name!r} (pack {spec.pack!r}): the first parameter must be `kit`")
    out: list[inspect.Parameter] = []
    for p in params[1:]:
        out.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints.get(p.name, p.annotation)))
    names = {p.name for p in out}
    added: set[str] = set()
    if spec.safety.writes and "dry_run" not in names:
        out.append(inspect.Parameter("dry_run", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=_DRY_RUN))
        added.add("dry_run")
    if spec.safety is Safety.DESTRUCTIVE and "confirm" not in names:
        out.append(inspect.Parameter("confirm", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=_CONFIRM))
        added.add("confirm")
    out.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    annotations = {p.name: p.annotation for p in out}
    annotations["return"] = Any
    return sig.replace(parameters=out, return_annotation=Any), annotations, added


def _annotations(spec: ToolSpec) -> ToolAnnotations:
    return ToolAnnotations(title=spec.title, **spec.safety.annotations())


def _tags(spec: ToolSpec) -> set[str]:
    return {spec.safety.tag, f"pack:{spec.pack}", *spec.tags}


def _meta(spec: ToolSpec) -> dict[str, Any]:
    return {"sentinelkit": {"pack": spec.pack, "safety": spec.safety.value}}


def build_tool_cached(spec: ToolSpec, runtime: Any, cache: Any) -> Tool:
    """The tool from the schema cache when it is there (built on first call), else built now."""
    from .schemacache import DeferredTool, spec_key

    key = spec_key(spec)
    hit = cache.get(key)
    if hit is None:
        tool = build_tool(spec, runtime)
        cache.put(key, tool)
        return tool
    deferred = DeferredTool(name=spec.name, title=spec.title, description=hit["description"],
                            parameters=hit["parameters"], tags=_tags(spec), annotations=_annotations(spec),
                            meta=_meta(spec), output_schema=None, timeout=spec.timeout)
    deferred._build = lambda: build_tool(spec, runtime)
    return deferred


def build_tool(spec: ToolSpec, runtime: Any) -> Tool:
    signature, annotations, added = _signature(spec)

    async def call(**kwargs: Any) -> Any:
        ctx = kwargs.pop("ctx", None)
        dry_run = kwargs.pop("dry_run", False) if "dry_run" in added else bool(kwargs.get("dry_run", False))
        confirm = kwargs.pop("confirm", False) if "confirm" in added else kwargs.get("confirm") is True
        kit = Kit(runtime, tool=spec.name, safety=spec.safety, ctx=ctx, dry_run=dry_run, confirm=confirm)
        return await run(spec, kit, kwargs, runtime)

    call.__signature__ = signature  # type: ignore[attr-defined]
    call.__annotations__ = annotations
    call.__name__ = spec.name
    call.__qualname__ = spec.name
    call.__doc__ = spec.fn.__doc__
    call.__module__ = spec.fn.__module__
    return Tool.from_function(
        call,
        name=spec.name,
        title=spec.title,
        tags=_tags(spec),
        annotations=_annotations(spec),
        output_schema=None,
        timeout=spec.timeout,
        meta=_meta(spec),
    )


async def run(spec: ToolSpec, kit: Kit, arguments: dict[str, Any], runtime: Any) -> Any:
    """Run the body; audit writes; turn failures into tool errors that say what to do."""
    correlation: list[str] = []
    token = CORRELATION_IDS.set(correlation)
    gate = WriteGate(spec.name, spec.pack, spec.safety.writes)
    kit.write_gate = gate
    gate_token = WRITE_GATE.set(gate)
    outcome = "applied"
    error: str | None = None
    try:
        result = await spec.fn(kit, **arguments)
        if kit.reported_outcome is not None:
            outcome, detail = kit.reported_outcome
            error = redact_text(detail) if detail else None
        return result
    except Outcome as done:
        outcome = done.outcome
        return done.result
    except KitError as exc:
        outcome, error = "error", redact_text(str(exc))
        raise ToolError(f"{spec.name}: {error}") from None
    except ToolError as exc:
        outcome, error = "error", redact_text(str(exc))
        raise
    except Exception as exc:
        outcome, error = "error", f"{type(exc).__name__}: {redact_text(str(exc))}"
        logger().error("tool_failed", tool=spec.name, pack=spec.pack, error=error, exc_info=True)
        raise ToolError(
            f"{spec.name} failed unexpectedly ({error}). This is a bug in pack {spec.pack!r}, not in your request; "
            "the server keeps running and the details are in its log. Try another tool or report it to the pack's authors."
        ) from None
    finally:
        CORRELATION_IDS.reset(token)
        WRITE_GATE.reset(gate_token)
        if spec.safety.writes and outcome != "input_required":
            targets = kit.targets
            runtime.audit.write(
                tool=spec.name,
                pack=spec.pack,
                safety=spec.safety.value,
                tenant=", ".join(sorted({t.tenant or t.tenant_id or "?" for t in targets})) or None,
                workspace=", ".join(t.label for t in targets) or None,
                arguments=redact(arguments),
                dry_run=kit.dry_run,
                outcome=outcome,
                confirmed_by=kit.confirmed_by,
                error=error,
                correlation_ids=correlation,
            )
