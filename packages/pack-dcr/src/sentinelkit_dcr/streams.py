"""Adding and removing one stream (its declaration, data source and data flow) on an existing rule."""

from __future__ import annotations

from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, Kit, KitError, tool

from . import api, locate
from .build import clean, columns
from .common import save_rule
from .shape import rule_row


@tool(ADDITIVE, title="Add a stream to a data collection rule")
async def dcr_stream_add(kit: Kit, workspace: str, rule: str, stream: str, stream_columns: list[Any] | None = None,
                         transform_kql: str | None = None, output_stream: str | None = None,
                         destinations: list[str] | None = None, data_source: dict[str, Any] | None = None,
                         etag: str | None = None) -> dict[str, Any]:
    """Add a stream to a rule as a new data flow, optionally with its declaration, data source and
    transformation.

    Args:
        workspace: Its subscription holds the rule.
        rule: Rule name or ARM id.
        stream: E.g. "Microsoft-Syslog" or "Custom-MyAppRaw".
        stream_columns: A custom stream's declaration, ["TimeGenerated:datetime", ...].
        transform_kql: E.g. "source | where Level != 'debug'".
        output_stream: E.g. "Custom-MyApp_CL" (default: the stream).
        destinations: Default: all the rule's Log Analytics destinations.
        data_source: {"type": "syslog"|"windowsEventLogs"|"logFiles"|..., "name", ...ARM fields}.
        etag: The etag you read; the change fails if it changed since.
    """
    ws = await kit.workspace(workspace)
    rule_id = await locate.find(kit, ws, api.RULES, rule)
    current = await locate.read(kit, ws, rule_id, "data collection rule")
    new = clean(current)
    props = new["properties"]
    if stream_columns:
        if not stream.startswith("Custom-"):
            raise KitError(f"only custom streams are declared: name it 'Custom-...' instead of {stream!r}")
        props.setdefault("streamDeclarations", {})[stream] = {"columns": columns(stream_columns)}
    if data_source:
        source = dict(data_source)
        source_type = source.pop("type", None)
        if not source_type:
            raise KitError('data_source needs a "type", e.g. "syslog", "windowsEventLogs" or "logFiles"')
        source.setdefault("name", f"{source_type}-{stream.split('-', 1)[-1]}"[:64])
        source.setdefault("streams", [stream])
        props.setdefault("dataSources", {}).setdefault(source_type, []).append(source)
    names = destinations or [d["name"] for d in (props.get("destinations") or {}).get("logAnalytics") or []]
    flow: dict[str, Any] = {"streams": [stream], "destinations": names}
    if transform_kql:
        flow["transformKql"] = transform_kql
    if output_stream:
        flow["outputStream"] = output_stream
    flows = props.setdefault("dataFlows", [])
    if flow in flows:
        raise KitError(f"rule {current['name']!r} already has this data flow ({stream} → {', '.join(names)}); "
                       "nothing was changed")
    flows.append(flow)
    saved = await save_rule(kit, ws, rule_id, new, before=current, etag=etag or current.get("etag"),
                            summary=f"add stream {stream} to data collection rule {current['name']} ({ws.label})")
    return {"added": stream, **rule_row(saved, workspace=ws.label)}


@tool(DESTRUCTIVE, title="Remove a stream from a data collection rule")
async def dcr_stream_remove(kit: Kit, workspace: str, rule: str, stream: str, etag: str | None = None) -> dict[str, Any]:
    """Stop collecting a stream with a rule: remove it from every data flow, source and declaration (emptied
    flows and sources go too).

    Args:
        workspace: Its subscription holds the rule.
        rule: Rule name or ARM id.
        stream: E.g. "Microsoft-Syslog".
        etag: The etag you read; the change fails if it changed since.
    """
    ws = await kit.workspace(workspace)
    rule_id = await locate.find(kit, ws, api.RULES, rule)
    current = await locate.read(kit, ws, rule_id, "data collection rule")
    new = clean(current)
    props = new["properties"]
    used = {s for f in props.get("dataFlows") or [] for s in f.get("streams") or []}
    if stream not in used and stream not in (props.get("streamDeclarations") or {}):
        raise KitError(f"rule {current['name']!r} has no stream {stream!r}; it has {', '.join(sorted(used)) or 'none'}")
    flows = []
    for f in props.get("dataFlows") or []:
        f["streams"] = [s for s in f.get("streams") or [] if s != stream]
        if f["streams"]:
            flows.append(f)
    if not flows:
        raise KitError(f"{stream} is the only stream of rule {current['name']!r}: removing it leaves a rule that "
                       "delivers nothing; delete the rule instead (dcr_delete)")
    props["dataFlows"] = flows
    for source_type in list(props.get("dataSources") or {}):
        kept = []
        for s in props["dataSources"][source_type] or []:
            s["streams"] = [x for x in s.get("streams") or [] if x != stream]
            if s["streams"]:
                kept.append(s)
        if kept:
            props["dataSources"][source_type] = kept
        else:
            del props["dataSources"][source_type]
    declared = props.get("streamDeclarations") or {}
    declared.pop(stream, None)
    if "streamDeclarations" in props and not declared:
        del props["streamDeclarations"]
    saved = await save_rule(kit, ws, rule_id, new, before=current, etag=etag or current.get("etag"),
                            summary=f"stop collecting {stream} with data collection rule {current['name']} ({ws.label})")
    return {"removed": stream, **rule_row(saved, workspace=ws.label)}
