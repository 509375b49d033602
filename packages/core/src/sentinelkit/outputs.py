"""Compact outputs shaped for a language model: default fields, ``fields``, ``limit`` + ``cursor``
paging, and a size budget whose truncation always says how to get the rest."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from .errors import KitError

DEFAULT_BUDGET = 24_000  # characters of JSON; roughly 6k tokens
MAX_VALUE_CHARS = 2_000


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = int(json.loads(base64.urlsafe_b64decode(padded.encode()))["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise KitError(f"cursor {cursor!r} is not valid: pass the next_cursor of the previous answer, "
                       "or omit it to start from the beginning") from exc
    if offset < 0:
        raise KitError(f"cursor {cursor!r} is not valid (it points before the first item): pass the next_cursor "
                       "of the previous answer, or omit it to start from the beginning")
    return offset


def _get(item: dict[str, Any], field: str) -> Any:
    value: Any = item
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def select_fields(items: Sequence[dict[str, Any]], fields: Sequence[str] | str | None,
                  default_fields: Sequence[str] | None) -> list[dict[str, Any]]:
    """Keep ``fields`` (or the defaults); ``["*"]``/``"all"`` keeps everything. Unknown names are an error."""
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    if fields and list(fields) in (["*"], ["all"]):
        return [dict(i) for i in items]
    wanted = list(fields or default_fields or [])
    if not wanted:
        return [dict(i) for i in items]
    if items and fields:
        available = sorted({k for i in items for k in i})
        unknown = [f for f in wanted if f.split(".", 1)[0] not in available]
        if unknown:
            raise KitError(f"unknown field(s) {', '.join(unknown)}; available: {', '.join(available)} "
                           "(or fields=[\"*\"] for all)")
    return [{f: _get(i, f) for f in wanted} for i in items]


def clip(value: Any, limit: int = MAX_VALUE_CHARS, *, hint: str | None = None) -> Any:
    """``value`` with every string longer than ``limit`` characters (in nested dicts and lists too)
    shortened, saying by how much: ``"…… [truncated: 10000 characters]"`` (plus ``; hint`` if given)."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"… [truncated: {len(value)} characters{'; ' + hint if hint else ''}]"
    if isinstance(value, dict):
        return {k: clip(v, limit, hint=hint) for k, v in value.items()}
    if isinstance(value, list):
        return [clip(v, limit, hint=hint) for v in value]
    return value


def page(items: Sequence[dict[str, Any]], *, fields: Sequence[str] | str | None = None,
         default_fields: Sequence[str] | None = None, limit: int = 25, cursor: str | None = None,
         budget: int = DEFAULT_BUDGET, key: str = "items", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """One page of ``items``: selected fields, at most ``limit``, within ``budget`` characters of JSON.

    The answer has ``count``, ``total`` and, when more remain, ``next_cursor`` and a ``truncated``
    sentence that says how to get the rest.
    """
    if limit < 1:
        raise KitError("limit must be at least 1")
    start = decode_cursor(cursor)
    total = len(items)
    window = select_fields(items[start:start + limit], fields, default_fields)
    chosen: list[dict[str, Any]] = []
    used = len(json.dumps(extra or {}, default=str)) + 200
    cut_by_budget = False
    for item in window:
        item = clip(item, hint="ask for this item alone")
        size = len(json.dumps(item, default=str)) + 2
        if chosen and used + size > budget:
            cut_by_budget = True
            break
        chosen.append(item)
        used += size
    out: dict[str, Any] = {**(extra or {}), key: chosen, "count": len(chosen), "total": total}
    end = start + len(chosen)
    if end < total:
        out["next_cursor"] = encode_cursor(end)
        reason = (f"the answer was cut at {len(chosen)} items to stay under {budget} characters"
                  if cut_by_budget else f"limit={limit}")
        out["truncated"] = (f"showing items {start + 1}-{end} of {total} ({reason}); call again with "
                            f"cursor=\"{out['next_cursor']}\" for the next page, or narrow the request "
                            "(filters, fewer fields)")
    return out
