"""Content as this pack handles it: the objects of one kind in one workspace, keyed by identity, read live
through the kind (``read_live``) or from a backup (``store``), and the kinds a call chose.

Identities match case-insensitively (``key``), as the kinds themselves look objects up; two objects of one
workspace whose identities match are not guessed between: both are reported and left out.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sentinelkit import ContentKind, Kit, KitError, Workspace


def key(identity: str) -> str:
    return identity.casefold()


@dataclass
class Objects:
    """One kind's objects in one workspace: normalized forms and, when read live, the objects as listed (what
    ``write`` and ``delete`` need: names, etags). ``error``: the kind could not be read there at all."""

    kind: ContentKind
    normalized: dict[str, dict[str, Any]] = field(default_factory=dict)
    listed: dict[str, dict[str, Any]] = field(default_factory=dict)
    identities: dict[str, str] = field(default_factory=dict)  # key → identity as the object spells it
    problems: list[dict[str, str]] = field(default_factory=list)  # per object: identity, error
    error: str | None = None

    def add(self, identity: str, normalized: dict[str, Any], listed: dict[str, Any] | None = None) -> None:
        k = key(identity)
        self.normalized[k] = normalized
        self.identities[k] = identity
        if listed is not None:
            self.listed[k] = listed


def choose_kinds(kit: Kit, names: Sequence[str] | None) -> list[ContentKind]:
    """The installed kinds a call asked for (all when ``names`` is empty), in restore order."""
    installed = kit.content_kinds()
    if not installed:
        raise KitError("no installed pack declares content kinds, so there is nothing to back up or compare: install "
                       "the packs whose content you keep (sentinelkit-rules, sentinelkit-hunting, sentinelkit-tables...)")
    chosen = list(installed.values()) if not names else []
    for name in names or []:
        kind = installed.get(name.strip())
        if kind is None:
            raise unknown_kind(name, installed)
        if kind not in chosen:
            chosen.append(kind)
    return sorted(chosen, key=lambda k: (k.restore_order, k.name))


def unknown_kind(name: str, known: Iterable[str], where: str = "installed") -> KitError:
    """The refusal of a kind name nothing knows (a typo, most often), with the closest known name."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return KitError(f"no {where} content kind is called {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                    + f"; {where}: {', '.join(names)}")


async def read_kind(kit: Kit, ws: Workspace, kind: ContentKind) -> Objects:
    """Every object of ``kind`` in ``ws``, normalized. A failure to list is the kind's ``error``; an object that
    cannot be normalized, or shares its identity with another, is a problem of that object."""
    out = Objects(kind)
    try:
        listed = await kind.list(kit, ws)
    except KitError as exc:
        out.error = str(exc)
        return out
    except Exception as exc:  # a bug in the kind's pack must not hide the other kinds
        out.error = f"unexpected {type(exc).__name__} from pack of kind {kind.name!r}: {exc}"
        return out
    seen: dict[str, list[str]] = {}
    for obj in listed:
        try:
            identity = kind.identity(obj)
            normalized = kind.normalize(obj)
        except Exception as exc:
            out.problems.append({"identity": str(obj.get("name") or "?"),
                                 "error": f"could not be read as a {kind.name}: {type(exc).__name__}: {exc}"})
            continue
        seen.setdefault(key(identity), []).append(identity)
        out.add(identity, normalized, obj)
    for k, names in seen.items():
        if len(names) > 1:
            out.normalized.pop(k), out.listed.pop(k), out.identities.pop(k)
            out.problems.append({"identity": names[0], "error": f"{len(names)} {kind.title} in {ws.label} are called "
                                 f"{names[0]!r}: left out (which one is meant is unclear); rename all but one"})
    return out


class Progress:
    """MCP progress per workspace and kind, across a call's workspaces (one counter, always increasing)."""

    def __init__(self, kit: Kit, total: int, verb: str) -> None:
        self.kit, self.total, self.verb, self.done = kit, total, verb, 0
        self._lock = asyncio.Lock()

    async def step(self, ws: Workspace, what: str) -> None:
        async with self._lock:
            self.done += 1
            await self.kit.progress(self.done, self.total, f"{self.done}/{self.total} {self.verb} {ws.label}: {what}")


async def read_workspace(kit: Kit, ws: Workspace, kinds: Sequence[ContentKind],
                         progress: Progress | None = None) -> dict[str, Objects]:
    """Every chosen kind of ``ws``, read concurrently."""
    async def one(kind: ContentKind) -> Objects:
        found = await read_kind(kit, ws, kind)
        if progress is not None:
            await progress.step(ws, f"{kind.title}: " + (f"failed ({found.error})" if found.error else
                                                          f"{len(found.normalized)}"))
        return found

    results = await asyncio.gather(*(one(k) for k in kinds))
    return {k.name: r for k, r in zip(kinds, results, strict=True)}


def pointed(objects: Objects, source: Workspace | None, target: Workspace) -> Objects:
    """``objects`` (normalized, as in ``source``) as they would be in ``target``: workspace references rewritten
    by their kind. An object that cannot be rewritten becomes a problem."""
    if source is None or source.id.lower() == target.id.lower():
        return objects
    import copy

    out = Objects(objects.kind, identities=dict(objects.identities), problems=list(objects.problems))
    for k, obj in objects.normalized.items():
        try:
            out.normalized[k] = objects.kind.rewrite(copy.deepcopy(obj), source, target)
        except Exception as exc:
            out.identities.pop(k)
            out.problems.append({"identity": objects.identities[k], "error": f"could not be pointed at {target.label}: "
                                                                             f"{type(exc).__name__}: {exc}"})
    return out
