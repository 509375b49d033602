"""ARM resource ids from callers, parsed and checked — never concatenated as text.

An id a model or a user passes (``rule``, ``resource``, ``endpoint``...) could walk elsewhere with ``..``,
hide an empty segment, or name a resource of another type than the tool expects (a data collection
*endpoint* given to ``dcr_delete``). ``ArmId.parse`` refuses all of those with a sentence that says what
was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import KitError

_SEGMENT = re.compile(r"^[^/\\?#%\s][^/\\?#%]*$")


class InvalidArmId(KitError):
    """A string that is not a well-formed ARM id of the expected type."""


@dataclass(frozen=True)
class ArmId:
    """``/subscriptions/{s}[/resourceGroups/{g}][/providers/{NS}/{type}/{name}[/{type}/{name}...]]``.

    ``type`` is the resource's full type (``Microsoft.Insights/dataCollectionRules``; for an extension
    resource, the last provider's: ``Microsoft.SecurityInsights/incidents``)."""

    subscription_id: str
    resource_group: str | None
    type: str
    name: str
    text: str

    @classmethod
    def parse(cls, value: str, *, expect: str | None = None, what: str = "resource id") -> ArmId:
        """Parse ``value``; with ``expect`` (a full type, case-insensitive) also check the resource's type."""
        text = (value or "").strip()
        if not text.startswith("/"):
            raise InvalidArmId(f"{what} {text!r} is not an ARM id: it must start with /subscriptions/")
        parts = text.rstrip("/").split("/")[1:]
        bad = [p for p in parts if p in ("", ".", "..") or not _SEGMENT.match(p)]
        if bad:
            raise InvalidArmId(f"{what} {text!r} is not a valid ARM id: empty, '.', '..' or malformed segments are "
                               "refused; pass the id exactly as Azure shows it")
        if len(parts) < 2 or parts[0].lower() != "subscriptions":
            raise InvalidArmId(f"{what} {text!r} is not an ARM id: it must start with /subscriptions/<id>")
        subscription, rest = parts[1], parts[2:]
        group = None
        if rest[:1] and rest[0].lower() == "resourcegroups":
            if len(rest) < 2:
                raise InvalidArmId(f"{what} {text!r} names no resource group after /resourceGroups/")
            group, rest = rest[1], rest[2:]
        type_parts: list[str] = []
        name = group or subscription
        kind = "Microsoft.Resources/resourceGroups" if group else "Microsoft.Resources/subscriptions"
        while rest:
            if rest[0].lower() == "providers" and len(rest) >= 4:
                type_parts, name, rest = [rest[1], rest[2]], rest[3], rest[4:]
            elif type_parts and len(rest) >= 2:
                type_parts, name, rest = [*type_parts, rest[0]], rest[1], rest[2:]
            else:
                raise InvalidArmId(f"{what} {text!r} is not a valid ARM id: expected "
                                   "/providers/<namespace>/<type>/<name> after the resource group")
            kind = "/".join(type_parts)
        arm = cls(subscription, group, kind, name, "/" + "/".join(parts))
        if expect is not None and arm.type.lower() != expect.lower():
            raise InvalidArmId(f"{what} {text!r} is a {arm.type} id, not a {expect}; pass the id of a {expect}")
        return arm

    def __str__(self) -> str:
        return self.text
