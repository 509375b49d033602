"""Rules ARM applies to every tracked resource (location, tags) and its wording for nested 404s.

Shared by the Log Analytics, Azure Monitor and workbook kinds so that each answers a missing
location or a moved resource the same way ARM does.
"""

from __future__ import annotations

from typing import Any

from ...errors import ArmError, not_found
from ...store import Resource
from ..kinds import Ctx

MAX_TAGS = 50


def normalize_location(value: str) -> str:
    """ARM's canonical location form: ``West Europe`` -> ``westeurope``."""
    return value.replace(" ", "").lower()


def resolve_location(ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> str:
    """The location of a tracked resource: required on create, immutable afterwards."""
    raw = body.get("location")
    if raw is not None and not isinstance(raw, str):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                       "deserialized: 'location' must be a string.")
    if not raw:
        if existing is not None and existing.get("location"):
            return str(existing["location"])
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    location = normalize_location(raw)
    if existing is not None and existing.get("location") and normalize_location(existing["location"]) != location:
        raise ArmError(
            400,
            "InvalidResourceLocation",
            f"The resource '{ctx.name}' already exists in location '{existing['location']}' in resource group "
            f"'{ctx.params.get('resourceGroupName', '')}'. A resource with the same name cannot be created in "
            f"location '{location}'. Please select a new resource name.",
        )
    return location


def resolve_tags(body: dict[str, Any], existing: Resource | None, *, replace: bool = True) -> dict[str, str]:
    """Tags as ARM accepts them: an object of at most 50 string values."""
    if "tags" not in body or body["tags"] is None:
        return {} if replace or existing is None else dict(existing.get("tags") or {})
    tags = body["tags"]
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                       "deserialized: 'tags' must be an object whose values are strings.")
    if len(tags) > MAX_TAGS:
        raise ArmError(400, "InvalidTag", f"The number of tags ({len(tags)}) exceeds the maximum of {MAX_TAGS}.")
    for key, value in tags.items():
        if len(key) > 512 or len(value) > 256:
            raise ArmError(400, "InvalidTag", f"The tag '{key[:40]}' is too long: names are limited to 512 and "
                           "values to 256 characters.")
    return dict(tags)


def properties_of(body: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    """The ``properties`` object of a request body, checked to be an object."""
    props = body.get("properties")
    if props is None:
        if required:
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                           "deserialized: the 'properties' object is required.")
        return {}
    if not isinstance(props, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                       "deserialized: 'properties' must be an object.")
    return props


def nested_not_found(ctx: Ctx, parent_param: str, parent_type: str, child_segment: str) -> ArmError:
    """ARM's 404 for a child resource: ``The Resource 'NS/parents/p/children/c' ... was not found.``"""
    parent_name = ctx.params[parent_param]
    return not_found(f"{parent_type}/{parent_name}/{child_segment}", ctx.name, ctx.params.get("resourceGroupName"))
