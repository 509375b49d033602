"""The incident filter analysts use (status, severity, owner, time, title, labels, product), as the
OData ``$filter``/``$orderby`` the incidents API evaluates server-side, so only matches travel."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sentinelkit import KitError

from .model import SEVERITIES, STATUSES, canonical_list

UNASSIGNED = ("unassigned", "none", "nobody")
ORDERS = {
    "created": "properties/createdTimeUtc",
    "updated": "properties/lastModifiedTimeUtc",
    "severity": "properties/severity",
    "number": "properties/incidentNumber",
    "title": "properties/title",
}
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$", re.IGNORECASE)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parse_time(value: str, what: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 time, or a duration (``P30D``, ``PT12H``) meaning that long before now."""
    now = now or datetime.now(UTC)
    text = value.strip()
    m = _DURATION.match(text)
    if m and any(m.groups()):
        days, hours, minutes = (int(g or 0) for g in m.groups())
        return now - timedelta(days=days, hours=hours, minutes=minutes)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise KitError(f"{what} {value!r} is not a time: give an ISO 8601 time such as 2026-11-01T00:00:00Z, "
                       "or a duration back from now such as P30D (30 days) or PT12H") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class IncidentFilter:
    """What ``incident_list`` and ``incident_bulk_update`` select by."""

    status: list[str] = field(default_factory=list)
    severity: list[str] = field(default_factory=list)
    owner: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    updated_after: str | None = None
    updated_before: str | None = None
    title: str | None = None
    labels: list[str] = field(default_factory=list)
    product: str | None = None

    @classmethod
    def build(cls, *, status: list[str] | str | None = None, severity: list[str] | str | None = None,
              owner: str | None = None, created_after: str | None = None, created_before: str | None = None,
              updated_after: str | None = None, updated_before: str | None = None, title: str | None = None,
              labels: list[str] | str | None = None, product: str | None = None,
              now: datetime | None = None) -> IncidentFilter:
        """Validated: enum values in the API's spelling, times parsed (errors say what to pass); durations
        count back from ``now`` (default: the current time)."""
        times = {"created_after": created_after, "created_before": created_before,
                 "updated_after": updated_after, "updated_before": updated_before}
        now = now or datetime.now(UTC)
        parsed = {k: _iso(parse_time(v, k, now)) if v else None for k, v in times.items()}
        return cls(
            status=canonical_list(status, STATUSES, "status"),
            severity=canonical_list(severity, SEVERITIES, "severity"),
            owner=owner.strip() if owner and owner.strip() else None,
            title=title.strip() if title and title.strip() else None,
            labels=[labels] if isinstance(labels, str) else [x for x in labels or [] if x],
            product=product.strip() if product and product.strip() else None,
            **parsed,
        )

    def odata(self) -> str | None:
        """The ``$filter`` expression (None when nothing is filtered)."""
        terms: list[str] = []
        if self.status:
            terms.append("(" + " or ".join(f"properties/status eq {_quote(s)}" for s in self.status) + ")")
        if self.severity:
            terms.append("(" + " or ".join(f"properties/severity eq {_quote(s)}" for s in self.severity) + ")")
        if self.owner:
            terms.append(owner_term(self.owner))
        for key, path, op in (("created_after", "createdTimeUtc", "ge"), ("created_before", "createdTimeUtc", "lt"),
                              ("updated_after", "lastModifiedTimeUtc", "ge"),
                              ("updated_before", "lastModifiedTimeUtc", "lt")):
            value = getattr(self, key)
            if value:
                terms.append(f"properties/{path} {op} {value}")
        if self.title:
            terms.append(f"contains(properties/title, {_quote(self.title)})")
        for label in self.labels:
            terms.append(f"properties/labels/any(l: l/labelName eq {_quote(label)})")
        if self.product:
            terms.append(f"properties/additionalData/alertProductNames/any(p: contains(p, {_quote(self.product)}))")
        return " and ".join(terms) or None

    def describe(self) -> dict[str, Any]:
        """The filter as the user gave it (for previews and answers)."""
        return {k: v for k, v in self.__dict__.items() if v}


def owner_term(owner: str) -> str:
    """Owner by UPN/email, display name, object id, or ``unassigned``."""
    if owner.lower() in UNASSIGNED:
        return "properties/owner/objectId eq null"
    if is_guid(owner):
        return f"properties/owner/objectId eq {owner}"
    q = _quote(owner)
    return (f"(properties/owner/userPrincipalName eq {q} or properties/owner/email eq {q} "
            f"or properties/owner/assignedTo eq {q})")


def is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text.strip()) == 36


def orderby(order: str | None) -> str:
    """``"created desc"`` (default), ``"severity"``, ``"updated asc"``... → ``$orderby``."""
    text = (order or "created desc").strip().lower().split()
    key = text[0] if text else "created"
    direction = text[1] if len(text) > 1 else ("asc" if key in ("number", "title") else "desc")
    if key not in ORDERS or direction not in ("asc", "desc") or len(text) > 2:
        raise KitError(f"order {order!r} is not valid; use one of {', '.join(ORDERS)}, optionally followed by "
                       "asc or desc (e.g. \"severity desc\")")
    return f"{ORDERS[key]} {direction}"


def sort_rows(rows: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    """Merge-order rows from many workspaces the way ``$orderby`` ordered each workspace's rows."""
    from .model import SEVERITY_RANK

    path, direction = order.split()
    key = {"properties/createdTimeUtc": "created", "properties/lastModifiedTimeUtc": "updated",
           "properties/severity": "severity", "properties/incidentNumber": "number",
           "properties/title": "title"}[path]

    def sort_key(r: dict[str, Any]) -> Any:
        value = r.get(key)
        if key == "severity":
            return SEVERITY_RANK.get(value or "", -1)
        if key == "title":
            return (value or "").lower()
        return value if value is not None else ""

    return sorted(rows, key=sort_key, reverse=direction == "desc")
