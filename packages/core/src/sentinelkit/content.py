"""Content kinds: what a pack declares about the Sentinel content it owns, so that backup, restore, diff
and drift work over every installed kind — a third party's too — without knowing any of them by name.

A pack subclasses ``ContentKind`` once per kind (``analytics_rule``, ``watchlist``, ...) and registers an
instance from its ``register_content_kinds`` hook. A kind knows how to list, read, write and delete its
objects in a workspace (through ``kit``, so the safety gate, etags and the audit apply), how to normalize
one (drop what the service computes; stable key order) so that two exports of an unchanged object are
identical, what makes "the same object" in two workspaces, and how to point an object at another
workspace.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .kit import Kit
    from .workspaces import Workspace

#: keys ARM and the services fill in, dropped by ``ContentKind.normalize`` wherever they appear
SERVER_KEYS = frozenset({"etag", "id", "systemData", "createdTimeUtc", "lastModifiedUtc", "lastModifiedTimeUtc",
                         "createdByUser", "lastUpdatedTimeUtc", "provisioningState", "timeCreated", "timeModified",
                         "created", "updated", "lastModified", "createdBy", "updatedBy"})
_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def stable(value: Any, *, drop: frozenset[str] = frozenset()) -> Any:
    """``value`` with dict keys sorted (recursively) and ``drop`` keys removed at every level."""
    if isinstance(value, Mapping):
        return {k: stable(value[k], drop=drop) for k in sorted(value) if k not in drop}
    if isinstance(value, list | tuple):
        return [stable(v, drop=drop) for v in value]
    return value


def file_stem(identity: str) -> str:
    """A file name for an object's identity: readable, no path separators, no ``..``."""
    stem = _SAFE.sub("_", identity).strip(" .") or "unnamed"
    return stem[:120]


class ContentKind(ABC):
    """One kind of content a pack owns (see the module docstring). Subclass and register an instance."""

    #: short snake_case name, unique among installed kinds (``analytics_rule``); also the backup folder
    name: ClassVar[str]
    #: what a person calls it in answers (``analytics rules``)
    title: ClassVar[str]
    #: version of the normalized form; a backup written by a newer version is refused on restore
    version: ClassVar[int] = 1
    #: keys dropped everywhere by the default ``normalize`` (the server's, plus the kind's own)
    drop: ClassVar[frozenset[str]] = SERVER_KEYS

    @abstractmethod
    async def list(self, kit: Kit, ws: Workspace) -> list[dict[str, Any]]:
        """Every object of this kind in ``ws``, as the service returns them."""

    @abstractmethod
    async def read(self, kit: Kit, ws: Workspace, identity: str) -> dict[str, Any] | None:
        """The object with this identity in ``ws``, fresh (not cached), or ``None``."""

    @abstractmethod
    async def write(self, kit: Kit, ws: Workspace, obj: dict[str, Any], *,
                    existing: dict[str, Any] | None) -> dict[str, Any]:
        """Create ``obj`` (normalized form) in ``ws``, or update ``existing`` with it (with its etag, so that
        a concurrent change is refused); returns what the service stored. Called after the tool confirmed."""

    @abstractmethod
    async def delete(self, kit: Kit, ws: Workspace, existing: dict[str, Any]) -> None:
        """Delete ``existing`` (as ``read`` or ``list`` returned it) from ``ws``, with its etag."""

    @abstractmethod
    def identity(self, obj: dict[str, Any]) -> str:
        """What makes the same object in two workspaces (e.g. a rule's display name, a watchlist's alias)."""

    def normalize(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The portable form: server-computed fields dropped, keys in a stable order. Override to drop more
        (and call ``stable``)."""
        normalized: dict[str, Any] = stable(obj, drop=self.drop)
        return normalized

    def rewrite(self, obj: dict[str, Any], source: Workspace | None, target: Workspace) -> dict[str, Any]:
        """``obj`` pointed at ``target`` instead of ``source``: every ARM id and customerId of the source
        workspace replaced (override for references the default cannot see)."""
        if source is None:
            return obj
        mapping = {source.id: target.id}
        if source.customer_id and target.customer_id:
            mapping[source.customer_id] = target.customer_id
        rewritten: dict[str, Any] = replace_references(obj, mapping)
        return rewritten

    def summary(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A few fields that describe the object in a plan or a diff (default: its identity)."""
        return {"name": self.identity(obj)}


def replace_references(value: Any, mapping: Mapping[str, str]) -> Any:
    """``value`` with every occurrence of each key of ``mapping`` (case-insensitive, in any string) replaced.

    A key matches only as a whole name: ``.../workspaces/law-a`` is not replaced inside
    ``.../workspaces/law-ab``, nor a customerId inside a longer hexadecimal string."""
    if not mapping:
        return value
    keys = "|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True))
    pattern = re.compile(rf"(?<![A-Za-z0-9_-])(?:{keys})(?![A-Za-z0-9_-])", re.IGNORECASE)
    lowered = {k.lower(): v for k, v in mapping.items()}

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return pattern.sub(lambda m: lowered[m.group(0).lower()], v)
        if isinstance(v, Mapping):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)


def kinds_by_name(kinds: Sequence[ContentKind]) -> dict[str, ContentKind]:
    return {k.name: k for k in kinds}
