"""Which functions become tools: discovery of every configured script, then include/exclude, verb
safety and per-function overrides. Computed once per configuration and script version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sentinelkit import Safety, valid_tool_name

from .discovery import FunctionInfo, ScriptInfo, parse_script
from .schema import ToolParam, UnsupportedParameter, tool_params
from .settings import PowerShellSettings
from .verbs import matches, override_for, verb_safety

GENERATOR_VERSION = "1"


@dataclass
class GeneratedTool:
    function: FunctionInfo
    safety: Safety
    params: list[ToolParam]
    safety_source: str  # "verb Get" or "configuration"
    digest: str

    @property
    def name(self) -> str:
        return self.function.name


@dataclass
class Skipped:
    function: str
    script: str
    reason: str


@dataclass
class Catalog:
    settings: PowerShellSettings
    scripts: list[ScriptInfo] = field(default_factory=list)
    tools: dict[str, GeneratedTool] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def status(self) -> dict[str, Any]:
        s = self.settings
        return {
            "mode": f"remote ({s.remote.host}, WinRM over {'HTTPS' if s.remote.ssl else 'HTTP'}, {s.remote.auth})"
            if s.remote else "local",
            "executable": None if s.remote else (s.host_command[0] if s.host_command else s.executable),
            "scripts": [{"path": str(i.path), "functions": len(i.functions),
                         "tools": sum(1 for t in self.tools.values() if t.function.script == i.path)}
                        for i in self.scripts],
            "tools": len(self.tools),
            "by_safety": {v.value: sum(1 for t in self.tools.values() if t.safety is v) for v in Safety},
            "skipped": [vars(x) for x in self.skipped],
            "warnings": self.warnings,
            "timeout_s": s.timeout, "pool_size": s.pool_size, "load": s.load,
        }


def build_catalog(settings: PowerShellSettings) -> Catalog:
    """Parse every script. A configured script that is missing or unreadable is a warning (its
    functions are left out; the other scripts' tools and ``powershell_status`` still work)."""
    catalog = Catalog(settings)
    options = json.dumps({"v": GENERATOR_VERSION, "safety": settings.safety, "unknown": settings.unknown_verbs},
                         sort_keys=True)
    for path in settings.scripts:
        try:
            source = path.read_bytes()
        except FileNotFoundError:
            catalog.warnings.append(
                f"the PowerShell script {path} does not exist (POWERSHELL_SCRIPT_PATH"
                + (f" / {settings.config_file}" if settings.config_file else "")
                + "): its functions are not served; fix the path and restart the server")
            continue
        except OSError as exc:
            catalog.warnings.append(f"the PowerShell script {path} cannot be read ({exc.strerror}): its functions "
                                    "are not served; fix it and restart the server")
            continue
        info = parse_script(path.resolve(), source)
        catalog.scripts.append(info)
        content = hashlib.sha256(source).hexdigest()
        digest = hashlib.sha256(f"{options}\x1f{path.resolve()}\x1f{content}".encode()).hexdigest()[:16]
        if info.top_level_commands and settings.load == "script":
            catalog.warnings.append(
                f"{path.name} runs commands when loaded ({'; '.join(info.top_level_commands[:3])}); if that prompts "
                "or signs in, set load = \"functions\" to load only its function definitions")
        for fn in info.functions:
            _add(catalog, settings, fn, digest)
    return catalog


def _add(catalog: Catalog, settings: PowerShellSettings, fn: FunctionInfo, digest: str) -> None:
    def skip(reason: str) -> None:
        catalog.skipped.append(Skipped(fn.name, fn.script.name, reason))

    if fn.nested:
        return skip("defined inside another function")
    if not matches(fn.name, settings.include) or matches(fn.name, settings.exclude):
        return skip("excluded by configuration (include/exclude)")
    if not valid_tool_name(fn.name):
        return skip("not a Verb-Noun name that can be a tool name")
    if fn.name in catalog.tools:
        return skip(f"also defined in {catalog.tools[fn.name].function.script.name}; the first definition is used")
    configured = override_for(fn.name, settings.safety)
    if fn.interactive and configured is None:
        return skip("prompts for input (Read-Host, Out-GridView, ...) and cannot run without a console")
    if configured is not None:
        safety, source = Safety(configured), "configuration"
    else:
        by_verb = verb_safety(fn.verb)
        if by_verb is None:
            if settings.unknown_verbs == "exclude":
                return skip(f"verb {fn.verb!r} has no known safety class; set one in [safety]")
            by_verb, source = settings.unknown_verbs, f"unknown verb {fn.verb} (default {settings.unknown_verbs})"
        else:
            source = f"verb {fn.verb}"
        safety = Safety(by_verb)
    try:
        params = tool_params(fn)
    except UnsupportedParameter as exc:
        return skip(str(exc))
    catalog.tools[fn.name] = GeneratedTool(fn, safety, params, source, digest)


_cache: dict[str, Catalog] = {}


def catalog_for(settings: PowerShellSettings) -> Catalog:
    """The catalog for these settings and the scripts' current contents (cached while neither changes)."""
    stamps = []
    for p in settings.scripts:
        try:
            st = p.stat()
            stamps.append(f"{p}:{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            stamps.append(f"{p}:missing")
    key = settings.model_dump_json() + "|" + "|".join(stamps)
    if key not in _cache:
        _cache.clear()
        _cache[key] = build_catalog(settings)
    return _cache[key]
