"""What each ``register_*`` hook receives: a registrar bound to the pack that implements the hook.

A pack cannot register under another pack's name (the registrar knows its pack), and a misspelled
keyword is a ``TypeError`` (each registrar's ``__call__`` has an explicit signature), which makes the
pack's load fail with that message instead of silently registering something else.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .contract import TOOL_NAME_RE, PromptSpec, ResourceSpec, Safety, ToolSpec, spec_from

if TYPE_CHECKING:
    from types import ModuleType

    from pydantic import BaseModel

    from .content import ContentKind
    from .packs import PackInfo, PackManager

M = TypeVar("M", bound="BaseModel")
BridgeFactory = Callable[[], Any]


class Registrar:
    """The common part: the pack's name, start-up warnings, and the pack's validated settings."""

    def __init__(self, manager: PackManager, info: PackInfo) -> None:
        self._manager = manager
        self._info = info

    @property
    def pack(self) -> str:
        """The name of the pack this registrar belongs to (its entry-point name)."""
        return self._info.name

    def warn(self, message: str) -> None:
        """Report a start-up problem that does not stop the pack (a missing executable, a missing script):
        ``sentinelkit packs`` shows it next to the pack and ``sentinelkit serve`` logs it at start-up."""
        text = str(message).strip()
        if text and text not in self._info.warnings:
            self._info.warnings.append(text)

    def settings(self, model: type[M]) -> M:
        """This pack's ``[packs.<name>]`` settings, validated by ``model`` (declared with ``register_settings``)."""
        return self._manager.pack_settings(self._info.name, model)


class ToolRegistrar(Registrar):
    """``register(fn)`` adds one ``@tool``-decorated async function; keywords override what ``@tool`` declared."""

    def __init__(self, manager: PackManager, info: PackInfo) -> None:
        super().__init__(manager, info)
        self.specs: list[ToolSpec] = []

    def __call__(self, fn: Callable[..., Any], *, name: str | None = None, safety: Safety | str | None = None,
                 title: str | None = None, tags: set[str] | frozenset[str] | None = None,
                 timeout: float | None = None) -> None:
        spec = spec_from(fn, pack=self.pack, name=name, safety=safety, title=title, tags=tags, timeout=timeout)
        if not TOOL_NAME_RE.match(spec.name):
            raise ValueError(f"tool name {spec.name!r} is not <object>_<verb> in snake_case "
                             "(nor a PowerShell Verb-Noun name)")
        if any(s.name == spec.name for s in self.specs):
            raise ValueError(f"tool {spec.name!r} is registered twice by pack {self.pack!r}")
        self.specs.append(spec)


class PromptRegistrar(Registrar):
    """``register(fn, name=..., description=...)`` adds an MCP prompt."""

    def __init__(self, manager: PackManager, info: PackInfo) -> None:
        super().__init__(manager, info)
        self.specs: list[PromptSpec] = []

    def __call__(self, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> None:
        self.specs.append(PromptSpec(fn, name or fn.__name__.replace("_", "-"), description, self.pack))


class ResourceRegistrar(Registrar):
    """``register(fn, uri=..., name=..., description=..., mime_type=...)`` adds an MCP resource."""

    def __init__(self, manager: PackManager, info: PackInfo) -> None:
        super().__init__(manager, info)
        self.specs: list[ResourceSpec] = []

    def __call__(self, fn: Callable[..., Any], *, uri: str, name: str | None = None, description: str | None = None,
                 mime_type: str | None = None) -> None:
        self.specs.append(ResourceSpec(fn, uri, name, description, mime_type, self.pack))


class BridgeRegistrar(Registrar):
    """``register(name, factory)`` adds a bridge to another runtime (e.g. a PowerShell host): ``factory()``
    runs on first use (``kit.bridge(name)``); take what it needs (``register.settings(...)``) now."""

    def __init__(self, manager: PackManager, info: PackInfo) -> None:
        super().__init__(manager, info)
        self.factories: dict[str, BridgeFactory] = {}

    def __call__(self, name: str, factory: BridgeFactory) -> None:
        self.factories[name] = factory


class SettingsRegistrar(Registrar):
    """``register(Model)`` declares the pydantic model (usually a ``sentinelkit.PackSettings``) that
    validates the pack's ``[packs.<name>]`` table of ``sentinelkit.toml`` (and its environment variables)."""

    def __init__(self, manager: PackManager, info: PackInfo) -> None:
        super().__init__(manager, info)
        self.model: type[BaseModel] | None = None

    def __call__(self, model: type[BaseModel]) -> None:
        self.model = model


class ContentKindRegistrar(Registrar):
    """``register(kind)`` declares a kind of content the pack owns (a ``sentinelkit.ContentKind``), so
    that backup, restore, diff and drift cover it."""

    def __init__(self, manager: PackManager, info: PackInfo) -> None:
        super().__init__(manager, info)
        self.kinds: list[ContentKind] = []

    def __call__(self, kind: ContentKind) -> None:
        from .content import ContentKind

        if not isinstance(kind, ContentKind):
            raise TypeError(f"register() takes a sentinelkit.ContentKind instance, not {type(kind).__name__}")
        if any(k.name == kind.name for k in self.kinds):
            raise ValueError(f"content kind {kind.name!r} is registered twice by pack {self.pack!r}")
        self.kinds.append(kind)


CommandRun = Callable[["argparse.Namespace"], int]
#: what an option does around the command it was given to (e.g. start an emulator and stop it after)
OptionContext = Callable[["argparse.Namespace"], "AbstractContextManager[None]"]


@dataclass
class CommandSpec:
    """A command a pack adds to ``sentinelkit`` (e.g. ``demo``)."""

    name: str
    run: CommandRun
    help: str
    arguments: Callable[[argparse.ArgumentParser], None] | None
    pack: str


@dataclass
class OptionSpec:
    """An option a pack adds to existing commands (e.g. ``--emulator`` on ``serve``)."""

    flags: tuple[str, ...]
    commands: tuple[str, ...]
    around: OptionContext | None
    kwargs: dict[str, Any]
    pack: str


class CommandRegistrar(Registrar):
    """``register(name, run, help=..., arguments=...)`` adds a ``sentinelkit <name>`` command: ``arguments``
    gets its ``argparse`` parser, ``run`` the parsed arguments and returns the exit code.
    ``register.option("--flag", commands=("serve",), around=ctx, **argparse_kwargs)`` adds an option to
    existing commands (``serve``, ``call``, ``config check``, ``packs``, ``tools``); ``around(args)`` is a
    context manager the command then runs inside (it decides from ``args`` whether to do anything)."""

    def __init__(self, manager: PackManager, info: PackInfo) -> None:
        super().__init__(manager, info)
        self.commands: list[CommandSpec] = []
        self.options: list[OptionSpec] = []

    def __call__(self, name: str, run: CommandRun, *, help: str,
                 arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
            raise ValueError(f"command name {name!r} must be lower case words joined by '-'")
        self.commands.append(CommandSpec(name, run, help, arguments, self.pack))

    def option(self, *flags: str, commands: Sequence[str], around: OptionContext | None = None,
               **kwargs: Any) -> None:
        if not flags or not all(f.startswith("--") for f in flags):
            raise ValueError(f"options must be long flags such as '--emulator', not {flags!r}")
        self.options.append(OptionSpec(tuple(flags), tuple(commands), around, kwargs, self.pack))


class HookspecRegistrar(Registrar):
    """``register(module_or_class)`` adds hook specifications a pack defines for other packs to implement
    (marked with ``sentinelkit.hookspec``); implementations of them should be ``@hookimpl(optionalhook=True)``
    so that they load without the defining pack."""

    def __init__(self, manager: PackManager, info: PackInfo) -> None:
        super().__init__(manager, info)
        self.namespaces: list[ModuleType | type] = []

    def __call__(self, namespace: ModuleType | type) -> None:
        self.namespaces.append(namespace)
