"""Full column lists of the Microsoft tables that Sentinel content reads, kept as data (``tables/``).

The lists come from Microsoft's own sources (the Azure Monitor table reference and the schemas the
Azure-Sentinel repository validates its content against); each block of ``tables/microsoft_tables.txt``
names its source file and commit. Loaded once, on first use.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

_TYPES = {"": "string", "i": "int", "l": "long", "r": "real", "b": "bool", "t": "datetime", "d": "dynamic",
          "g": "guid", "ts": "timespan"}


@dataclass(frozen=True)
class TableSource:
    """Where a table's column list comes from (repository, path, commit)."""

    repository: str
    path: str
    commit: str


@dataclass(frozen=True)
class MicrosoftTable:
    name: str
    #: ``(column, KQL type)`` in the source's order, without TenantId, TimeGenerated and Type
    columns: tuple[tuple[str, str], ...]
    source: TableSource


@functools.cache
def microsoft_tables() -> dict[str, MicrosoftTable]:
    """Every table of the data file, by name."""
    text = resources.files(__package__).joinpath("tables/microsoft_tables.txt").read_text(encoding="utf-8")
    tables: dict[str, MicrosoftTable] = {}
    header: list[str] | None = None
    columns: list[tuple[str, str]] = []

    def close() -> None:
        if header is not None:
            name, repo, path, commit = header
            tables[name] = MicrosoftTable(name, tuple(columns), TableSource(repo, path, commit))

    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("@"):
            close()
            header, columns = line[1:].split(), []
            continue
        for word in line.split():
            name, _, short = word.partition(":")
            if name not in ("TenantId", "TimeGenerated", "Type"):
                columns.append((name, _TYPES[short]))
    close()
    return tables
