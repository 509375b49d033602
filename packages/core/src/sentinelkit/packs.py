"""Pack discovery and collection: entry points → pluggy plugins → tools, prompts and resources.

One ``PackManager`` per server (and per test). A pack that fails to import or to register is
recorded with its error and left out; the others still load. Two packs that register the same tool
name stop start-up with an error naming both.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .contract import TOOL_NAME_RE, PromptSpec, ResourceSpec, ToolSpec, spec_from

GROUP = "sentinelkit"
BUILTIN = ("core", "sentinelkit.builtin")


class DuplicateToolError(Exception):
    """Two packs contributed the same tool name."""


@dataclass
class PackInfo:
    """What ``sentinelkit packs`` shows for one pack."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    enabled: bool = True
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> bool:
        return self.enabled and self.error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "enabled": self.enabled,
            "loaded": self.loaded,
            "error": self.error,
            "warnings": self.warnings,
            "tools": self.tools,
            "prompts": self.prompts,
            "resources": self.resources,
        }


@dataclass
class Collected:
    tools: dict[str, ToolSpec] = field(default_factory=dict)
    prompts: dict[str, PromptSpec] = field(default_factory=dict)
    resources: dict[str, ResourceSpec] = field(default_factory=dict)
    bridges: dict[str, Callable[..., Any]] = field(default_factory=dict)


class Register:
    """What a ``register_*`` hook receives: call it to add one component; ``register.warn(message)``
    reports a start-up problem that does not stop the pack (a missing executable, a missing script):
    ``sentinelkit packs`` (and ``--json``, under ``warnings``) shows it next to the pack, and
    ``sentinelkit serve`` logs it at start-up."""

    def __init__(self, add: Callable[..., Any], info: PackInfo) -> None:
        self._add = add
        self._info = info

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._add(*args, **kwargs)

    def warn(self, message: str) -> None:
        """Report a start-up problem of this pack (shown by ``sentinelkit packs``; the pack stays loaded)."""
        text = str(message).strip()
        if text and text not in self._info.warnings:
            self._info.warnings.append(text)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class PackManager:
    """Finds packs, loads them as pluggy plugins, and collects what they register."""

    def __init__(self, *, enabled: Callable[[str], bool] | None = None, entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.packs: dict[str, PackInfo] = {}
        self._enabled = enabled or (lambda name: True)
        self._use_entry_points = entry_points
        self._loaded = False
        self._collected: Collected | None = None

    @property
    def hook(self) -> Any:
        return self.pm.hook

    # -- loading ------------------------------------------------------------------------------
    def load(self) -> PackManager:
        """Load every installed pack (entry-point group ``sentinelkit``) plus the built-in one."""
        if self._loaded:
            return self
        self._loaded = True
        if self._use_entry_points:
            for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: (e.name != "core", e.name)):
                if ep.name in self.packs:
                    continue
                dist = getattr(ep, "dist", None)
                self._load_one(ep.name, ep.value, ep.load, dist.name if dist else None, dist.version if dist else None)
        if BUILTIN[0] not in self.packs:  # running from a source tree without installed metadata
            self._load_one(BUILTIN[0], BUILTIN[1], lambda: importlib.import_module(BUILTIN[1]), "sentinelkit", None)
            if self.packs[BUILTIN[0]].version is None:
                from . import __version__

                self.packs[BUILTIN[0]].version = __version__
        return self

    def _load_one(
        self, name: str, target: str, loader: Callable[[], Any], dist: str | None, version: str | None
    ) -> None:
        info = PackInfo(name=name, module=target, distribution=dist, version=version)
        self.packs[name] = info
        if not self._enabled(name):
            info.enabled = False
            return
        try:
            plugin = loader()
        except Exception as exc:  # a broken pack must not stop the others
            info.error = f"import failed: {_describe(exc)}"
            return
        self._register(plugin, info)

    def add(self, plugin: ModuleType | object, name: str, *, version: str | None = None) -> PackInfo:
        """Register an in-process plugin (tests, embedding) as if it were an installed pack."""
        info = PackInfo(name=name, module=getattr(plugin, "__name__", type(plugin).__name__), version=version)
        self.packs[name] = info
        self._collected = None
        if not self._enabled(name):
            info.enabled = False
            return info
        self._register(plugin, info)
        return info

    def _register(self, plugin: Any, info: PackInfo) -> None:
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as exc:  # pluggy validates hook names and signatures
            info.error = f"not a valid sentinelkit pack: {_describe(exc)}"

    # -- collecting ---------------------------------------------------------------------------
    def _each_impl(self, hook_name: str) -> Iterable[tuple[str, Callable[..., Any], list[str]]]:
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):  # registration order
            info = self.packs.get(impl.plugin_name)
            if info is not None and not info.loaded:
                continue
            yield impl.plugin_name, impl.function, list(impl.argnames)

    def collect(self) -> Collected:
        """Call every ``register_*`` hook, pack by pack; raise ``DuplicateToolError`` on a clash."""
        if self._collected is not None:
            return self._collected
        self.load()
        out = Collected()
        owners: dict[str, str] = {}
        for pack, fn, _ in self._each_impl("register_tools"):
            specs: list[ToolSpec] = []

            def register(tool_fn: Callable[..., Any], _pack: str = pack, _specs: list[ToolSpec] = specs,
                         **overrides: Any) -> None:
                spec = spec_from(tool_fn, pack=_pack, **overrides)
                if not TOOL_NAME_RE.match(spec.name):
                    raise ValueError(f"tool name {spec.name!r} is not <object>_<verb> in snake_case "
                                     "(nor a PowerShell Verb-Noun name)")
                _specs.append(spec)

            if not self._call(pack, fn, register):
                continue
            for spec in specs:
                if spec.name in owners and owners[spec.name] != pack:
                    raise DuplicateToolError(
                        f"tool {spec.name!r} is contributed by two packs: {owners[spec.name]!r} and {pack!r}; "
                        f"disable one of them ([packs] disable = [\"{pack}\"] in sentinelkit.toml) or rename the tool"
                    )
                owners[spec.name] = pack
                out.tools[spec.name] = spec
                self.packs[pack].tools.append(spec.name)
        for pack, fn, _ in self._each_impl("register_prompts"):
            prompts: list[PromptSpec] = []

            def register_prompt(prompt_fn: Callable[..., Any], name: str | None = None,
                                description: str | None = None, _pack: str = pack,
                                _out: list[PromptSpec] = prompts) -> None:
                _out.append(PromptSpec(prompt_fn, name or prompt_fn.__name__.replace("_", "-"), description, _pack))

            if self._call(pack, fn, register_prompt):
                for p in prompts:
                    out.prompts[p.name] = p
                    self.packs[pack].prompts.append(p.name)
        for pack, fn, _ in self._each_impl("register_resources"):
            resources: list[ResourceSpec] = []

            def register_resource(res_fn: Callable[..., Any], uri: str, name: str | None = None,
                                  description: str | None = None, mime_type: str | None = None,
                                  _pack: str = pack, _out: list[ResourceSpec] = resources) -> None:
                _out.append(ResourceSpec(res_fn, uri, name, description, mime_type, _pack))

            if self._call(pack, fn, register_resource):
                for r in resources:
                    out.resources[r.uri] = r
                    self.packs[pack].resources.append(r.uri)
        for pack, fn, _ in self._each_impl("register_bridges"):
            bridges: dict[str, Callable[..., Any]] = {}

            def register_bridge(name: str, factory: Callable[..., Any],
                                _out: dict[str, Callable[..., Any]] = bridges) -> None:
                _out[name] = factory

            if self._call(pack, fn, register_bridge):
                out.bridges.update(bridges)
        self._collected = out
        return out

    def _call(self, pack: str, fn: Callable[..., Any], register: Callable[..., Any]) -> bool:
        info = self.packs.setdefault(pack, PackInfo(name=pack, module="?"))
        try:
            fn(Register(register, info))
        except DuplicateToolError:
            raise
        except Exception as exc:
            info.error = f"registration failed: {_describe(exc)}"
            info.tools.clear()
            return False
        return True

    def get_credential(self, tenant: Any, settings: Any) -> Any:
        return self.pm.hook.get_credential(tenant=tenant, settings=settings)

    # -- reporting ----------------------------------------------------------------------------
    def errors(self) -> dict[str, str]:
        return {name: info.error for name, info in self.packs.items() if info.error}

    def warnings(self) -> dict[str, list[str]]:
        """Start-up problems packs reported with ``register.warn`` (and tools the server left out)."""
        return {name: list(info.warnings) for name, info in self.packs.items() if info.warnings}
