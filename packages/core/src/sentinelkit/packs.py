"""Pack discovery and collection: entry points → pluggy plugins → settings, tools, prompts, resources.

One ``PackManager`` per server (and per test). A pack that fails to import, implements a hook that
does not exist, has invalid settings or fails to register is recorded with its error and left out;
the others still load. Two packs that register the same tool name stop start-up with an error naming
both.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata as metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from . import hookspecs
from .contract import PromptSpec, ResourceSpec, ToolSpec
from .errors import KitError
from .registrars import (
    BridgeFactory,
    BridgeRegistrar,
    CommandRegistrar,
    CommandSpec,
    ContentKindRegistrar,
    HookspecRegistrar,
    OptionSpec,
    PromptRegistrar,
    Registrar,
    ResourceRegistrar,
    SettingsRegistrar,
    ToolRegistrar,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .content import ContentKind
    from .settings import Settings

GROUP = "sentinelkit"
BUILTIN = ("core", "sentinelkit.builtin")
M = TypeVar("M", bound="BaseModel")
R = TypeVar("R", bound=Registrar)


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
    bridges: dict[str, BridgeFactory] = field(default_factory=dict)
    kinds: dict[str, ContentKind] = field(default_factory=dict)
    kind_packs: dict[str, str] = field(default_factory=dict)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when ``name`` is close to one of ``known``, else an empty string."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class PackManager:
    """Finds packs, loads them as pluggy plugins, and collects what they register."""

    def __init__(self, *, settings: Settings | None = None, enabled: Callable[[str], bool] | None = None,
                 entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.packs: dict[str, PackInfo] = {}
        self.settings = settings
        if enabled is None and settings is not None:
            enabled = settings.pack_enabled
        self._enabled = enabled or (lambda name: True)
        self._use_entry_points = entry_points
        self._loaded = False
        self._collected: Collected | None = None
        self._settings_models: dict[str, type[BaseModel]] = {}
        self._settings_values: dict[str, BaseModel] = {}

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

    def _load_one(self, name: str, target: str, loader: Callable[[], Any], dist: str | None,
                  version: str | None) -> None:
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

    def add(self, plugin: object, name: str, *, version: str | None = None) -> PackInfo:
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

    def _fail(self, name: str, error: str) -> None:
        """Mark a pack failed and take its hooks out, so that it contributes nothing."""
        info = self.packs[name]
        info.error = error
        info.tools.clear()
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)

    def _add_pack_hookspecs(self) -> None:
        for pack, fn in self._each_impl("register_hookspecs"):
            registrar = HookspecRegistrar(self, self.packs[pack])
            if not self._call(pack, fn, registrar):
                continue
            for namespace in registrar.namespaces:
                try:
                    self.pm.add_hookspecs(namespace)
                except Exception as exc:  # an implementation elsewhere does not fit the new spec
                    self._fail(getattr(exc, "plugin_name", None) or pack, f"not a valid sentinelkit pack: {_describe(exc)}")

    def _check_hook_names(self) -> None:
        """A hook implementation that matches no hook specification is its pack's load error."""
        known = [name for name in vars(self.pm.hook) if not name.startswith("_")]
        specified = [name for name in known if getattr(self.pm.hook, name).has_spec()]
        for name in known:
            caller = getattr(self.pm.hook, name)
            if caller.has_spec():
                continue
            for impl in caller.get_hookimpls():
                if impl.optionalhook or impl.plugin_name not in self.packs:
                    continue
                self._fail(impl.plugin_name, f"not a valid sentinelkit pack: its hook {name!r} matches no hook "
                           f"specification{did_you_mean(name, specified)}; installed hooks: {', '.join(sorted(specified))}")

    # -- settings -----------------------------------------------------------------------------
    def _collect_settings(self) -> None:
        for pack, fn in self._each_impl("register_settings"):
            registrar = SettingsRegistrar(self, self.packs[pack])
            if not self._call(pack, fn, registrar) or registrar.model is None:
                continue
            self._settings_models[pack] = registrar.model
            try:
                self._settings_values[pack] = self._validate_settings(pack, registrar.model)
            except KitError as exc:
                self._fail(pack, f"invalid settings: {exc}")

    def _validate_settings(self, pack: str, model: type[M]) -> M:
        from pydantic import ValidationError

        from .settings import describe_validation

        table = self.settings.pack_table(pack) if self.settings is not None else {}
        where = f"[packs.{pack}] of {self.settings.config_file}" if self.settings and self.settings.config_file \
            else f"[packs.{pack}]"
        try:
            return model.model_validate(table) if not _is_settings_model(model) else model(**table)
        except ValidationError as exc:
            raise KitError(f"{where} or its environment variables: {describe_validation(exc)}") from None

    def pack_settings(self, pack: str, model: type[M]) -> M:
        """The validated settings of ``pack`` (declared with ``register_settings``)."""
        declared = self._settings_models.get(pack)
        if declared is None:
            raise KitError(f"pack {pack!r} declared no settings model: implement register_settings and call "
                           f"register({model.__name__})")
        if not issubclass(declared, model):
            raise KitError(f"pack {pack!r} declared settings {declared.__name__}, not {model.__name__}")
        value = self._settings_values.get(pack)
        if value is None:
            value = self._validate_settings(pack, declared)
            self._settings_values[pack] = value
        return value  # type: ignore[return-value]

    def settings_models(self) -> dict[str, type[BaseModel]]:
        return dict(self._settings_models)

    # -- collecting ---------------------------------------------------------------------------
    def _each_impl(self, hook_name: str) -> Iterable[tuple[str, Callable[..., Any]]]:
        caller = getattr(self.pm.hook, hook_name, None)
        if caller is None:
            return
        for impl in caller.get_hookimpls():  # registration order: core, then installed packs by name
            info = self.packs.get(impl.plugin_name)
            if info is not None and not info.loaded:
                continue
            yield impl.plugin_name, impl.function

    def _registered(self, hook_name: str, make: Callable[[PackManager, PackInfo], R]) -> Iterable[tuple[str, R]]:
        for pack, fn in self._each_impl(hook_name):
            registrar = make(self, self.packs.setdefault(pack, PackInfo(name=pack, module="?")))
            if self._call(pack, fn, registrar):
                yield pack, registrar

    def collect(self) -> Collected:
        """Call every ``register_*`` hook, pack by pack; raise ``DuplicateToolError`` on a clash."""
        if self._collected is not None:
            return self._collected
        self.load()
        self._add_pack_hookspecs()
        self._check_hook_names()
        self._collect_settings()
        out = Collected()
        owners: dict[str, str] = {}
        for pack, tools in self._registered("register_tools", ToolRegistrar):
            for spec in tools.specs:
                if spec.name in owners and owners[spec.name] != pack:
                    raise DuplicateToolError(
                        f"tool {spec.name!r} is contributed by two packs: {owners[spec.name]!r} and {pack!r}; "
                        f"disable one of them ([packs] disable = [\"{pack}\"] in sentinelkit.toml) or rename the tool"
                    )
                owners[spec.name] = pack
                out.tools[spec.name] = spec
                self.packs[pack].tools.append(spec.name)
        for pack, prompts in self._registered("register_prompts", PromptRegistrar):
            for p in prompts.specs:
                out.prompts[p.name] = p
                self.packs[pack].prompts.append(p.name)
        for pack, resources in self._registered("register_resources", ResourceRegistrar):
            for r in resources.specs:
                out.resources[r.uri] = r
                self.packs[pack].resources.append(r.uri)
        for _, bridges in self._registered("register_bridges", BridgeRegistrar):
            out.bridges.update(bridges.factories)
        for pack, registered in self._registered("register_content_kinds", ContentKindRegistrar):
            clash = [k.name for k in registered.kinds if k.name in out.kinds]
            if clash:
                self._fail(pack, f"content kind {clash[0]!r} is already declared by pack {out.kind_packs[clash[0]]!r}")
                continue
            for kind in registered.kinds:
                out.kinds[kind.name] = kind
                out.kind_packs[kind.name] = pack
        self._collected = out
        return out

    def _call(self, pack: str, fn: Callable[..., Any], registrar: Registrar) -> bool:
        try:
            fn(registrar)
        except DuplicateToolError:
            raise
        except Exception as exc:
            self._fail(pack, f"registration failed: {_describe(exc)}")
            return False
        return True

    def commands(self) -> tuple[list[CommandSpec], list[OptionSpec]]:
        """The commands and options packs add to ``sentinelkit`` (``register_commands``); a pack whose hook
        fails is reported like any load failure and adds nothing."""
        self.load()
        commands: list[CommandSpec] = []
        options: list[OptionSpec] = []
        for _, registered in self._registered("register_commands", CommandRegistrar):
            commands += registered.commands
            options += registered.options
        return commands, options

    def get_credential(self, tenant: Any, settings: Any) -> Any:
        return self.pm.hook.get_credential(tenant=tenant, settings=settings)

    # -- reporting ----------------------------------------------------------------------------
    def errors(self) -> dict[str, str]:
        return {name: info.error for name, info in self.packs.items() if info.error}

    def warnings(self) -> dict[str, list[str]]:
        """Start-up problems packs reported with ``register.warn`` (and tools the server left out)."""
        return {name: list(info.warnings) for name, info in self.packs.items() if info.warnings}

    def check_configuration(self) -> None:
        """Raise ``ConfigError`` for pack names in ``[packs]`` that no installed pack has (a typo there would
        silently disable every pack), with a did-you-mean."""
        if self.settings is None:
            return
        from .settings import ConfigError

        self.load()
        installed = sorted(self.packs)
        where = str(self.settings.config_file or "sentinelkit.toml")
        packs = self.settings.packs
        for key, names in (("enable", packs.enable or []), ("disable", packs.disable)):
            for name in names:
                if name not in self.packs:
                    raise ConfigError(f"{where}: [packs] {key} names {name!r}, which is not an installed pack"
                                      f"{did_you_mean(name, installed)}; installed: {', '.join(installed)}")
        for name in self.settings.pack_tables():
            if name not in self.packs:
                raise ConfigError(f"{where}: [packs.{name}] is not an installed pack{did_you_mean(name, installed)}; "
                                  f"installed: {', '.join(installed)}")


def _is_settings_model(model: type[Any]) -> bool:
    """pydantic-settings models read their environment when constructed (``model(**table)``)."""
    try:
        from pydantic_settings import BaseSettings
    except ImportError:  # pragma: no cover
        return False
    return issubclass(model, BaseSettings)
