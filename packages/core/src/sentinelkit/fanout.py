"""Running one function over many workspaces: bounded concurrency, progress, per-workspace errors.

One failing workspace (or tenant) never fails the call: its error is reported next to the others'
results. The answer is data: (workspace, result) and (workspace, error) pairs, in the targets' order,
so no pack has to rejoin results by label.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import KitError
from .telemetry.spans import fail, workspace_span
from .workspaces import Unreachable, Workspace

T = TypeVar("T")
#: about how many progress notifications a fan-out sends (each workspace's, up to twice this many targets)
PROGRESS_STEPS = 100


@dataclass(frozen=True)
class Targets(Sequence[Workspace]):
    """The workspaces a call works on, and whether the user named exactly one (``single``): then a
    failure in it is the answer (an error), not a detail beside other workspaces' results."""

    workspaces: tuple[Workspace, ...]
    single: bool = False
    unreachable: tuple[Unreachable, ...] = ()
    """Parts of the estate that "all" would have included but discovery could not list: every fan-out
    answer reports them as failed."""
    refused: Mapping[str, str] = field(default_factory=dict)
    """ARM id (lower case) → why a policy refuses this call there: ``fan_out`` skips it, reporting the reason."""

    def __getitem__(self, index: int) -> Workspace:  # type: ignore[override]
        return self.workspaces[index]

    def __len__(self) -> int:
        return len(self.workspaces)

    def __iter__(self) -> Iterator[Workspace]:
        return iter(self.workspaces)


def result_keys(workspaces: Sequence[Workspace]) -> list[str]:
    """One unique key per workspace: its label (unique across discovered workspaces: see
    ``Workspace.label``), else its ARM id when two targets still share a label."""
    counts = Counter(ws.label.lower() for ws in workspaces)
    return [ws.label if counts[ws.label.lower()] == 1 else ws.id for ws in workspaces]


@dataclass
class FanOut(Generic[T]):
    """What ``kit.fan_out`` returns: results and errors paired with their workspace, in target order."""

    results: list[tuple[Workspace, T]] = field(default_factory=list)
    errors: list[tuple[Workspace, KitError]] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)
    """ARM id (lower case) → the unique key answers use for that workspace (see ``result_keys``)."""
    unreachable: list[Unreachable] = field(default_factory=list)
    """What discovery could not list, which the targets would have included (counted as failed)."""

    @property
    def total(self) -> int:
        return len(self.results) + len(self.errors) + len(self.unreachable)

    @property
    def failed(self) -> int:
        """How many targets failed: workspaces whose call failed, and parts discovery could not list."""
        return len(self.errors) + len(self.unreachable)

    def values(self) -> list[T]:
        return [value for _, value in self.results]

    def key(self, ws: Workspace) -> str:
        """How answers name ``ws``: its label, unique among the targets (else its ARM id)."""
        return self.keys.get(ws.id.lower(), ws.label)

    def summary(self) -> dict[str, int]:
        return {"workspaces": self.total, "succeeded": len(self.results), "failed": self.failed}

    def error_messages(self) -> dict[str, str]:
        """``{workspace key: message}`` for answers, and ``{scope: why its workspaces are missing}``."""
        out = {self.key(ws): str(exc) for ws, exc in self.errors}
        for u in self.unreachable:
            tenant = f" of tenant {u.tenant}" if u.tenant else ""
            out[u.scope] = (f"its workspaces{tenant} could not be listed, so they are missing from this answer "
                            f"(tried again on the next call): {u.message}")
        return out

    def to_json(self) -> dict[str, Any]:
        """``{"results": {key: value}, "errors": {key: message}, "summary": {...}}``."""
        return {"results": {self.key(ws): value for ws, value in self.results}, "errors": self.error_messages(),
                "summary": self.summary()}


async def fan_out(targets: Sequence[Workspace], fn: Callable[[Workspace], Awaitable[T]], *, concurrency: int,
                  progress: Callable[[float, float | None, str | None], Awaitable[None]],
                  label: str = "workspaces") -> FanOut[T]:
    """Run ``fn(ws)`` for every target, at most ``concurrency`` at once, reporting progress.

    An expected failure (``KitError``) of one workspace is its error; an unexpected exception too (a bug
    in one branch must not hide the others' answers), with its type named."""
    total = len(targets)
    keys = result_keys(targets)
    limit = asyncio.Semaphore(concurrency)
    results: dict[int, T] = {}
    errors: dict[int, KitError] = {}
    done = 0
    lock = asyncio.Lock()
    step = max(1, total // PROGRESS_STEPS)  # a fan-out over 1,000 workspaces: not 1,000 notifications
    await progress(0, total, f"0/{total} {label}")

    refused = targets.refused if isinstance(targets, Targets) else {}

    async def one(index: int, ws: Workspace) -> None:
        nonlocal done
        async with limit:
            with workspace_span(ws) as span:  # one child span of the call's per workspace
                try:
                    if ws.id.lower() in refused:
                        from .policy import PolicyRefused

                        raise PolicyRefused(refused[ws.id.lower()])
                    results[index] = await fn(ws)
                except KitError as exc:
                    errors[index] = exc
                    fail(span, exc)
                except Exception as exc:
                    errors[index] = KitError(f"unexpected {type(exc).__name__}: {exc}")
                    fail(span, exc)
        async with lock:
            done += 1
            if done % step and done != total:
                return
            state = "failed" if index in errors else "done"
            await progress(done, total, f"{done}/{total} {label} ({keys[index]} {state})")

    await asyncio.gather(*(one(i, ws) for i, ws in enumerate(targets)))
    return FanOut(
        results=[(ws, results[i]) for i, ws in enumerate(targets) if i in results],
        errors=[(ws, errors[i]) for i, ws in enumerate(targets) if i in errors],
        keys={ws.id.lower(): key for ws, key in zip(targets, keys, strict=True)},
        unreachable=list(targets.unreachable) if isinstance(targets, Targets) else [],
    )
