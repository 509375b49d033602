"""Rules from a compact description, clean bodies for PUT/export, and diffs for previews."""

from __future__ import annotations

import copy
import re
from typing import Any

from sentinelkit import KitError, Workspace

from .api import READ_ONLY_PROPS

SYSLOG_LEVELS = ["Debug", "Info", "Notice", "Warning", "Error", "Critical", "Alert", "Emergency"]


def destination_name(ws: Workspace) -> str:
    """The destination name the portal would give a workspace (letters and digits of its name)."""
    return "".join(ch for ch in ws.name if ch.isalnum())


def columns(spec: list[Any]) -> list[dict[str, str]]:
    """``["TimeGenerated:datetime", "Message"]`` or ARM column objects → ARM column objects."""
    out = []
    for col in spec:
        if isinstance(col, dict):
            out.append({"name": str(col.get("name", "")), "type": str(col.get("type", "string"))})
        else:
            name, _, typ = str(col).partition(":")
            out.append({"name": name.strip(), "type": (typ.strip() or "string")})
    return out


def flow(raw: dict[str, Any], default_destination: str) -> dict[str, Any]:
    """A data flow from snake_case or ARM keys; destinations default to the workspace."""
    streams = raw.get("streams") or ([raw["stream"]] if raw.get("stream") else [])
    out: dict[str, Any] = {"streams": list(streams),
                           "destinations": list(raw.get("destinations") or [default_destination])}
    kql = raw.get("transform_kql", raw.get("transformKql"))
    if kql:
        out["transformKql"] = kql
    output = raw.get("output_stream", raw.get("outputStream"))
    if output:
        out["outputStream"] = output
    return out


def compose(ws: Workspace, *, description: str | None, windows_events: list[str] | None, windows_stream: str,
            syslog_facilities: list[str] | None, syslog_min_level: str, custom_streams: dict[str, list[Any]] | None,
            data_flows: list[dict[str, Any]] | None, endpoint_id: str | None) -> dict[str, Any]:
    """Rule properties from the compact description: sources, custom streams, flows to the workspace."""
    dest = destination_name(ws)
    props: dict[str, Any] = {}
    if description:
        props["description"] = description
    if endpoint_id:
        props["dataCollectionEndpointId"] = endpoint_id
    if custom_streams:
        props["streamDeclarations"] = {name: {"columns": columns(cols)} for name, cols in custom_streams.items()}
    sources: dict[str, Any] = {}
    if windows_events:
        sources["windowsEventLogs"] = [{"name": "windowsEvents", "streams": [windows_stream],
                                        "xPathQueries": list(windows_events)}]
    if syslog_facilities:
        level = syslog_min_level.capitalize()
        if level not in SYSLOG_LEVELS:
            raise KitError(f"syslog_min_level {syslog_min_level!r} is not a syslog level; use one of "
                           f"{', '.join(SYSLOG_LEVELS)}")
        sources["syslog"] = [{"name": "syslog", "streams": ["Microsoft-Syslog"], "facilityNames": list(syslog_facilities),
                              "logLevels": SYSLOG_LEVELS[SYSLOG_LEVELS.index(level):]}]
    props["dataSources"] = sources
    props["destinations"] = {"logAnalytics": [{"workspaceResourceId": ws.id, "name": dest}]}
    if data_flows:
        props["dataFlows"] = [flow(f, dest) for f in data_flows]
    else:
        streams = [s for entries in sources.values() for src in entries for s in src["streams"]]
        props["dataFlows"] = [{"streams": [s], "destinations": [dest]} for s in dict.fromkeys(streams)]
    return props


_PLACEHOLDER = re.compile(r"\{\{\s*[^{}]+?\s*\}\}|^\[(?:parameters|variables)\('[^']*'\)\]$")
_RULE_PARTS = ("dataFlows", "destinations", "dataSources", "streamDeclarations")


def _placeholders(value: Any, path: str = "") -> list[str]:
    """``path: text`` of every string still holding a template placeholder (``{{location}}``, ``[parameters('x')]``)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _placeholders(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _placeholders(v, f"{path}[{i}]")]
    if isinstance(value, str):
        found = [m.group(0) for m in _PLACEHOLDER.finditer(value.strip())]
        return [f"{path or 'body'}: {', '.join(found)}"] if found else []
    return []


def check_rule_body(body: Any) -> None:
    """Refuse a ``dcr_create`` body that is not a data collection rule, or still holds template placeholders."""
    if not isinstance(body, dict):
        raise KitError(f"body must be a data collection rule (a JSON object), not {type(body).__name__}")
    if "resources" in body or "$schema" in body or "contentVersion" in body:
        raise KitError("body is an ARM template, not a data collection rule: pass the rule itself (the element of "
                       "'resources' whose type is Microsoft.Insights/dataCollectionRules), with its parameters "
                       "replaced by values")
    kind = str(body.get("type") or "")
    if kind and kind.lower() != "microsoft.insights/datacollectionrules":
        raise KitError(f"body is a {kind} resource, not a data collection rule (Microsoft.Insights/dataCollectionRules)")
    props = body.get("properties", body)
    if not isinstance(props, dict) or not any(part in props for part in _RULE_PARTS):
        raise KitError("body is not a data collection rule: it has none of " + ", ".join(_RULE_PARTS) +
                       " (give a full ARM body {\"location\", \"kind\", \"properties\": {...}} or its properties)")
    left = _placeholders(body)
    if left:
        raise KitError("body still holds template placeholders; replace them with real values first: "
                       + "; ".join(left[:10]) + (f" (and {len(left) - 10} more)" if len(left) > 10 else ""))


def clean(resource: dict[str, Any]) -> dict[str, Any]:
    """The writable part of a rule or endpoint: what a PUT sends and an export keeps."""
    out: dict[str, Any] = {"location": resource.get("location")}
    if resource.get("kind"):
        out["kind"] = resource["kind"]
    if resource.get("tags"):
        out["tags"] = dict(resource["tags"])
    if resource.get("identity"):
        out["identity"] = {k: v for k, v in resource["identity"].items() if k in ("type", "userAssignedIdentities")}
    props = copy.deepcopy(resource.get("properties") or {})
    for key in READ_ONLY_PROPS:
        props.pop(key, None)
    for d in (props.get("destinations") or {}).get("logAnalytics") or []:
        d.pop("workspaceId", None)  # filled by the service from workspaceResourceId
    out["properties"] = props
    return out


def diff(before: Any, after: Any, path: str = "", out: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """JSON paths that differ, with both values (``None`` = absent)."""
    out = [] if out is None else out
    if isinstance(before, dict) and isinstance(after, dict):
        for key in dict.fromkeys([*before, *after]):
            diff(before.get(key), after.get(key), f"{path}.{key}" if path else key, out)
    elif isinstance(before, list) and isinstance(after, list):
        for i in range(max(len(before), len(after))):  # items added or removed at the end show one by one
            diff(before[i] if i < len(before) else None, after[i] if i < len(after) else None, f"{path}[{i}]", out)
    elif before != after:
        out.append({"path": path, "before": before, "after": after})
    return out


def removals(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What a change to a rule stops collecting or sending: data flows (stream → destination), data
    sources, destinations, stream declarations and the endpoint. Such a change is confirmed like a delete."""
    b, a = before.get("properties") or {}, after.get("properties") or {}

    def pairs(props: dict[str, Any]) -> set[tuple[str, str]]:
        return {(s, d) for f in props.get("dataFlows") or [] for s in f.get("streams") or []
                for d in f.get("destinations") or []}

    def names(props: dict[str, Any], key: str) -> set[str]:
        return {str(item.get("name")) for group in (props.get(key) or {}).values() for item in group or []
                if isinstance(item, dict)}

    out = [f"data flow {s} → {d}" for s, d in sorted(pairs(b) - pairs(a))]
    out += [f"data source {n}" for n in sorted(names(b, "dataSources") - names(a, "dataSources"))]
    out += [f"destination {n}" for n in sorted(names(b, "destinations") - names(a, "destinations"))]
    out += [f"stream declaration {n}" for n in sorted(set(b.get("streamDeclarations") or {})
                                                     - set(a.get("streamDeclarations") or {}))]
    if b.get("dataCollectionEndpointId") and not a.get("dataCollectionEndpointId"):
        out.append(f"endpoint {str(b['dataCollectionEndpointId']).rsplit('/', 1)[-1]}")
    return out
