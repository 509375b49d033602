"""Checks a rule before it is sent, so that a mistake is named precisely (which flow, which stream,
which destination) instead of surfacing as a generic rejection — and nothing is half-written."""

from __future__ import annotations

import re
from typing import Any

from sentinelkit import Kit, KitError, NotFoundError, Workspace

from . import api
from .shape import data_sources, destinations, table_of

KINDS = ("Linux", "Windows", "Direct", "AgentDirectToStore", "WorkspaceTransforms", "AgentSettings", "PlatformTelemetry")
COLUMN_TYPES = ("string", "int", "long", "real", "boolean", "datetime", "dynamic")
_WORKSPACE_ID = re.compile(r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.operationalinsights"
                           r"/workspaces/[^/]+$", re.IGNORECASE)
_STREAM = re.compile(r"^(Custom|Microsoft)-\S+$")


def problems(kind: str | None, props: dict[str, Any]) -> list[str]:
    """Every problem of a rule's properties, each naming the part at fault."""
    out: list[str] = []
    if kind is not None and str(kind).lower() not in {k.lower() for k in KINDS}:
        out.append(f"kind {kind!r} is not a rule kind; use one of {', '.join(KINDS)} (or none)")
    declared = props.get("streamDeclarations") or {}
    if not isinstance(declared, dict):
        return ["streamDeclarations must be an object keyed by stream name"]
    for name, decl in declared.items():
        if not name.startswith("Custom-"):
            out.append(f"declared stream {name!r} must start with 'Custom-'")
        columns = (decl or {}).get("columns") if isinstance(decl, dict) else None
        if not columns:
            out.append(f"declared stream {name!r} has no columns")
            continue
        for col in columns:
            if not isinstance(col, dict) or not col.get("name"):
                out.append(f"a column of declared stream {name!r} has no name")
            elif str(col.get("type", "")).lower() not in COLUMN_TYPES:
                out.append(f"column {col['name']!r} of declared stream {name!r} has type {col.get('type')!r}; "
                           f"use one of {', '.join(COLUMN_TYPES)}")
    sources = data_sources(props)
    for s in sources:
        for stream in s["streams"]:
            if not _STREAM.match(str(stream)):
                out.append(f"data source {s['name']!r} ({s['type']}) names stream {stream!r}: streams are "
                           "'Microsoft-<Table>' or declared 'Custom-<name>' streams")
            elif stream.startswith("Custom-") and stream not in declared:
                out.append(f"data source {s['name']!r} ({s['type']}) names custom stream {stream!r}, which is not "
                           "declared in streamDeclarations")
    dests = destinations(props)
    raw_dests = props.get("destinations") or {}
    names = [d.get("name") for entries in raw_dests.values() for d in ([entries] if isinstance(entries, dict)
                                                                          else entries or [])]
    for dup in sorted({n for n in names if n and names.count(n) > 1}):
        out.append(f"destination name {dup!r} is used more than once; names must be unique")
    for name, d in dests.items():
        if d["type"] == "logAnalytics" and not _WORKSPACE_ID.match(d.get("workspace_id", "")):
            out.append(f"destination {name!r} has workspaceResourceId {d.get('workspace_id')!r}, which is not a Log "
                       "Analytics workspace ARM id")
    produced = {s for src in sources for s in src["streams"]} | set(declared)
    transforms = (kind or "").lower() == "workspacetransforms"
    flows = props.get("dataFlows") or []
    if sources and not flows:
        out.append("the rule has data sources but no data flow: nothing would be delivered")
    for i, flow in enumerate(flows, start=1):
        label = f"data flow {i}"
        streams = flow.get("streams") or []
        if not streams:
            out.append(f"{label} names no stream")
        for stream in streams:
            if transforms and str(stream).startswith("Microsoft-Table-"):
                continue
            if stream not in produced:
                have = ", ".join(sorted(produced)) or "none"
                out.append(f"{label} names stream {stream!r}, which no data source produces and no declaration "
                           f"defines (available streams: {have})")
        if not flow.get("destinations"):
            out.append(f"{label} names no destination")
        for dest in flow.get("destinations") or []:
            if dest not in dests:
                out.append(f"{label} names destination {dest!r}, which is not defined in destinations "
                           f"(defined: {', '.join(sorted(dests)) or 'none'})")
        output = flow.get("outputStream")
        if output is not None and not _STREAM.match(str(output)):
            out.append(f"{label} has outputStream {output!r}: use 'Custom-<Table>_CL' or 'Microsoft-<Table>'")
        elif output and str(output).startswith("Custom-") and not table_of(output).endswith("_CL"):
            out.append(f"{label} has outputStream {output!r}: a custom table's stream ends with _CL")
    return out


def check(kind: str | None, props: dict[str, Any], rule_name: str) -> None:
    found = problems(kind, props)
    if found:
        raise KitError(f"data collection rule {rule_name!r} is not valid, nothing was sent: " + "; ".join(found) + ".")


async def check_targets(kit: Kit, ws: Workspace, props: dict[str, Any], location: str, rule_name: str) -> None:
    """What only Azure knows: the destination workspaces and the endpoint exist, and the endpoint is in the
    rule's region (Azure Monitor refuses an endpoint in another region)."""
    found: list[str] = []
    for name, d in destinations(props).items():
        if d["type"] != "logAnalytics":
            continue
        try:
            await kit.workspace_details(Workspace.from_id(d["workspace_id"], via=ws.via), fresh=True)
        except NotFoundError:
            found.append(f"destination {name!r} names workspace {d['workspace_id']}, which does not exist")
    dce_id = props.get("dataCollectionEndpointId")
    if dce_id:
        try:
            dce = await kit.arm(ws).get(dce_id, api.VERSION, cache=False,
                                        where=ws.where(resource=api.short(dce_id), operation="read endpoint"))
        except NotFoundError:
            found.append(f"data collection endpoint {dce_id} does not exist (see dce_list)")
        else:
            dce_loc = str(dce.get("location", "")).replace(" ", "").lower()
            if dce_loc != location.replace(" ", "").lower():
                found.append(f"data collection endpoint {dce.get('name')!r} is in {dce_loc} but the rule is in "
                             f"{location}: a rule can only use an endpoint in its own region; create one there "
                             "with dce_create")
    if found:
        raise KitError(f"data collection rule {rule_name!r} cannot be saved, nothing was sent: " + "; ".join(found) + ".")
