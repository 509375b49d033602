"""The hooks a pack implements (pluggy project ``sentinelkit``, entry-point group ``sentinelkit``).

Each ``register_*`` hook receives a registrar bound to the implementing pack (see
``sentinelkit.registrars``): calling it adds one component under that pack's name, ``register.warn``
reports a start-up problem that does not stop the pack, and ``register.settings(Model)`` gives the
pack's validated settings. A hook implementation whose name matches no hook specification makes the
pack's load fail (``sentinelkit packs`` shows it), unless marked ``@hookimpl(optionalhook=True)``
(an implementation of another pack's hook that may not be installed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .call import ToolCall
    from .registrars import (
        BridgeRegistrar,
        CommandRegistrar,
        ContentKindRegistrar,
        HookspecRegistrar,
        PromptRegistrar,
        ResourceRegistrar,
        SettingsRegistrar,
        ToolRegistrar,
    )
    from .settings import Settings, TenantConfig
    from .workspaces import Workspace

PROJECT = "sentinelkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_settings(register: SettingsRegistrar) -> None:
    """Declare the model of the pack's ``[packs.<name>]`` settings: ``register(MySettings)`` (a subclass of
    ``sentinelkit.PackSettings``). Called before the other ``register_*`` hooks."""


@hookspec
def register_commands(register: CommandRegistrar) -> None:
    """Add ``sentinelkit`` commands (``register(name, run, help=..., arguments=...)``) and options of existing
    commands (``register.option("--flag", commands=("serve",), around=...)``), as llm plugins do."""


@hookspec
def register_hookspecs(register: HookspecRegistrar) -> None:
    """Add hook specifications other packs may implement: ``register(my_pack.hookspecs)``."""


@hookspec
def register_tools(register: ToolRegistrar) -> None:
    """Add tools: call ``register(fn)`` for each ``@tool``-decorated async function.

    ``register(fn, name=..., safety=..., title=..., tags=..., timeout=...)`` overrides what ``@tool`` declared.
    """


@hookspec
def register_prompts(register: PromptRegistrar) -> None:
    """Add MCP prompts: ``register(fn, name=..., description=...)``."""


@hookspec
def register_resources(register: ResourceRegistrar) -> None:
    """Add MCP resources: ``register(fn, uri=..., name=..., description=..., mime_type=...)``."""


@hookspec
def register_bridges(register: BridgeRegistrar) -> None:
    """Add bridges to other runtimes (e.g. a PowerShell host): ``register(name, factory)``.

    The factory is called without arguments, lazily, on the first ``kit.bridge(name)``.
    """


@hookspec
def register_content_kinds(register: ContentKindRegistrar) -> None:
    """Declare the kinds of content the pack owns: ``register(MyRuleKind())`` for each ``ContentKind``."""


@hookspec
def check_call(call: ToolCall, workspace: Workspace | None, tenant_id: str | None, settings: Settings) -> str | None:
    """Refuse a call by returning the reason (a sentence naming the policy and what to do), or ``None``.

    Asked before the tool runs (``workspace`` and ``tenant_id`` None), for each workspace a write tool
    targets (``workspace``), and for each write request (``tenant_id``: the tenant owning the resource).
    ``call`` is read-only here: its ``tool``, ``spec.safety``, ``arguments``, ``caller``, ``dry_run``.
    """


@hookspec(firstresult=True)
def get_credential(tenant: TenantConfig, settings: Settings) -> Any:
    """Return an async azure-identity ``AsyncTokenCredential`` for ``tenant`` (a ``TenantConfig``),
    or ``None`` to let the next source (ultimately the built-in one) decide.

    Use it for credentials from a vault, a managed identity with a specific client id, etc.
    """
