"""The forms a workbook travels in, and pointing one at another workspace.

- ``sentinelkit``: what ``workbook_export`` writes by default: the workbook's metadata and its content as
  JSON (not a string), keys sorted, two-space indent, so that an unchanged workbook exports byte-identically
  and a diff shows which step changed.
- ``gallery``: the gallery template that the workbook editor shows and Azure-Sentinel publishes under
  ``Workbooks/``: the content itself (``version``, ``items``, ``fallbackResourceIds``, ``fromTemplateId``,
  ``$schema``...).
- ``arm``: an ARM workbook resource (what the API returns, or the ``{"properties": {"serializedData"}}``
  stubs some repositories keep).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sentinelkit import KitError, replace_references, stable

from . import api, content

FORMAT = "sentinelkit.workbook/1"
SCHEMA = "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json"
Form = Literal["sentinelkit", "gallery", "arm"]
WORKSPACE_ID = re.compile(r"/subscriptions/[^/\s\"'{}]+/resourcegroups/[^/\s\"'{}]+/providers/"
                          r"microsoft\.operationalinsights/workspaces/[A-Za-z0-9_-]+", re.IGNORECASE)
_TEMPLATED = re.compile(r"^\[.*\]$|\{[A-Za-z_]\w*\}")


@dataclass
class Source:
    """A workbook read from a file, text or the API, whatever form it came in."""

    form: Form
    workbook: dict[str, Any]
    display_name: str | None = None
    id: str | None = None
    source_id: str | None = None
    #: None when the form does not carry one (gallery templates): an update keeps the target's
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def workspace_ids(self) -> list[str]:
        """The workspaces this workbook was made for: its sourceId and its fallbackResourceIds."""
        found = [self.source_id] if self.source_id else []
        for value in self.workbook.get("fallbackResourceIds") or []:
            if isinstance(value, str) and WORKSPACE_ID.fullmatch(value.strip()):
                found.append(value.strip())
        return list({v.lower(): v for v in found}.values())


def dumps(value: Any) -> str:
    """Pretty, sorted, stable JSON text (with a final newline): the byte-identical export form."""
    return json.dumps(stable(value), indent=2, ensure_ascii=False) + "\n"


def serialize(workbook: dict[str, Any]) -> str:
    """``serializedData`` as the portal stores it: compact JSON, keys in the order given."""
    return json.dumps(workbook, ensure_ascii=False, separators=(",", ":"))


def from_resource(resource: dict[str, Any]) -> Source:
    """A workbook as the API returns it (with its content)."""
    props = resource.get("properties") or {}
    name = str(resource.get("name") or "")
    return Source(form="arm", workbook=content.parse(props.get("serializedData"), where=f"workbook {name}"),
                  display_name=props.get("displayName"), id=name or None, source_id=props.get("sourceId") or None,
                  description=props.get("description") or "", tags=dict(resource.get("tags") or {}))


def portable(resource: dict[str, Any]) -> dict[str, Any]:
    """What identifies a workbook's state, whatever workspace holds it: no id, etag, revision or time."""
    source = from_resource(resource)
    props = resource.get("properties") or {}
    out: dict[str, Any] = {"category": props.get("category") or api.CATEGORY, "displayName": source.display_name,
                           "sourceId": source.source_id, "tags": source.tags, "workbook": source.workbook}
    if source.description:
        out["description"] = source.description
    if props.get("tags"):
        out["workbookTags"] = list(props["tags"])
    return out


def export(resource: dict[str, Any], form: Literal["sentinelkit", "gallery"]) -> str:
    """The text ``workbook_export`` writes."""
    if form == "gallery":
        workbook = dict(from_resource(resource).workbook)
        source_id = (resource.get("properties") or {}).get("sourceId")
        if "fallbackResourceIds" not in workbook and source_id:
            workbook["fallbackResourceIds"] = [source_id]
        workbook.setdefault("$schema", SCHEMA)
        return dumps(workbook)
    return dumps({"format": FORMAT, "id": resource.get("name"), "location": resource.get("location"),
                  **portable(resource)})


def read(text: str, *, origin: str) -> Source:
    """Any form of workbook, from text; ``KitError`` saying what it is instead when it is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise KitError(f"{origin} is not valid JSON ({exc}); nothing was imported. Give a gallery template, a "
                       "workbook_export file or an ARM workbook resource") from exc
    if not isinstance(data, dict):
        raise KitError(f"{origin} is not a workbook: it holds a JSON {type(data).__name__}, not an object; nothing "
                       "was imported")
    if data.get("format") == FORMAT:
        workbook = content.check(data.get("workbook"), where=origin)
        return Source(form="sentinelkit", workbook=workbook, display_name=data.get("displayName"),
                      id=data.get("id"), source_id=data.get("sourceId"), description=data.get("description") or "",
                      tags=dict(data.get("tags") or {}))
    props = data.get("properties")
    if isinstance(props, dict) and "serializedData" in props:
        raw = props["serializedData"]
        if isinstance(raw, dict):
            raw = json.dumps(raw)
        if not isinstance(raw, str) or _TEMPLATED.fullmatch(raw.strip()):
            raise KitError(f"{origin} is an ARM workbook whose serializedData is {'a template expression' if isinstance(raw, str) else type(raw).__name__}, "
                           "not the workbook's JSON; nothing was imported. Export the gallery template instead")
        workbook = content.parse(raw, where=origin)
        name = props.get("displayName")
        return Source(form="arm", workbook=workbook,
                      display_name=None if not isinstance(name, str) or _TEMPLATED.search(name) else name,
                      id=None, source_id=props.get("sourceId") or None, description=props.get("description"),
                      tags={k: v for k, v in (data.get("tags") or {}).items() if isinstance(v, str)})
    if "resources" in data and "$schema" in data and "deploymentTemplate" in str(data.get("$schema")):
        raise KitError(f"{origin} is an ARM deployment template, not a workbook; nothing was imported. Open the "
                       "workbook in the portal (Edit → Advanced editor → Gallery Template) and import that")
    if "items" in data or "version" in data:
        return Source(form="gallery", workbook=content.check(data, where=origin))
    keys = ", ".join(sorted(data)[:8]) or "none"
    raise KitError(f"{origin} is not a workbook: expected a gallery template (\"version\": \"Notebook/1.0\" and "
                   f"\"items\"), a workbook_export file or an ARM workbook resource, found an object with keys {keys}; "
                   "nothing was imported")


def retarget(source: Source, target_id: str, customer_ids: dict[str, str] | None = None
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The workbook pointed at ``target_id``: the workspaces it was made for (sourceId, fallbackResourceIds)
    replaced wherever they appear, queries included, and ``fallbackResourceIds`` set to the target.
    Returns the new content and what changed."""
    mapping = {ws: target_id for ws in source.workspace_ids if ws.lower() != target_id.lower()}
    mapping.update(customer_ids or {})
    before = json.dumps(source.workbook)
    replaced = {old: len(re.findall(re.escape(old), before, re.IGNORECASE)) for old in mapping}
    workbook: dict[str, Any] = replace_references(source.workbook, mapping)
    fallback = source.workbook.get("fallbackResourceIds")
    workbook["fallbackResourceIds"] = [target_id]
    known = {target_id.lower(), *(k.lower() for k in mapping)}
    others = sorted({m.group(0) for m in WORKSPACE_ID.finditer(json.dumps(workbook))} - {target_id},
                    key=str.lower)
    report: dict[str, Any] = {"fallbackResourceIds": {"before": fallback, "after": [target_id]},
                              "replaced": {k: n for k, n in replaced.items() if n}}
    other = [o for o in others if o.lower() not in known]
    if other:
        report["other_workspaces"] = other
        report["note"] = "queries name other workspaces explicitly; they were left as they are"
    return workbook, report
