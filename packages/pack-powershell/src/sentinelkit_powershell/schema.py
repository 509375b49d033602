"""PowerShell parameters → typed Python parameters, so that FastMCP derives each tool's JSON schema.

Each discovered parameter becomes ``Annotated[<type>, Field(description=..., ge=..., ...)]`` on a
real ``inspect.Signature``; the core then wraps the function like any hand-written tool (dry_run,
confirm, ctx), and pydantic validates arguments before anything reaches PowerShell.
"""

from __future__ import annotations

import datetime as dt
import inspect
import keyword
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from .discovery import NO_DEFAULT, NOT_LITERAL, FunctionInfo, ParamInfo

RESERVED = {"kit", "ctx", "dry_run", "confirm"}

_SCALARS: dict[str, Any] = {
    "string": str, "char": str, "int": int, "int16": int, "long": int, "byte": int, "sbyte": int, "uint32": int,
    "uint16": int, "uint64": int, "uint": int, "ulong": int, "bigint": int, "double": float, "float": float,
    "single": float, "decimal": float, "bool": bool, "switch": bool, "datetime": dt.datetime,
    "datetimeoffset": dt.datetime, "guid": uuid.UUID, "hashtable": dict[str, Any], "ordered": dict[str, Any],
    "pscustomobject": dict[str, Any], "system.collections.specialized.ordereddictionary": dict[str, Any],
    "timespan": str, "uri": str, "securestring": str, "version": str, "ipaddress": str, "mailaddress": str,
    "regex": str, "scriptblock": None, "pscredential": None,
}
_NOT_SUPPORTED = {"scriptblock": "a [scriptblock] would be code, and only data can be passed",
                  "pscredential": "a [pscredential] cannot be passed as data; use a string parameter or a "
                                  "credential the script reads itself"}


class UnsupportedParameter(Exception):
    """A parameter that cannot be expressed as JSON data (the function is left out, with this reason)."""


@dataclass
class ToolParam:
    """A PowerShell parameter and its Python/JSON counterpart."""

    info: ParamInfo
    python_name: str
    annotation: Any
    default: Any  # inspect.Parameter.empty when required
    literal_default: Any  # the script's literal default (NO_DEFAULT / NOT_LITERAL otherwise)

    @property
    def secure(self) -> bool:
        return self.info.type_name == "securestring"


def _base_type(p: ParamInfo) -> Any:
    kind = p.type_name
    if kind in _NOT_SUPPORTED:
        raise UnsupportedParameter(f"parameter -{p.name}: {_NOT_SUPPORTED[kind]}")
    if p.validate_set:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in p.validate_set) and kind not in ("string", "char"):
            return Literal[tuple(p.validate_set)]  # type: ignore[misc]
        return Literal[tuple(str(v) for v in p.validate_set)]  # type: ignore[misc]
    return _SCALARS.get(kind, Any)


def _describe(p: ParamInfo) -> str:
    text = p.help.strip() or f"PowerShell parameter -{p.name}"
    notes = []
    if p.default is NOT_LITERAL and p.default_text:
        notes.append(f"default computed by the script: {p.default_text[:120]}")
    if p.validate_pattern:
        notes.append(f"must match the .NET regular expression {p.validate_pattern}")
    if p.type_name in ("datetime", "datetimeoffset"):
        notes.append("ISO 8601 date/time")
    if p.type_name == "timespan":
        notes.append("a [timespan] such as 01:30:00")
    if p.type_name == "hashtable":
        notes.append("a JSON object, passed as a [hashtable]")
    if p.is_switch:
        notes.append("a switch: true to set it")
    if p.aliases:
        notes.append("PowerShell aliases: " + ", ".join(p.aliases))
    if p.type_name == "securestring":
        notes.append("sent as a SecureString; redacted from logs")
    if notes:
        text = text.rstrip(".") + f" ({'; '.join(notes)})."
    return text


def _field(p: ParamInfo) -> Any:
    kwargs: dict[str, Any] = {"description": _describe(p)}
    if p.validate_range and not p.is_array:
        low, high = p.validate_range
        if isinstance(low, (int, float)):
            kwargs["ge"] = low
        if isinstance(high, (int, float)):
            kwargs["le"] = high
    if p.type_name in ("string", "char") and not p.is_array and not p.validate_set:
        if p.validate_length:
            kwargs["min_length"], kwargs["max_length"] = p.validate_length
        elif p.not_null_or_empty and p.mandatory:
            kwargs["min_length"] = 1
        if p.type_name == "char":
            kwargs["max_length"] = 1
    if p.is_array and p.validate_count:
        kwargs["min_length"], kwargs["max_length"] = p.validate_count
    if p.type_name == "securestring":
        kwargs["json_schema_extra"] = {"format": "password", "writeOnly": True}
    return Field(**kwargs)


def python_name(name: str) -> str:
    """PowerShell names are case-insensitive identifiers; keep them as they are when Python allows."""
    cleaned = "".join(c if (c.isalnum() or c == "_") else "_" for c in name)
    if not cleaned or cleaned[0].isdigit():
        cleaned = "p_" + cleaned
    return cleaned


def _default_ok(p: ParamInfo, value: Any) -> bool:
    if value is None:
        return True
    if p.validate_set and not p.is_array and value not in p.validate_set:
        return False
    base = _SCALARS.get(p.type_name, Any)
    if p.is_array:
        return isinstance(value, list)
    if base is str:
        return isinstance(value, str)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is bool:
        return isinstance(value, bool)
    return isinstance(value, dict) if base == dict[str, Any] else False


def tool_params(fn: FunctionInfo) -> list[ToolParam]:
    """The function's parameters in Python form; raises ``UnsupportedParameter`` with the reason."""
    out: list[ToolParam] = []
    seen: set[str] = set()
    for p in fn.params:
        name = python_name(p.name)
        default: Any
        if name in RESERVED or keyword.iskeyword(name) or name.lower() in seen:
            raise UnsupportedParameter(f"parameter -{p.name} clashes with a name the tool needs ({name})")
        seen.add(name.lower())
        base = _base_type(p)
        if p.is_array:
            base = list[base]  # type: ignore[valid-type]
        literal = p.default
        if p.mandatory:
            annotation, default = Annotated[base, _field(p)], inspect.Parameter.empty
        elif p.is_switch:
            annotation, default = Annotated[bool, _field(p)], bool(literal) if isinstance(literal, bool) else False
            literal = default
        elif literal not in (NO_DEFAULT, NOT_LITERAL) and literal is not None and _default_ok(p, literal):
            annotation, default = Annotated[base, _field(p)], literal
        else:
            annotation, default = Annotated[base | None, _field(p)], None  # type: ignore[operator]
            if literal is not NOT_LITERAL:
                literal = NO_DEFAULT
        out.append(ToolParam(p, name, annotation, default, literal))
    return out


def to_powershell(params: list[ToolParam], arguments: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The JSON object the host splats, and the names to turn into SecureStrings.

    Leaves out what the caller did not set (None, or equal to the script's own literal default, or a
    switch that is off), so that ``$PSBoundParameters`` in the script sees what it would in a console.
    """
    out: dict[str, Any] = {}
    secure: list[str] = []
    for tp in params:
        if tp.python_name not in arguments:
            continue
        value = arguments[tp.python_name]
        if value is None:
            continue
        if tp.info.is_switch and value is False:
            continue
        if tp.literal_default not in (NO_DEFAULT, NOT_LITERAL) and value == tp.literal_default and not tp.info.is_switch:
            continue
        out[tp.info.name] = _jsonable(value)
        if tp.secure:
            secure.append(tp.info.name)
    return out, secure


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value
