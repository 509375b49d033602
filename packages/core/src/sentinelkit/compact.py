"""The compact tool mode (``serve --tools compact``): one tool per pack, so that a conversation pays for a
few lines per operation instead of every operation's schema.

Each pack's tool (named after the pack: ``incidents``, ``rules``...) takes ``operation`` and its
``arguments``; its description lists the operations, one line each; ``operation="describe"`` answers
with one operation's full listing (the entry the full mode lists). The server's own tools
(``workspace_list``...) stay listed as they are, with ``packs_enable``, which lists a pack's tools one
by one (for clients that refresh their tool list on ``notifications/tools/list_changed``).

The operations stay registered tools: the listing is what changes (a FastMCP ``CatalogTransform``), and
a pack tool passes each call on to ``call_tool`` of the server, so that it goes through exactly what a
call of the full mode goes through (middleware: read-only mode, argument checks, policies, confirmation
and the audit), and the listing is built from what this caller may see.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fastmcp.exceptions import ToolError
from fastmcp.server.context import Context
from fastmcp.server.transforms.catalog import CatalogTransform
from fastmcp.tools import Tool, ToolResult
from mcp.types import TextContent, ToolAnnotations

from .contract import Safety
from .leanschema import ListedAs

if TYPE_CHECKING:
    from .contract import ToolSpec
    from .packs import PackInfo, PackManager

CORE = "core"
DESCRIBE = "describe"
PACKS_ENABLE = "packs_enable"
#: sessions whose enabled packs are remembered (the oldest are forgotten first)
MAX_SCOPES = 1000


def headline(description: str | None) -> str:
    """A tool description's first sentence, up to its first colon or semicolon: one line of a listing."""
    first = " ".join((description or "").split("\n\n", 1)[0].split())
    match = re.match(r"(.+?)(?:[.!?](?:\s|$)|: |; | — )", first)
    return match.group(1) if match else first.rstrip(".")


def operation_line(tool: Tool) -> str:
    """``name(required, arguments) [writes]: headline``."""
    required = tool.parameters.get("required") or []
    safety = Safety.from_annotations(tool.annotations)
    mark = {Safety.READ_ONLY: "", Safety.ADDITIVE: " [writes]", Safety.DESTRUCTIVE: " [destructive]"}[safety]
    call = f"{tool.name}({', '.join(required)})" if required else tool.name
    return f"{call}{mark}: {headline(tool.description)}"


def listing_entry(tool: Tool) -> dict[str, Any]:
    """A tool as the full mode lists it (what ``describe`` answers)."""
    return tool.to_mcp_tool().model_dump(mode="json", by_alias=True, exclude_none=True)


def _result(data: dict[str, Any]) -> ToolResult:
    return ToolResult(content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False))],
                      structured_content=data)


class PackTool(ListedAs, Tool):
    """One pack's operations as one tool: ``{"operation": name, "arguments": {...}}``."""

    pack: str
    operations: tuple[str, ...]
    """Every operation the pack has (the listing shows those this caller may use)."""
    catalog: Any = None
    """The ``CompactCatalog`` that made it (for ``describe``)."""

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        from fastmcp.server.dependencies import get_context

        operation, given = self._split(arguments)
        ctx = get_context()
        if operation == DESCRIBE:
            return _result(await self.catalog.describe(ctx, self, given))
        return await ctx.fastmcp.call_tool(operation, given)

    def _split(self, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The operation and its arguments; arguments given beside ``arguments`` count as in it."""
        rest = dict(arguments)
        operation = rest.pop("operation", None)
        inner = rest.pop("arguments", None)
        if inner is None:
            inner = {}
        if not isinstance(inner, dict):
            raise ToolError(f"{self.name}: `arguments` must be an object with the arguments of {operation or 'the operation'}, "
                            f"e.g. {{\"operation\": \"{self.operations[0]}\", \"arguments\": {{...}}}}. Nothing was done.")
        clash = sorted(set(rest) & set(inner))
        if clash:
            raise ToolError(f"{self.name}: {', '.join(clash)} given twice (inside and beside `arguments`); give "
                            "each once, inside `arguments`. Nothing was done.")
        inner = {**inner, **rest}
        if not isinstance(operation, str) or operation not in (DESCRIBE, *self.operations):
            from .packs import did_you_mean

            hint = did_you_mean(operation, self.operations) if isinstance(operation, str) else ""
            named = f"{operation!r} is not one of its operations{hint}" if operation else "`operation` is required"
            raise ToolError(f"{self.name}: {named}; operations: {', '.join(self.operations)}, and {DESCRIBE} "
                            "(its parameters). Nothing was done.")
        return operation, inner


class CompactCatalog(CatalogTransform):
    """Lists one ``PackTool`` per pack (and ``packs_enable``) instead of the packs' tools, except the packs a
    session enabled; the packs' tools stay callable by name."""

    def __init__(self, operations: Mapping[str, Sequence[str]], summaries: Mapping[str, str],
                 hidden: Mapping[str, str]) -> None:
        super().__init__()
        self.operations = {pack: tuple(ops) for pack, ops in operations.items() if pack != CORE and ops}
        self.summaries = dict(summaries)
        self.hidden = dict(hidden)
        self.pack_of = {op: pack for pack, ops in self.operations.items() for op in ops}
        self._enabled: OrderedDict[str, set[str]] = OrderedDict()

    # -- what a session enabled ------------------------------------------------------------------
    @staticmethod
    def scope(ctx: Context) -> str | None:
        """Whose listing ``packs_enable`` changes: the MCP session; on 2026-07-28 connections (no session),
        the signed-in user, or the one client of a stdio server; ``None`` when nothing identifies it."""
        from .safety import modern_protocol

        if not modern_protocol(ctx):
            return f"session:{ctx.session_id}"
        from fastmcp.server.sessions import current_principal

        principal = current_principal()
        if principal:
            return f"user:{principal}"
        return None if ctx.transport in ("sse", "streamable-http") else "process"

    def enabled(self, ctx: Context | None) -> set[str]:
        key = self.scope(ctx) if ctx is not None else None
        return set(self._enabled.get(key, ())) if key else set()

    def enable(self, ctx: Context, packs: set[str]) -> bool:
        key = self.scope(ctx)
        if key is None:
            return False
        self._enabled.setdefault(key, set()).update(packs)
        self._enabled.move_to_end(key)
        while len(self._enabled) > MAX_SCOPES:
            self._enabled.popitem(last=False)
        return True

    # -- the listing -----------------------------------------------------------------------------
    async def transform_tools(self, tools: Sequence[Tool]) -> Sequence[Tool]:
        from fastmcp.server.dependencies import get_context

        try:
            ctx: Context | None = get_context()
        except RuntimeError:  # no request (FastMCP's start-up checks): the server's own catalog, no session
            ctx = None
        # what this caller may see, as the full mode lists it
        visible = list(await self.get_tool_catalog(ctx)) if ctx is not None else list(tools)
        enabled = self.enabled(ctx)
        listed: list[Tool] = [t for t in visible if self.pack_of.get(t.name) in enabled or t.name not in self.pack_of]
        for pack in self.operations:
            own = [t for t in visible if self.pack_of.get(t.name) == pack]
            if own and pack not in enabled:
                listed.append(self.pack_tool(pack, own))
        listed.append(self.packs_enable_tool())
        return listed

    async def get_tool(self, name: str, call_next: Any, *, version: Any = None) -> Tool | None:
        if name in self.operations:
            return self.pack_tool(name, None)
        if name == PACKS_ENABLE:
            return self.packs_enable_tool()
        return await call_next(name, version=version)  # type: ignore[no-any-return]

    def pack_tool(self, pack: str, visible: Sequence[Tool] | None) -> PackTool:
        """The pack's tool; its description and enum name the ``visible`` operations (all when ``None``:
        a call checks what the caller may use as the full mode would)."""
        names = [t.name for t in visible] if visible is not None else list(self.operations[pack])
        lines = "\n".join(operation_line(t) for t in visible or ())
        summary = self.summaries.get(pack) or f"The operations of pack {pack}"
        description = (f"{summary.rstrip('.')}. Operations (their arguments go in `arguments`; {DESCRIBE} with "
                       f"{{\"operation\": name}} gives one's parameters):\n{lines}")
        safeties = {Safety.from_annotations(t.annotations) for t in visible or ()}
        worst = max(safeties or {Safety.DESTRUCTIVE}, key=[Safety.READ_ONLY, Safety.ADDITIVE, Safety.DESTRUCTIVE].index)
        return PackTool(
            name=pack, title=pack.replace("-", " ").replace("_", " ").capitalize(), description=description,
            parameters={"type": "object", "required": ["operation"], "properties": {
                "operation": {"type": "string", "enum": [DESCRIBE, *names]}, "arguments": {"type": "object"}}},
            annotations=ToolAnnotations.model_validate(worst.annotations()), meta={"sentinelkit": {"pack": pack}},
            pack=pack, operations=self.operations[pack], catalog=self)

    # -- describe --------------------------------------------------------------------------------
    async def describe(self, ctx: Context, tool: PackTool, arguments: dict[str, Any]) -> dict[str, Any]:
        """One operation's listing entry (``{"operation": name}``), or every operation's (no arguments)."""
        unknown = sorted(set(arguments) - {"operation"})
        if unknown:
            raise ToolError(f"{tool.name}: {DESCRIBE} takes only `operation` (one of {', '.join(tool.operations)}), "
                            f"not {', '.join(unknown)}")
        visible = {t.name: t for t in await self.get_tool_catalog(ctx) if self.pack_of.get(t.name) == tool.pack}
        wanted = arguments.get("operation")
        if wanted is None:
            return {"pack": tool.pack, "operations": [listing_entry(t) for t in visible.values()]}
        if wanted in visible:
            return listing_entry(visible[wanted])
        if wanted in self.hidden:
            from .guard import hidden_message

            raise ToolError(hidden_message(str(wanted), self.hidden[str(wanted)]))
        from .packs import did_you_mean

        hint = did_you_mean(str(wanted), tool.operations)
        raise ToolError(f"{tool.name}: {DESCRIBE}: {wanted!r} is not one of its operations{hint}; operations: "
                        f"{', '.join(visible)}")

    # -- packs_enable ----------------------------------------------------------------------------
    def packs_enable_tool(self) -> Tool:
        catalog = self

        async def packs_enable(packs: list[str], ctx: Context) -> dict[str, Any]:
            """List the tools of packs one by one (each with its own schema) instead of the pack's one tool.

            Clients that refresh their tool list on notifications/tools/list_changed show them next; the
            others keep calling the pack's tool (every tool is callable by name either way).

            Args:
                packs: Pack names (the compact tools' names), or ["all"].
            """
            return await catalog.packs_enable(ctx, packs)

        from .leanschema import lean_parameters
        from .toolwrap import ListedFunctionTool

        tool = ListedFunctionTool.from_function(packs_enable, name=PACKS_ENABLE, title="List a pack's tools one by one",
                                        annotations=ToolAnnotations.model_validate(Safety.READ_ONLY.annotations()),
                                        meta={"sentinelkit": {"pack": CORE}}, output_schema=None)
        tool.parameters = lean_parameters(tool.parameters)
        return tool

    async def packs_enable(self, ctx: Context, packs: list[str]) -> dict[str, Any]:
        visible = [t for t in await self.get_tool_catalog(ctx) if t.name in self.pack_of]
        available = sorted({self.pack_of[t.name] for t in visible})
        chosen = set(available) if packs == ["all"] else set(packs)
        unknown = sorted(chosen - set(available))
        if unknown:
            from .packs import did_you_mean

            hint = did_you_mean(unknown[0], available)
            raise ToolError(f"{PACKS_ENABLE}: no pack named {unknown[0]!r} is served{hint}; packs: "
                            f"{', '.join(available) or 'none'}. Nothing was changed.")
        tools = [t.name for t in visible if self.pack_of[t.name] in chosen]
        if not self.enable(ctx, chosen):
            return {"enabled": [], "tools": tools,
                    "note": "this connection has no session to remember it in (stateless HTTP without sign-in): the "
                            "listing stays compact; call these tools by name, or through their pack's tool"}
        from mcp.types import ToolListChangedNotification

        await ctx.send_notification(ToolListChangedNotification())
        return {"enabled": sorted(chosen), "tools": tools,
                "note": "listed one by one from now on in this session (tools/list_changed was sent); a client that "
                        "does not refresh its list can call them by name, or through their pack's tool"}


def pack_summary(info: PackInfo) -> str:
    """What a pack is about, in one line: its distribution's summary (without "sentinelkit pack:"), else the
    first line of its module's docstring."""
    import importlib.metadata as metadata
    import sys

    text = ""
    if info.distribution:
        try:
            text = (metadata.metadata(info.distribution).get_all("Summary") or [""])[0]
        except metadata.PackageNotFoundError:
            text = ""
    if not text:
        module = sys.modules.get(info.module.split(":", 1)[0])
        text = ((getattr(module, "__doc__", None) or "").strip().splitlines() or [""])[0]
    return re.sub(r"^sentinelkit pack:\s*", "", text).strip()


def compact_catalog(manager: PackManager, specs: Mapping[str, ToolSpec], hidden: Mapping[str, str]) -> CompactCatalog:
    """The catalog of a server's packs (``specs``: every tool collected; ``hidden``: those read-only mode hides)."""
    operations: dict[str, list[str]] = {}
    for spec in specs.values():
        operations.setdefault(spec.pack, []).append(spec.name)
    clash = sorted(set(operations) & set(specs) | ({PACKS_ENABLE} & set(specs)))
    if clash:
        from .packs import DuplicateToolError

        raise DuplicateToolError(f"in the compact tool mode, pack {clash[0]!r} would list a tool named like the tool "
                                 f"{clash[0]!r}; serve --tools full, or rename one")
    summaries = {pack: pack_summary(manager.packs[pack]) for pack in operations if pack in manager.packs}
    return CompactCatalog(operations, summaries, hidden)
