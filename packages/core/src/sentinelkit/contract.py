"""The tool contract: what a pack declares about a tool, and how the safety class maps to MCP.

Kept free of heavy imports: a pack's plugin module imports this at start-up, before any tool runs.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

TOOL_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$|^[A-Z][a-zA-Z]+-[A-Z][A-Za-z0-9]+$")
"""``<object>_<verb>`` in snake_case, or a PowerShell ``Verb-Noun`` name for generated tools."""


def valid_tool_name(name: str) -> bool:
    """Whether ``name`` is a valid tool name: ``<object>_<verb>`` in snake_case, or PowerShell ``Verb-Noun``."""
    return bool(TOOL_NAME_RE.match(name))


class Safety(str, enum.Enum):
    """What a tool may do to Azure; decides annotations, tags, read-only mode and confirmation."""

    READ_ONLY = "read_only"
    ADDITIVE = "additive"
    DESTRUCTIVE = "destructive"

    @property
    def writes(self) -> bool:
        return self is not Safety.READ_ONLY

    def annotations(self) -> dict[str, bool]:
        """MCP tool annotations (hints clients use to decide whether to ask the user), only those that differ
        from the specification's defaults (``readOnlyHint`` false, ``destructiveHint`` true, ``idempotentHint``
        false, ``openWorldHint`` true; the last three mean something only when ``readOnlyHint`` is false), except
        ``destructiveHint`` of a destructive tool, which is always said."""
        if self is Safety.READ_ONLY:
            return {"readOnlyHint": True}
        if self is Safety.ADDITIVE:
            return {"destructiveHint": False, "idempotentHint": True}
        return {"destructiveHint": True}

    @classmethod
    def from_annotations(cls, annotations: Any) -> Safety:
        """The safety class MCP annotations (an object or a dict, as a client received them) stand for,
        reading an absent hint as the specification's default."""
        def hint(name: str, snake: str) -> Any:
            if isinstance(annotations, dict):
                return annotations.get(name)
            return getattr(annotations, snake, None) if annotations is not None else None

        if hint("readOnlyHint", "read_only_hint"):
            return cls.READ_ONLY
        return cls.ADDITIVE if hint("destructiveHint", "destructive_hint") is False else cls.DESTRUCTIVE

    @property
    def tag(self) -> str:
        return self.value.replace("_", "-")


READ_ONLY = Safety.READ_ONLY
ADDITIVE = Safety.ADDITIVE
DESTRUCTIVE = Safety.DESTRUCTIVE


@dataclass
class ToolSpec:
    """One tool as a pack declares it. ``fn`` is an async function whose first parameter is ``kit``."""

    fn: Callable[..., Any]
    name: str
    safety: Safety
    title: str | None = None
    tags: frozenset[str] = frozenset()
    pack: str = ""
    timeout: float | None = None
    can_remove: bool = False
    """An ADDITIVE tool whose change can remove something (a data flow, a classification): it takes
    ``confirm`` and ``kit.confirm_change(..., removes=True)`` asks like a DESTRUCTIVE tool."""

    @property
    def asks(self) -> bool:
        """Whether calls may ask for confirmation (and so take ``confirm``)."""
        return self.safety is Safety.DESTRUCTIVE or self.can_remove

    @property
    def description(self) -> str:
        return (self.fn.__doc__ or "").strip()


@dataclass
class PromptSpec:
    """A prompt a pack contributes (a function returning the prompt text or messages)."""

    fn: Callable[..., Any]
    name: str
    description: str | None = None
    pack: str = ""


@dataclass
class ResourceSpec:
    """A resource a pack contributes (a function returning its content) at ``uri``."""

    fn: Callable[..., Any]
    uri: str
    name: str | None = None
    description: str | None = None
    mime_type: str | None = None
    pack: str = ""


@dataclass
class _ToolMark:
    safety: Safety
    name: str | None
    title: str | None
    tags: frozenset[str] = field(default_factory=frozenset)
    timeout: float | None = None
    can_remove: bool = False


def tool(
    safety: Safety | str = Safety.READ_ONLY,
    *,
    name: str | None = None,
    title: str | None = None,
    tags: set[str] | frozenset[str] = frozenset(),
    timeout: float | None = None,
    can_remove: bool = False,
) -> Callable[[F], F]:
    """Mark an async function as a sentinelkit tool; register it from a ``register_tools`` hook.

    ``can_remove`` (ADDITIVE tools): some calls remove something; those call
    ``kit.confirm_change(..., removes=True)`` and are confirmed like a DESTRUCTIVE tool's.

    >>> @tool(READ_ONLY)
    ... async def incident_list(kit, workspace: str) -> dict: ...
    """
    if can_remove and Safety(safety) is not Safety.ADDITIVE:
        raise ValueError("can_remove is for ADDITIVE tools (DESTRUCTIVE ones always ask)")
    mark = _ToolMark(Safety(safety), name, title, frozenset(tags), timeout, can_remove)

    def deco(fn: F) -> F:
        fn.__sentinelkit_tool__ = mark  # type: ignore[attr-defined]
        return fn

    return deco


def spec_from(fn: Callable[..., Any], *, pack: str, name: str | None = None, safety: Safety | str | None = None,
              title: str | None = None, tags: set[str] | frozenset[str] | None = None,
              timeout: float | None = None) -> ToolSpec:
    """Build a ``ToolSpec`` from a function marked with ``@tool``; the keywords override the mark."""
    import inspect

    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"tool {getattr(fn, '__name__', fn)!r} of pack {pack!r} must be an `async def` function")
    if not (fn.__doc__ or "").strip():
        raise ValueError(f"tool {fn.__name__!r} of pack {pack!r} has no docstring: clients show it as the "
                         "tool's description")
    mark: _ToolMark | None = getattr(fn, "__sentinelkit_tool__", None)
    chosen = safety or (mark.safety if mark else None)
    if chosen is None:
        raise ValueError(
            f"tool {getattr(fn, '__name__', fn)!r} of pack {pack!r} declares no safety class: "
            "decorate it with @sentinelkit.tool(READ_ONLY | ADDITIVE | DESTRUCTIVE) or pass safety="
        )
    return ToolSpec(
        fn=fn,
        name=name or (mark.name if mark and mark.name else fn.__name__),
        safety=Safety(chosen),
        title=title or (mark.title if mark else None),
        tags=frozenset(tags or (mark.tags if mark else ())),
        timeout=timeout or (mark.timeout if mark else None),
        pack=pack,
        can_remove=bool(mark and mark.can_remove and Safety(chosen) is Safety.ADDITIVE),
    )
