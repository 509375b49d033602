"""What happens to a tool call before the tool runs: a hidden (read-only mode) tool is explained, and
arguments the tool's schema refuses get a sentence naming each argument — and, for write tools, an
audit record (a refused write is still a write that was attempted)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastmcp.exceptions import ToolError
from fastmcp.exceptions import ValidationError as ArgumentsError
from fastmcp.server.middleware import Middleware
from pydantic import ValidationError

from .call import ToolCall

if TYPE_CHECKING:
    from .contract import ToolSpec
    from .runtime import Runtime

_TYPE_WORDS = {"bool": "true or false (a JSON boolean)", "int": "a whole number", "float": "a number",
               "string": "a string", "list": "a list", "dict": "an object", "literal": "one of the listed values"}


def explain(tool: str, error: ValidationError) -> str:
    """``tool: argument 'x' is required; argument 'confirm' must be true or false ...`` (no input echoed,
    no links)."""
    parts = []
    for item in error.errors(include_url=False, include_input=False, include_context=True):
        loc = [str(p) for p in item["loc"] if not str(p).startswith(("function-", "call["))]
        name = ".".join(loc) or "arguments"
        kind = str(item["type"])
        if kind.startswith("missing"):
            parts.append(f"argument {name!r} is required")
        elif kind.startswith("unexpected") or kind == "extra_forbidden":
            parts.append(f"argument {name!r} is not a parameter of {tool}")
        else:
            expected = next((w for k, w in _TYPE_WORDS.items() if kind.startswith(k)), None)
            detail = f"must be {expected}" if expected else str(item["msg"]).lower()
            parts.append(f"argument {name!r} {detail}")
    return f"{tool}: invalid arguments: {'; '.join(parts)}. Nothing was changed; see the tool's input schema."


def hidden_message(name: str, safety: str) -> str:
    """Why a tool read-only mode hides is not available, and what to do."""
    return (f"{name} is not available: the server runs in read-only mode and {name} is {safety}. Restart "
            "without --read-only (and read_only = false) to use it.")


class CallGuard(Middleware):
    def __init__(self, runtime: Runtime, specs: dict[str, ToolSpec], hidden: dict[str, str]) -> None:
        self.runtime = runtime
        self.specs = specs
        self.hidden = hidden

    async def on_call_tool(self, context: Any, call_next: Any) -> Any:
        name = getattr(context.message, "name", None)
        if name in self.hidden:
            raise ToolError(hidden_message(name, self.hidden[name]))
        try:
            return await call_next(context)
        except ArgumentsError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError) or name is None:
                raise
            message = explain(name, cause)
            spec = self.specs.get(name)
            if spec is not None and spec.safety.writes:
                from .toolwrap import request_caller

                arguments = dict(getattr(context.message, "arguments", None) or {})
                call = ToolCall(spec, arguments, dry_run=arguments.get("dry_run") is True, caller=request_caller())
                call.end("refused", message)
                self.runtime.audit.record(call)
            raise ToolError(message) from None
