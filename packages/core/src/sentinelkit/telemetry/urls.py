"""URL path templates for spans and metrics: the shape of an Azure request without its ids and names."""

from __future__ import annotations

import functools
import re

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_VERSION = re.compile(r"^v\d+(\.\d+)?$", re.IGNORECASE)
_PLACEHOLDERS = {"subscriptions": "{subscriptionId}", "resourcegroups": "{resourceGroupName}",
                 "tenants": "{tenantId}"}


@functools.lru_cache(maxsize=4096)  # a fan-out asks the same few shapes of each workspace
def path_template(path: str) -> str:
    """``/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.SecurityInsights/
    incidents/{name}``: ARM paths alternate a type (kept) and a name (replaced); ``providers/<namespace>``
    and a trailing action or collection are kept. The query API's ``/v1/workspaces/{workspaceId}/query``
    follows the same rule after its version. Anything that still looks like an id is replaced."""
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    out: list[str] = []
    expecting_name = False
    after_providers = False
    for index, segment in enumerate(segments):
        if index == 0 and _VERSION.match(segment):
            out.append(segment)
            continue
        if expecting_name:
            previous = out[-1].lower()
            if previous == "workspaces" and index == 2 and _VERSION.match(segments[0]):
                out.append("{workspaceId}")
            else:
                out.append(_PLACEHOLDERS.get(previous, "{name}"))
            expecting_name = False
        elif after_providers:
            out.append(segment if not _GUID.match(segment) else "{id}")  # the provider namespace
            after_providers = False
        elif segment.lower() == "providers":
            out.append(segment)
            after_providers = True
        else:
            out.append(segment if not _GUID.match(segment) else "{id}")
            expecting_name = True
    return "/" + "/".join(out)
