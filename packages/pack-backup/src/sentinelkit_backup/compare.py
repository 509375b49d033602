"""Comparing content: field-level differences between two forms of one object, and per kind which objects
one side has that the other lacks, and which differ.

Paths read like the JSON (``properties.query``, ``properties.tactics``, ``items[3].Name``); a list of plain
values (tactics, streams) is one field, shown whole on both sides, because its order or one changed entry
is what a person reads; lists of objects are compared entry by entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sentinelkit import clip

from .content import Objects

#: characters of a value shown in a difference (long queries are cut, saying so)
VALUE_CHARS = 300


def _scalar_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, dict | list) for v in value)


def differences(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Every field that differs: ``{"path", "before", "after"}`` (``None`` where a side lacks it)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for k in sorted(set(before) | set(after)):
            out += differences(before.get(k), after.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(before, list) and isinstance(after, list) and not (_scalar_list(before) and _scalar_list(after)):
        out = []
        for i in range(max(len(before), len(after))):
            out += differences(before[i] if i < len(before) else None, after[i] if i < len(after) else None,
                               f"{path}[{i}]")
        return out
    if before == after:
        return []
    return [{"path": path or "(object)", "before": clip(before, VALUE_CHARS), "after": clip(after, VALUE_CHARS)}]


@dataclass
class KindDiff:
    """One kind, ``old`` side against ``new`` side: objects only in ``new`` (added), only in ``old``
    (removed), in both but different (changed, with their differences), and how many are the same."""

    kind: str
    title: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    same: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def compare(old: Objects, new: Objects) -> KindDiff:
    out = KindDiff(old.kind.name, old.kind.title)
    for k in sorted(set(old.normalized) | set(new.normalized)):
        if k not in old.normalized:
            out.added.append(new.identities[k])
        elif k not in new.normalized:
            out.removed.append(old.identities[k])
        else:
            found = differences(old.normalized[k], new.normalized[k])
            if found:
                out.changed[new.identities[k]] = found
            else:
                out.same += 1
    return out
