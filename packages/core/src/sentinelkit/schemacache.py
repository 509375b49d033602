"""A disk cache of tool schemas, so that ``tools/list`` does not pay for schema generation.

Building a FastMCP tool from a function (type hints, docstring parsing, a pydantic schema) costs a
few milliseconds per tool; with every pack installed that is most of the start-up budget. The cache
keeps each tool's description and input schema, keyed by everything that could change them (the
function's file and its modification time, the tool's declaration, the library versions). A cached
tool is a plain ``Tool`` with those fields; the real tool is built on its first call. Prompts are
cached the same way (their arguments parsed from the docstring need a docstring parser that nothing
else imports before the first ``tools/list``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from fastmcp.prompts import Prompt
from fastmcp.prompts.base import PromptArgument
from fastmcp.tools import Tool
from pydantic import PrivateAttr

from .contract import ToolSpec
from .leanschema import ListedAs

FORMAT = 2  # 2: lean listings (leanschema)


def cache_path() -> Path | None:
    """``$SENTINELKIT_CACHE_DIR`` or the user cache directory; ``SENTINELKIT_SCHEMA_CACHE=off`` disables it."""
    if os.environ.get("SENTINELKIT_SCHEMA_CACHE", "").lower() in ("0", "off", "false", "no"):
        return None
    base = os.environ.get("SENTINELKIT_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / ("sentinelkit" if not os.environ.get("SENTINELKIT_CACHE_DIR") else "") / "tool-schemas.json"


def spec_key(spec: ToolSpec) -> str | None:
    """Everything the schema depends on; None when the function's source file is unknown."""
    import fastmcp

    from . import __version__

    code = getattr(spec.fn, "__code__", None)
    if code is None:
        return None
    try:
        stat = os.stat(code.co_filename)
    except OSError:
        return None
    parts = [
        str(FORMAT), __version__, fastmcp.__version__, sys.version.split()[0], spec.pack, spec.name,
        spec.safety.value, spec.title or "", ",".join(sorted(spec.tags)), str(spec.timeout), str(spec.can_remove),
        spec.fn.__module__, spec.fn.__qualname__, code.co_filename, str(stat.st_mtime_ns), str(stat.st_size),
        str(code.co_firstlineno),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def prompt_key(fn: Any, name: str, description: str | None, pack: str) -> str | None:
    """Everything a prompt's listing depends on; None when the function's source file is unknown."""
    import fastmcp

    from . import __version__

    code = getattr(fn, "__code__", None)
    try:
        stat = os.stat(code.co_filename) if code is not None else None
    except OSError:
        stat = None
    if code is None or stat is None:
        return None
    parts = ["prompt", str(FORMAT), __version__, fastmcp.__version__, sys.version.split()[0], pack, name,
             description or "", fn.__module__, fn.__qualname__, code.co_filename, str(stat.st_mtime_ns),
             str(stat.st_size), str(code.co_firstlineno)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class SchemaCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("format") == FORMAT:
                    self.entries = data.get("tools", {})
            except (OSError, ValueError):
                self.entries = {}

    def get(self, key: str | None) -> dict[str, Any] | None:
        return self.entries.get(key) if key else None

    def put(self, key: str | None, tool: Tool) -> None:
        if key is None or self.path is None:
            return
        self.entries[key] = {"description": tool.description, "parameters": tool.parameters}
        self.dirty = True

    def put_prompt(self, key: str | None, prompt: Prompt) -> None:
        if key is None or self.path is None:
            return
        self.entries[key] = {"description": prompt.description,
                             "arguments": [a.model_dump() for a in prompt.arguments or []]}
        self.dirty = True

    def save(self) -> None:
        """Write atomically; a read-only or missing cache directory only costs speed."""
        if not self.dirty or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tool-schemas.")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"format": FORMAT, "tools": self.entries}, handle)
            os.replace(tmp, self.path)
            self.dirty = False
        except OSError:
            pass


class DeferredTool(ListedAs, Tool):
    """A tool listed from the cache; the real FastMCP tool is built on the first call."""

    _build: Any = PrivateAttr(default=None)
    _real: Tool | None = PrivateAttr(default=None)

    def real(self) -> Tool:
        if self._real is None:
            self._real = self._build()
        return self._real

    async def run(self, arguments: dict[str, Any]) -> Any:
        return await self.real().run(arguments)


class DeferredPrompt(Prompt):
    """A prompt listed from the cache; the real FastMCP prompt is built when it is first rendered."""

    _build: Any = PrivateAttr(default=None)
    _real: Prompt | None = PrivateAttr(default=None)

    def real(self) -> Prompt:
        if self._real is None:
            self._real = self._build()
        return self._real

    async def render(self, arguments: dict[str, Any] | None = None) -> Any:
        return await self.real().render(arguments)


def build_prompt_cached(fn: Any, *, name: str, description: str | None, pack: str, cache: SchemaCache) -> Prompt:
    """The prompt from the schema cache when it is there (built when first rendered), else built now."""
    meta = {"sentinelkit": {"pack": pack}}

    def build() -> Prompt:
        return Prompt.from_function(fn, name=name, description=description, meta=meta)

    key = prompt_key(fn, name, description, pack)
    hit = cache.get(key)
    if hit is None or "arguments" not in hit:
        prompt = build()
        cache.put_prompt(key, prompt)
        return prompt
    deferred = DeferredPrompt(name=name, description=hit["description"], meta=meta,
                              arguments=[PromptArgument(**a) for a in hit["arguments"]])
    deferred._build = build
    return deferred
