"""Hunting-query YAML files of the Azure-Sentinel repository (``Hunting Queries/`` and
``Solutions/*/Hunting Queries/``): id, name, description, tactics, relevantTechniques, query."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sentinelkit import KitError

_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")


@dataclass(frozen=True)
class HuntingYaml:
    name: str
    query: str
    description: str = ""
    tactics: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)
    content_id: str | None = None
    version: str | None = None


def _strings(value: Any, what: str, source: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KitError(f"{source}: {what} must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def parse(text: str, source: str = "the YAML") -> HuntingYaml:
    """The hunting query a YAML file describes; a clear error for what cannot be one."""
    import yaml  # type: ignore[import-untyped,unused-ignore]

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise KitError(f"{source} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(doc, dict):
        raise KitError(f"{source} is not a hunting query: expected a mapping with name and query")
    query = doc.get("query")
    if not isinstance(query, str) or not query.strip():
        hint = (" (the file only points to where the content moved; use the file at its new location)"
                if "moved" in str(doc.get("description", "")).lower() else "")
        raise KitError(f"{source} has no query{hint}; nothing was written")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise KitError(f"{source} has no name; a hunting query needs one")
    techniques = _strings(doc.get("relevantTechniques"), "relevantTechniques", source)
    bad = [t for t in techniques if not _TECHNIQUE.match(t)]
    if bad:
        raise KitError(f"{source}: relevantTechniques {bad} are not MITRE technique ids such as T1078 or T1078.004")
    content_id = str(doc["id"]).strip().lower() if doc.get("id") else None
    if content_id is not None:
        try:
            uuid.UUID(content_id)
        except ValueError:
            raise KitError(f"{source}: id {doc['id']!r} is not a GUID") from None
    description = doc.get("description") or ""
    return HuntingYaml(name=name.strip(), query=query.strip("\n"), description=str(description).strip().strip("'"),
                       tactics=_strings(doc.get("tactics"), "tactics", source), techniques=techniques,
                       content_id=content_id, version=str(doc["version"]) if doc.get("version") else None)
