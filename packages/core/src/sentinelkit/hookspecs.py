"""The hooks a pack implements (pluggy project ``sentinelkit``, entry-point group ``sentinelkit``).

Each ``register_*`` hook receives a callable that adds one component; the core knows which pack
called it, so duplicate names and load failures are reported per pack. The callable also has
``register.warn(message)``: a start-up problem that does not stop the pack (an executable or a file
it needs is missing), shown next to the pack by ``sentinelkit packs`` and logged by ``serve``.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "sentinelkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_tools(register: Any) -> None:
    """Add tools: call ``register(fn)`` for each ``@tool``-decorated async function.

    ``register(fn, name=..., safety=..., title=..., tags=...)`` overrides what ``@tool`` declared.
    """


@hookspec
def register_prompts(register: Any) -> None:
    """Add MCP prompts: ``register(fn, name=..., description=...)``."""


@hookspec
def register_resources(register: Any) -> None:
    """Add MCP resources: ``register(fn, uri=..., name=..., description=..., mime_type=...)``."""


@hookspec
def register_bridges(register: Any) -> None:
    """Add bridges to other runtimes (e.g. a PowerShell host): ``register(name, factory)``.

    The factory is called lazily, on first use, with the server's ``Runtime``.
    """


@hookspec(firstresult=True)
def get_credential(tenant: Any, settings: Any) -> Any:
    """Return an async azure-identity ``AsyncTokenCredential`` for ``tenant`` (a ``TenantConfig``),
    or ``None`` to let the next source (ultimately the built-in one) decide.

    Use it for credentials from a vault, a managed identity with a specific client id, etc.
    """
