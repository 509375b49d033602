"""What an incident is to this pack: the API's enum values and the compact row tools return.

The enum values and field names come from the Microsoft.SecurityInsights incidents API
(stable 2025-09-01), written here in the pack's own form.
"""

from __future__ import annotations

from typing import Any

from sentinelkit import KitError, Workspace

SEVERITIES = ("High", "Medium", "Low", "Informational")
STATUSES = ("New", "Active", "Closed")
CLASSIFICATIONS = ("TruePositive", "BenignPositive", "FalsePositive", "Undetermined")
#: which classification reasons go with which classification (the portal's pairs)
REASONS = {
    "TruePositive": ("SuspiciousActivity",),
    "BenignPositive": ("SuspiciousButExpected",),
    "FalsePositive": ("IncorrectAlertLogic", "InaccurateData"),
    "Undetermined": (),
}
#: properties a client may set on PUT (everything else is read-only and left out of the body)
WRITABLE = ("title", "description", "severity", "status", "classification", "classificationReason",
            "classificationComment", "owner", "labels", "firstActivityTimeUtc", "lastActivityTimeUtc")

DEFAULT_FIELDS = ["id", "number", "title", "severity", "status", "owner", "created", "tenant", "workspace"]
SEVERITY_RANK = {"High": 3, "Medium": 2, "Low": 1, "Informational": 0}


def canonical(value: str, allowed: tuple[str, ...], what: str) -> str:
    """``value`` in the API's spelling (case-insensitive match), or an error that lists the choices."""
    for option in allowed:
        if value.strip().lower() == option.lower():
            return option
    raise KitError(f"{what} {value!r} is not valid; use one of: {', '.join(allowed)}")


def canonical_list(values: list[str] | str | None, allowed: tuple[str, ...], what: str) -> list[str]:
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    return [canonical(v, allowed, what) for v in items if v and v.strip()]


def owner_text(owner: dict[str, Any] | None) -> str | None:
    """The owner as an analyst reads it: UPN, else email, else display name, else object id."""
    o = owner or {}
    return o.get("userPrincipalName") or o.get("email") or o.get("assignedTo") or o.get("objectId") or None


def row(incident: dict[str, Any], ws: Workspace) -> dict[str, Any]:
    """One incident as a flat row; the first keys are the defaults, the rest come with ``fields``."""
    p = incident.get("properties") or {}
    extra = p.get("additionalData") or {}
    return {
        "id": incident.get("name"),
        "number": p.get("incidentNumber"),
        "title": p.get("title"),
        "severity": p.get("severity"),
        "status": p.get("status"),
        "owner": owner_text(p.get("owner")),
        "created": p.get("createdTimeUtc"),
        "tenant": ws.tenant or ws.tenant_id,
        "workspace": ws.label,
        "updated": p.get("lastModifiedTimeUtc"),
        "description": p.get("description"),
        "classification": p.get("classification"),
        "classification_reason": p.get("classificationReason"),
        "classification_comment": p.get("classificationComment"),
        "labels": [label.get("labelName") for label in p.get("labels") or []],
        "owner_details": {k: v for k, v in (p.get("owner") or {}).items() if v} or None,
        "alerts": extra.get("alertsCount"),
        "comments": extra.get("commentsCount"),
        "bookmarks": extra.get("bookmarksCount"),
        "products": extra.get("alertProductNames") or [],
        "tactics": extra.get("tactics") or [],
        "first_activity": p.get("firstActivityTimeUtc"),
        "last_activity": p.get("lastActivityTimeUtc"),
        "rules": [r.rsplit("/", 1)[-1] for r in p.get("relatedAnalyticRuleIds") or []],
        "provider": p.get("providerName"),
        "url": p.get("incidentUrl"),
        "etag": incident.get("etag"),
    }


def writable(props: dict[str, Any]) -> dict[str, Any]:
    """The settable properties of an incident, ready to be PUT back (read-only ones dropped)."""
    out = {k: props.get(k) for k in WRITABLE if props.get(k) is not None}
    owner = {k: v for k, v in (props.get("owner") or {}).items() if v and v != "Unknown"}
    if set(owner) == {"ownerType"}:  # nothing left to say who it is: unassigned
        owner = {}
    out["owner"] = owner
    out["labels"] = [{"labelName": label["labelName"]} for label in props.get("labels") or []]
    return out


#: fields compared to tell the user what someone else changed
COMPARED = ("title", "description", "severity", "status", "classification", "classificationReason",
            "classificationComment")


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {"was": old, "now": new}}`` for every user-visible property that differs."""
    out: dict[str, dict[str, Any]] = {}
    for key in COMPARED:
        if before.get(key) != after.get(key):
            out[key] = {"was": before.get(key), "now": after.get(key)}
    if owner_text(before.get("owner")) != owner_text(after.get("owner")):
        out["owner"] = {"was": owner_text(before.get("owner")), "now": owner_text(after.get("owner"))}
    labels_before = sorted(x.get("labelName", "") for x in before.get("labels") or [])
    labels_after = sorted(x.get("labelName", "") for x in after.get("labels") or [])
    if labels_before != labels_after:
        out["labels"] = {"was": labels_before, "now": labels_after}
    return out
