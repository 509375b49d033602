"""Assembling the FastMCP server from the loaded packs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastmcp import FastMCP

from . import __version__
from .packs import PackManager
from .runtime import Runtime
from .settings import Settings

INSTRUCTIONS = """\
sentinelkit manages Microsoft Sentinel across tenants and workspaces. Start with workspace_list to see
the workspaces and their aliases. Destructive tools ask for confirmation; every write is audited. An
argument not given takes its schema's default; a flag is false unless given."""


COMPACT = """\
Each pack is one tool (named after it, e.g. `incidents`) taking {"operation": "<name>", "arguments": {...}}; its
description lists the operations, with their required arguments; operation "describe" with arguments
{"operation": "<name>"} gives one operation's full input schema. packs_enable lists a pack's tools one by one."""


def instructions(tools: str = "full") -> str:
    """What the server tells every client once: how to start, how tools are listed, the arguments they share."""
    from .leanschema import instructions as shared

    mode = f"\n{COMPACT}" if tools == "compact" else ""
    return f"{INSTRUCTIONS}{mode}\n{shared()}"


def build_server(settings: Settings, manager: PackManager | None = None) -> FastMCP:
    """One server: a fresh ``PackManager`` (unless given), its packs' tools, prompts and resources.

    Raises ``DuplicateToolError`` when two packs contribute the same tool name, and ``ConfigError`` when
    ``[packs]`` names a pack that is not installed or the audit log cannot be written (``AuditLogError``).
    """
    from .schemacache import SchemaCache, cache_path
    from .toolwrap import build_tool_cached

    manager = manager or PackManager(settings=settings)
    if manager.settings is None:
        manager.settings = settings
    manager.load()
    manager.check_configuration()  # a pack name in [packs] that is not installed: ConfigError
    collected = manager.collect()
    runtime = Runtime(settings, manager, collected)
    if not settings.read_only:  # AuditLogError (a ConfigError): serve no write that could not be recorded
        runtime.audit.check()

    @contextlib.asynccontextmanager
    async def lifespan(server: FastMCP) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            await runtime.aclose()

    hidden: dict[str, str] = {}
    mcp = FastMCP(settings.server_name, instructions=instructions(settings.tools), version=__version__, lifespan=lifespan,
                  mask_error_details=True)
    from .statestore import install

    install(mcp)  # FastMCP's session state without its key-value library: not imported before tools/list
    schemas = SchemaCache(cache_path())
    for spec in collected.tools.values():
        if settings.read_only and spec.safety.writes:
            hidden[spec.name] = spec.safety.value.replace("_", "-")
            continue
        try:
            mcp.add_tool(build_tool_cached(spec, runtime, schemas))
        except Exception as exc:  # an unusable signature: leave the tool out, say why in `sentinelkit packs`
            info = manager.packs.get(spec.pack)
            message = f"tool {spec.name} left out: {type(exc).__name__}: {exc}"
            if info is not None:
                info.warnings.append(message)
                if spec.name in info.tools:
                    info.tools.remove(spec.name)
    from .guard import CallGuard
    from .schemacache import build_prompt_cached

    mcp.add_middleware(CallGuard(runtime, collected.tools, hidden))
    if settings.http.auth == "entra":  # app roles decide what an Entra-authenticated caller sees and calls
        from .roles import RoleGuard

        mcp.add_middleware(RoleGuard(runtime, collected.tools, settings.http.role_map()))
    if settings.tools == "compact":
        from .compact import compact_catalog

        mcp.add_transform(compact_catalog(manager, collected.tools, hidden))
    for p in collected.prompts.values():
        mcp.add_prompt(build_prompt_cached(p.fn, name=p.name, description=p.description, pack=p.pack, cache=schemas))
    schemas.save()
    if collected.resources:
        from fastmcp.resources import Resource

        for r in collected.resources.values():
            mcp.add_resource(Resource.from_function(r.fn, uri=r.uri, name=r.name, description=r.description,
                                                    mime_type=r.mime_type, meta={"sentinelkit": {"pack": r.pack}}))
    mcp._sentinelkit_runtime = runtime  # type: ignore[attr-defined]
    mcp._sentinelkit_packs = manager  # type: ignore[attr-defined]
    return mcp


def runtime_of(server_or_ctx: Any) -> Runtime:
    """The ``Runtime`` of a server (or of the server behind a FastMCP ``Context``)."""
    server = getattr(server_or_ctx, "fastmcp", server_or_ctx)
    return server._sentinelkit_runtime  # type: ignore[no-any-return]
