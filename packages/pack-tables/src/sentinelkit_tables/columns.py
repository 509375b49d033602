"""Custom table schemas: names and columns checked before anything is sent, and columns inferred from
sample JSON records (the portal's "create a table from a sample" without the portal)."""

from __future__ import annotations

import re
from typing import Any

from sentinelkit import KitError

#: the Tables API's column types (``ColumnTypeEnum``); what people also write → the API's spelling
COLUMN_TYPES = ("string", "int", "long", "real", "boolean", "dateTime", "guid", "dynamic")
_ALIASES = {t.lower(): t for t in COLUMN_TYPES} | {"bool": "boolean", "double": "real", "float": "real",
                                                   "uuid": "guid", "uniqueid": "guid", "object": "dynamic",
                                                   "date": "dateTime", "timestamp": "dateTime"}
COLUMN_HINTS = ("uri", "guid", "armPath", "ip")
#: columns Azure Monitor adds itself: a custom schema may not declare them (compared case-insensitively)
RESERVED = frozenset({"tenantid", "type", "_resourceid", "_subscriptionid", "_itemid", "_billedsize", "_isbillable",
                      "_timereceived", "_internal_workspaceresourceid", "sourcesystem", "mg", "managementgroupname"})
CUSTOM_TABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,59}_CL$")
COLUMN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,44}$")
TIME = "TimeGenerated"
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$")


def check_table_name(name: str) -> None:
    if CUSTOM_TABLE.match(name):
        return
    if not name.endswith("_CL"):
        raise KitError(f"{name!r} is not a custom table name: custom tables end with '_CL' (e.g. "
                       f"{re.sub(r'[^A-Za-z0-9_]', '', name) or 'MyApp'}_CL); nothing was sent")
    raise KitError(f"{name!r} is not a valid custom table name: it must start with a letter, contain only letters, "
                   "digits and '_', and be at most 63 characters including '_CL'; nothing was sent")


def column_type(given: Any, column: str) -> str:
    found = _ALIASES.get(str(given or "").strip().lower())
    if found is None:
        raise KitError(f"column {column!r} has type {given!r}, which custom tables do not have; use one of "
                       f"{', '.join(COLUMN_TYPES)} (a timespan is stored as string or real); nothing was sent")
    return found


def check_column_name(name: str, *, azure_table: str | None = None) -> None:
    if not COLUMN_NAME.match(name):
        raise KitError(f"column name {name!r} is invalid: it must start with a letter and contain only letters, "
                       "digits and '_' (at most 45 characters); nothing was sent")
    if name.lower() in RESERVED:
        raise KitError(f"column name {name!r} is reserved: Azure Monitor fills that column itself. Choose another "
                       "name; nothing was sent")
    if azure_table and not name.endswith("_CF"):
        raise KitError(f"{azure_table} is an Azure table: only custom columns whose names end with '_CF' can be "
                       f"added to it (e.g. {name}_CF); nothing was sent")


def parse_columns(spec: list[Any], *, azure_table: str | None = None) -> list[dict[str, Any]]:
    """``["Name:type", {"name", "type", "description"?, "hint"?}, ...]`` → the Tables API's columns."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in spec:
        if isinstance(item, str):
            name, _, typ = item.partition(":")
            col: dict[str, Any] = {"name": name.strip(), "type": typ.strip() or "string"}
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            col = {"name": item["name"].strip(), "type": item.get("type") or "string"}
            if item.get("description"):
                col["description"] = str(item["description"])
            hint = item.get("hint") or item.get("dataTypeHint")
            if hint:
                if hint not in COLUMN_HINTS:
                    raise KitError(f"column {col['name']!r} has hint {hint!r}; use one of {', '.join(COLUMN_HINTS)}")
                col["dataTypeHint"] = hint
        else:
            raise KitError(f"a column is given as {item!r}: write \"Name:type\" or {{\"name\": ..., \"type\": ...}}")
        check_column_name(col["name"], azure_table=azure_table)
        col["type"] = column_type(col["type"], col["name"])
        if col["name"].lower() in seen:
            raise KitError(f"column {col['name']!r} is given twice; nothing was sent")
        seen.add(col["name"].lower())
        out.append(col)
    return out


def with_time(columns: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """``TimeGenerated`` (dateTime) first, added when missing; whether it was added."""
    time = [c for c in columns if c["name"] == TIME]
    if time and time[0]["type"] != "dateTime":
        raise KitError(f"{TIME} must be a dateTime column (got {time[0]['type']}); nothing was sent")
    if any(c["name"].lower() == TIME.lower() and c["name"] != TIME for c in columns):
        raise KitError(f"write {TIME} with this exact casing; nothing was sent")
    rest = [c for c in columns if c["name"] != TIME]
    return [time[0] if time else {"name": TIME, "type": "dateTime"}, *rest], not time


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "real"
    if isinstance(value, dict | list):
        return "dynamic"
    if isinstance(value, str) and _ISO_TIME.match(value.strip()):
        return "dateTime"
    return "string"


def _merge(kinds: set[str]) -> str:
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == {"long", "real"}:
        return "real"
    return "dynamic" if "dynamic" in kinds else "string"


def infer_columns(records: list[Any]) -> list[dict[str, Any]]:
    """Columns for sample records: JSON integers → long, numbers → real, true/false → boolean, ISO 8601 text →
    dateTime, objects and arrays → dynamic, other text → string; mixed numbers → real, other mixes → string
    (dynamic if one is an object). Keys become columns in the order they first appear."""
    if not records:
        raise KitError("sample_records is empty: give at least one JSON object (one record as your source sends it)")
    kinds: dict[str, set[str]] = {}
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise KitError(f"sample record {i + 1} is not a JSON object: {str(record)[:80]!r}")
        for key, value in record.items():
            if not COLUMN_NAME.match(key):
                safe = re.sub(r"[^A-Za-z0-9_]", "", key.title())
                raise KitError(f"sample key {key!r} (record {i + 1}) is not a valid column name (letters, digits and "
                               f"'_', starting with a letter). Rename it in the sample, e.g. {safe or 'Field'!r}, and "
                               f"in the data collection rule's transformation (`project-rename {safe or 'Field'} = "
                               f"['{key}']`); nothing was sent")
            found = kinds.setdefault(key, set())
            kind = _kind(value)
            if kind:
                found.add(kind)
    columns = [{"name": key, "type": _merge(found) if found else "string"} for key, found in kinds.items()]
    for col in columns:
        check_column_name(col["name"])
    return columns
