"""Generated tools: one real async function per discovered PowerShell function.

Each has an ``inspect.Signature`` built from the ``param()`` block, so the core registers it like
any hand-written tool (``ToolSpec`` through ``register_tools``): FastMCP derives the JSON schema,
and read-only mode, confirmation, dry_run and the audit log apply unchanged.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

from sentinelkit import Kit, Safety, clip, tool

from .catalog import GeneratedTool
from .paths import confine
from .protocol import CallResult
from .schema import to_powershell

BRIDGE = "powershell"
MAX_DESCRIPTION = 1800


def description(gen: GeneratedTool) -> str:
    fn = gen.function
    head = fn.help.synopsis.strip() or f"Runs the PowerShell function {fn.name}."
    parts = [head]
    if fn.help.description.strip() and fn.help.description.strip() != head:
        parts.append(fn.help.description.strip())
    effect = {Safety.READ_ONLY: "read-only", Safety.ADDITIVE: "creates or changes things",
              Safety.DESTRUCTIVE: "destructive: asks for confirmation"}[gen.safety]
    whatif = " dry_run runs it with -WhatIf." if gen.safety.writes and fn.supports_whatif else ""
    parts.append(f"PowerShell function {fn.name} from {fn.script.name} (line {fn.line}); {effect} "
                 f"({gen.safety_source}).{whatif}")
    text = "\n\n".join(parts)
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def make_tool_function(gen: GeneratedTool) -> Callable[..., Any]:
    """An ``async def <Verb-Noun>(kit, **params)`` carrying the signature FastMCP reads."""

    async def generated(kit: Kit, **arguments: Any) -> dict[str, Any]:
        return await run_generated(kit, gen, arguments)

    parameters = [inspect.Parameter("kit", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Any)]
    required = [p for p in gen.params if p.default is inspect.Parameter.empty]
    optional = [p for p in gen.params if p.default is not inspect.Parameter.empty]
    for p in [*required, *optional]:
        parameters.append(inspect.Parameter(p.python_name, inspect.Parameter.KEYWORD_ONLY, default=p.default,
                                            annotation=p.annotation))
    generated.__signature__ = inspect.Signature(parameters, return_annotation=dict[str, Any])  # type: ignore[attr-defined]
    generated.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": dict[str, Any]}
    generated.__name__ = gen.name
    # the schema cache keys on the qualified name: it changes with the script's content and options
    generated.__qualname__ = f"{gen.name}@{gen.digest}"
    generated.__doc__ = description(gen)
    return tool(gen.safety, name=gen.name, title=f"{gen.name} (PowerShell)", tags={"powershell"})(generated)


def _command_line(name: str, parameters: dict[str, Any], secure: list[str]) -> str:
    """How the call reads in a console, for previews only (it is never executed as text)."""
    parts = [name]
    for key, value in parameters.items():
        if key in secure:
            parts.append(f"-{key} ***")
        elif value is True:
            parts.append(f"-{key}")
        else:
            parts.append(f"-{key} {json.dumps(value, ensure_ascii=False)}")
    return " ".join(parts)


async def run_generated(kit: Kit, gen: GeneratedTool, arguments: dict[str, Any]) -> dict[str, Any]:
    fn = gen.function
    parameters, secure = to_powershell(gen.params, arguments)
    for name in secure:
        kit.secret(str(parameters[name]))
    bridge = kit.bridge(BRIDGE)
    remote = bridge.settings.remote
    files = confine(kit, gen.params, parameters, remote=remote is not None)
    display = _command_line(fn.name, parameters, secure)
    if gen.safety.writes or files:
        kit.annotate(powershell={
            "function": fn.name, "script": str(fn.script),
            "host": f"remote {remote.host}" if remote is not None else "local pwsh",
            **({"files": files} if files else {}),
            **({"targets": targets} if (targets := target_parameters(parameters)) else {}),
        })
    if gen.safety.writes:
        if kit.dry_run and fn.supports_whatif:
            # "if ($Force -or $PSCmdlet.ShouldProcess(...))" is common: -Force would defeat -WhatIf
            trial = {k: v for k, v in parameters.items() if k.lower() != "force"}
            result = await bridge.invoke(fn.name, trial, whatif=True, read_only=False, secure=secure)
            preview: dict[str, Any] = {"tool": fn.name, "command": display,
                                       "what_if": [*result.host, *result.information][-50:]}
            if len(trial) != len(parameters):
                preview["note"] = "-Force was left out of the -WhatIf run, so that it could not bypass ShouldProcess"
            return kit.dry_run_result(preview, next_step="PowerShell ran the function with -WhatIf, so nothing was "
                                                         "changed; call again without dry_run to apply")
        await kit.confirm_change(f"run {display} ({fn.script.name})",
                                 {"function": fn.name, "script": str(fn.script), "parameters":
                                  {k: ("***" if k in secure else v) for k, v in parameters.items()}})
    result = await bridge.invoke(fn.name, parameters, read_only=gen.safety is Safety.READ_ONLY, secure=secure)
    return shape(fn.name, result, bridge.settings.output_budget)


def shape(name: str, result: CallResult, budget: int) -> dict[str, Any]:
    """A compact answer: the pipeline output within a size budget, plus messages worth reading."""

    out: dict[str, Any] = {"function": name}
    chosen: list[Any] = []
    used = 0
    for item in result.output:
        item = clip(item, 4000)
        size = len(json.dumps(item, default=str, ensure_ascii=False)) + 2
        if chosen and used + size > budget:
            break
        chosen.append(item)
        used += size
    out["output"] = chosen
    out["count"] = len(result.output)
    if len(chosen) < len(result.output):
        out["truncated"] = (f"showing {len(chosen)} of {len(result.output)} output items to stay under {budget} "
                            "characters; call again with narrower parameters (filters, fewer days, one item)")
    if result.information:
        out["messages"] = result.information[-30:]
    if result.host:
        out["console"] = result.host[-30:]
    if result.warnings:
        out["warnings"] = result.warnings[-20:]
    if result.errors:
        out["errors"] = [{k: e.get(k) for k in ("message", "category", "error_id") if e.get(k)}
                         for e in result.errors[:10]]
    if result.attempts > 1:
        out["attempts"] = result.attempts
    return out


_TARGET = ("workspace", "subscription", "resourcegroup", "tenant")


def target_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """The arguments that say where a PowerShell function acts (workspace, subscription, resource group,
    tenant): recorded in the audit, since these writes do not go through ARM where the core sees them."""
    return {k: v for k, v in parameters.items() if any(t in k.lower().replace("_", "") for t in _TARGET)}
