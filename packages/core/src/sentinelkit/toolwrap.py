"""Turning a pack's ``ToolSpec`` into a FastMCP tool.

The pack's function is ``async def name(kit, ...)``. The MCP-facing signature drops ``kit``, adds
``dry_run`` (every write) and ``confirm`` (destructive), and takes FastMCP's ``Context``; the call
runs the body with a ``Kit``, maps expected failures to clear tool errors, hides unexpected ones
behind a short message (the traceback goes to the log), and audits every write. The listing is lean
(``leanschema``): what a client pays for in its context window carries meaning.
"""

from __future__ import annotations

import functools
import getpass
import inspect
import typing
from typing import TYPE_CHECKING, Annotated, Any

from fastmcp.exceptions import ToolError
from fastmcp.server.context import Context
from fastmcp.tools import FunctionTool, Tool
from mcp.types import ToolAnnotations
from pydantic import Field

from .call import ToolCall, running
from .contract import ToolSpec
from .errors import KitError
from .kit import Kit
from .leanschema import ListedAs, lean_description, lean_parameters
from .log import logger, redact_text
from .policy import PolicyRefused
from .safety import Finished

if TYPE_CHECKING:
    from .runtime import Runtime

# strict: only JSON true/false; "yes", "1" or 1 are refused rather than read as a confirmation. Undescribed: the
# server's instructions explain them once (leanschema.SHARED_ARGUMENTS)
_DRY_RUN = Annotated[bool, Field(strict=True)]
_CONFIRM = Annotated[bool, Field(strict=True)]


def _hints(fn: Any) -> dict[str, Any]:
    """The evaluated annotations of the MCP-facing parameters: ``kit`` and the return type are skipped, so
    a pack may import ``Kit`` (or a return type) under ``TYPE_CHECKING`` only."""

    def shim() -> None: ...

    shim.__annotations__ = {k: v for k, v in getattr(fn, "__annotations__", {}).items() if k not in ("kit", "return")}
    return typing.get_type_hints(shim, globalns=getattr(fn, "__globals__", None), include_extras=True)


def _signature(spec: ToolSpec) -> tuple[inspect.Signature, dict[str, Any], set[str]]:
    fn = spec.fn
    hints = _hints(fn)
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
    if spec.asks and "confirm" not in names:
        out.append(inspect.Parameter("confirm", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=_CONFIRM))
        added.add("confirm")
    out.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    annotations = {p.name: p.annotation for p in out}
    annotations["return"] = Any
    return sig.replace(parameters=out, return_annotation=Any), annotations, added


def _annotations(spec: ToolSpec) -> ToolAnnotations:
    return ToolAnnotations.model_validate(spec.safety.annotations())  # the title is the tool's own (not said twice)


def _tags(spec: ToolSpec) -> set[str]:
    return {spec.safety.tag, f"pack:{spec.pack}", *spec.tags}


def _meta(spec: ToolSpec) -> dict[str, Any]:
    return {"sentinelkit": {"pack": spec.pack}}  # the safety class is in the annotations


class ListedFunctionTool(ListedAs, FunctionTool):
    """A FastMCP function tool listed the sentinelkit way (``ListedAs``)."""


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


def build_tool(spec: ToolSpec, runtime: Runtime) -> Tool:
    signature, annotations, added = _signature(spec)

    async def call(**kwargs: Any) -> Any:
        ctx = kwargs.pop("ctx", None)
        dry_run = kwargs.pop("dry_run", False) if "dry_run" in added else bool(kwargs.get("dry_run", False))
        confirm = kwargs.pop("confirm", False) if "confirm" in added else kwargs.get("confirm")
        tool_call = ToolCall(spec, kwargs, dry_run=dry_run is True, confirm=confirm is True, ctx=ctx,
                             caller=request_caller())
        return await run(tool_call, runtime)

    call.__signature__ = signature  # type: ignore[attr-defined]
    call.__annotations__ = annotations
    call.__name__ = spec.name
    call.__qualname__ = spec.name
    call.__doc__ = spec.fn.__doc__
    call.__module__ = spec.fn.__module__
    tool = ListedFunctionTool.from_function(
        call,
        name=spec.name,
        title=spec.title,
        tags=_tags(spec),
        annotations=_annotations(spec),
        output_schema=None,
        timeout=spec.timeout,
        meta=_meta(spec),
    )
    tool.parameters = lean_parameters(tool.parameters)  # arguments are validated from the signature, not this
    tool.description = lean_description(tool.description)
    return tool


def request_caller() -> str:
    """Who is calling: the HTTP bearer token's subject when there is one, else the local OS user (stdio)."""
    from .httpauth import token_subject

    subject = token_subject()
    return subject or local_user()


@functools.cache
def local_user() -> str:
    """``local:<OS user>``, looked up once (the user database can take a millisecond per look-up)."""
    try:
        return f"local:{getpass.getuser()}"
    except Exception:
        return "local"


async def run(call: ToolCall, runtime: Runtime) -> Any:
    """Run the body as the current call, in its span; audit writes; turn failures into tool errors that say
    what to do; record the call's metrics and KPIs."""
    from .telemetry.calls import observe

    with observe(call, runtime):
        return await _run(call, runtime)


async def _run(call: ToolCall, runtime: Runtime) -> Any:
    spec = call.spec
    try:
        reason = runtime.refusal(call)
        if reason:
            raise PolicyRefused(reason)
        with running(call):
            return await spec.fn(Kit(call, runtime), **call.arguments)
    except Finished as done:
        call.end(done.outcome)
        return done.result
    except PolicyRefused as exc:
        call.end("refused", redact_text(str(exc)))
        raise ToolError(f"{spec.name}: {call.detail}") from None
    except KitError as exc:
        call.end("error", redact_text(str(exc)))
        raise ToolError(f"{spec.name}: {call.detail}") from None
    except ToolError as exc:
        call.end("error", redact_text(str(exc)))
        raise
    except Exception as exc:
        call.end("error", f"{type(exc).__name__}: {redact_text(str(exc))}")
        logger().error("tool_failed", tool=spec.name, pack=spec.pack, error=call.detail, exc_info=True)
        raise ToolError(
            f"{spec.name} failed unexpectedly ({call.detail}). This is a bug in pack {spec.pack!r}, not in your "
            "request; the server keeps running and the details are in its log. Try another tool or report it to "
            "the pack's authors."
        ) from None
    finally:
        if spec.safety.writes and call.outcome != "input_required":
            runtime.audit.record(call)


def describe_parameters(spec: ToolSpec) -> list[dict[str, Any]]:
    """A tool's parameters as a client sees them: name, JSON type, whether required, description (for a shared
    argument the listing leaves undescribed, what the server's instructions say about it)."""
    from .leanschema import SHARED_ARGUMENTS

    schema = build_tool(spec, None).parameters  # type: ignore[arg-type]  # the body is not run
    required = set(schema.get("required") or [])
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        kinds = [prop.get("type")] if prop.get("type") else [p.get("type") for p in prop.get("anyOf") or []]
        out.append({"name": name, "type": "|".join(k for k in kinds if k and k != "null") or "any",
                    "required": name in required,
                    "description": prop.get("description") or SHARED_ARGUMENTS.get(name)})
    return out
