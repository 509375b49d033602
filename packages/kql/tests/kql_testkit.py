"""Helpers shared by sentinelkit-kql's tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


def sentinel_queries() -> list[dict[str, Any]]:
    """The published queries kept as test data, each with its text under ``query``."""
    entries = json.loads((DATA / "sentinel_queries.json").read_text())["queries"]
    return [{**e, "query": (DATA / e["file"]).read_text()} for e in entries]


def files_under(folder: Path) -> list[str]:
    """Every file and folder below ``folder`` (relative), to show nothing was left behind."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


@dataclass
class Registry:
    """A local stand-in for the npm registry: serves whatever ``body`` is, for any path."""

    url: str
    requests: list[str]
    body: bytes = b""
    status: int = 200
    truncate: bool = False  # announce the full length, send half, close
