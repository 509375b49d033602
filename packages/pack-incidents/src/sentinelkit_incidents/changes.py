"""A change to an incident, validated before anything is read or written, and applied to its
settable properties. Shared by the single-incident tools and ``incident_bulk_update``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sentinelkit import KitError

from .filters import UNASSIGNED, is_guid
from .model import CLASSIFICATIONS, REASONS, SEVERITIES, canonical, owner_text

UNSET = object()


def owner_body(owner: str | None) -> dict[str, Any]:
    """The API's owner object for a UPN, an email or an object id; empty (unassigned) for ""/None."""
    text = (owner or "").strip()
    if not text or text.lower() in UNASSIGNED:
        return {}
    if is_guid(text):
        return {"objectId": text}
    if "@" in text:
        return {"userPrincipalName": text, "email": text}
    raise KitError(f"owner {owner!r} is not a UPN, an email or an object id: pass e.g. alice@contoso.com or the "
                   "user's Entra object id (a GUID), or an empty string to unassign")


def close_fields(classification: str, reason: str | None) -> tuple[str, str | None]:
    """Validated classification and reason (the API's values), with the allowed pairs in the error."""
    pairs = "; ".join(f"{c}: {', '.join(r) or 'no reason'}" for c, r in REASONS.items())
    try:
        cls = canonical(classification, CLASSIFICATIONS, "classification")
    except KitError:
        raise KitError(f"classification {classification!r} is not valid; use one of: {', '.join(CLASSIFICATIONS)} "
                       f"(with classification_reason — {pairs})") from None
    allowed = REASONS[cls]
    if reason is None or not reason.strip():
        return cls, (allowed[0] if len(allowed) == 1 else None)
    for option in allowed:
        if reason.strip().lower() == option.lower():
            return cls, option
    raise KitError(f"classification_reason {reason!r} does not go with {cls}; allowed: "
                   f"{', '.join(allowed) or 'none (leave it out)'} (pairs — {pairs})")


@dataclass
class Change:
    """What to do to an incident. Fields left ``None`` stay as they are."""

    status: str | None = None
    severity: str | None = None
    title: str | None = None
    description: str | None = None
    owner: Any = UNSET  # owner_body(...) result, or UNSET
    labels_add: list[str] = field(default_factory=list)
    labels_remove: list[str] = field(default_factory=list)
    classification: str | None = None
    classification_reason: str | None = None
    classification_comment: str | None = None

    def validate(self) -> Change:
        if self.severity:
            self.severity = canonical(self.severity, SEVERITIES, "severity")
        if self.status:
            self.status = canonical(self.status, ("New", "Active", "Closed"), "status")
            if self.status == "Closed" and not self.classification:
                raise KitError("closing needs a classification: use incident_close (or close_classification in "
                               f"incident_bulk_update) with one of {', '.join(CLASSIFICATIONS)}")
        if self.classification:
            self.classification, self.classification_reason = close_fields(self.classification,
                                                                           self.classification_reason)
            self.status = "Closed"
        if self.title is not None and not self.title.strip():
            raise KitError("title cannot be empty")
        overlap = {x.lower() for x in self.labels_add} & {x.lower() for x in self.labels_remove}
        if overlap:
            raise KitError(f"label(s) {', '.join(sorted(overlap))} both added and removed: choose one")
        if self.empty:
            raise KitError("nothing to change: give at least one of the changes this tool accepts")
        return self

    @property
    def empty(self) -> bool:
        return (self.status is None and self.severity is None and self.title is None and self.description is None
                and self.owner is UNSET and not self.labels_add and not self.labels_remove)

    def apply(self, props: dict[str, Any]) -> dict[str, Any]:
        """New settable properties from the current ones (``props`` from ``access.base_props``)."""
        new = dict(props)
        for key in ("severity", "title", "description"):
            if getattr(self, key) is not None:
                new[key] = getattr(self, key)
        if self.status is not None:
            new["status"] = self.status
            if self.status == "Closed":
                new["classification"] = self.classification
                new["classificationReason"] = self.classification_reason
                if self.classification_comment is not None:
                    new["classificationComment"] = self.classification_comment
                for key in ("classificationReason", "classificationComment"):
                    if new.get(key) is None:
                        new.pop(key, None)
            else:  # reopening: a classification only belongs to a closed incident
                for key in ("classification", "classificationReason", "classificationComment"):
                    new.pop(key, None)
        if self.owner is not UNSET:
            new["owner"] = dict(self.owner)
        if self.labels_add or self.labels_remove:
            drop = {x.lower() for x in self.labels_remove}
            labels = [x for x in new.get("labels", []) if x["labelName"].lower() not in drop]
            have = {x["labelName"].lower() for x in labels}
            labels += [{"labelName": x} for x in dict.fromkeys(self.labels_add) if x.lower() not in have]
            new["labels"] = labels
        return new

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("status", "severity", "title", "description", "classification", "classification_reason",
                    "classification_comment"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.owner is not UNSET:
            out["owner"] = owner_text(self.owner) or "unassigned"
        if self.labels_add:
            out["labels_add"] = self.labels_add
        if self.labels_remove:
            out["labels_remove"] = self.labels_remove
        return out


def before_after(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What a change does to one incident, field by field (for previews and answers)."""
    from .model import differences

    return {k: {"before": v["was"], "after": v["now"]} for k, v in differences(old, new).items()}
