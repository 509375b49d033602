"""What Azure Monitor checks in a data collection rule before accepting it.

Problems are collected and answered together, as the service does: 400 ``InvalidPayload`` "Data
collection rule is invalid" with one ``details`` entry (code, message, target) per problem, e.g.
``InvalidStream`` for an undeclared custom stream or ``InvalidOutputTable`` when the destination
workspace has no table for the output stream.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import ArmError
from ...store import Resource, Store
from .la_catalog import SYSTEM_TABLES, system_table
from .tracked import normalize_location

KINDS = ("Linux", "Windows", "Direct", "AgentDirectToStore", "WorkspaceTransforms", "AgentSettings",
         "PlatformTelemetry")
DECLARATION_TYPES = ("string", "int", "long", "real", "boolean", "datetime", "dynamic")
DATA_SOURCE_TYPES = ("performanceCounters", "performanceCountersOTel", "windowsEventLogs", "syslog", "extensions",
                     "logFiles", "iisLogs", "windowsFirewallLogs", "prometheusForwarder", "platformTelemetry",
                     "otelLogs", "otelTraces", "otelMetrics", "etwProviders")
DESTINATION_TYPES = ("logAnalytics", "monitoringAccounts", "azureMonitorMetrics", "eventHubs", "eventHubsDirect",
                     "storageBlobsDirect", "storageTablesDirect", "storageAccounts", "microsoftFabric",
                     "azureDataExplorer")
#: Microsoft streams whose table name differs from the stream name after ``Microsoft-``
STREAM_TABLES = {"microsoft-asimnetworksessionlogs-windowsfirewall": "ASimNetworkSessionLogs"}
KNOWN_STREAMS = tuple(sorted(
    {f"Microsoft-{t.name}" for t in SYSTEM_TABLES}
    | {"Microsoft-Event", "Microsoft-InsightsMetrics", "Microsoft-Perf", "Microsoft-Syslog", "Microsoft-WindowsEvent",
       "Microsoft-SecurityEvent", "Microsoft-CommonSecurityLog", "Microsoft-W3CIISLog", "Microsoft-ServiceMap",
       "Microsoft-ASimNetworkSessionLogs-WindowsFirewall", "Microsoft-ContainerLogV2", "Microsoft-KubeEvents",
       "Microsoft-PrometheusMetrics", "Microsoft-OTel-Logs", "Microsoft-OtelPerfMetrics",
       "Microsoft-OTel-Traces-Spans", "Microsoft-OTel-Traces-Events", "Microsoft-OTel-Traces-Resources",
       "Microsoft-ContainerInsights-Group-Default"},
    key=str.lower,
))
_KNOWN_LOWER = {s.lower() for s in KNOWN_STREAMS}
_WORKSPACE_ID = re.compile(r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.operationalinsights"
                           r"/workspaces/[^/]+$", re.IGNORECASE)
_DCE_ID = re.compile(r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.insights"
                     r"/datacollectionendpoints/[^/]+$", re.IGNORECASE)


class Problems:
    """The ``details`` of an ``InvalidPayload`` answer, filled as checks go."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, code: str, message: str, target: str) -> None:
        self.items.append({"code": code, "message": message, "target": target})

    def raise_if_any(self, what: str = "Data collection rule") -> None:
        if self.items:
            raise ArmError(400, "InvalidPayload", f"{what} is invalid", details=self.items)


def canonical_kind(value: Any) -> str | None:
    if value is None:
        return None
    for kind in KINDS:
        if isinstance(value, str) and kind.lower() == value.lower():
            return kind
    raise ArmError(400, "InvalidPayload", "Data collection rule is invalid", details=[{
        "code": "InvalidKind", "target": "kind",
        "message": f"Kind '{value}' is not supported. Supported kinds are: {', '.join(KINDS)}."}])


def check_rule(store: Store, props: dict[str, Any], kind: str | None, location: str) -> dict[str, Any]:
    """Validate DCR properties; returns them with read-only parts filled (``workspaceId``)."""
    problems = Problems()
    declared = _check_declarations(props.get("streamDeclarations"), problems)
    _check_data_sources(props.get("dataSources"), declared, kind, problems)
    destinations = _check_destinations(store, props.get("destinations"), kind, problems)
    _check_flows(store, props.get("dataFlows"), declared, destinations, kind, problems)
    _check_endpoint(store, props.get("dataCollectionEndpointId"), location, problems)
    problems.raise_if_any()
    return props


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _check_declarations(raw: Any, problems: Problems) -> set[str]:
    if raw is None:
        return set()
    if not isinstance(raw, dict):
        problems.add("InvalidStreamDeclaration", "'streamDeclarations' must be an object keyed by stream name.",
                     "Properties.StreamDeclarations")
        return set()
    for name, decl in raw.items():
        target = f"Properties.StreamDeclarations['{name}']"
        if not name.startswith("Custom-"):
            problems.add("InvalidStreamDeclaration", f"Declared stream '{name}' must start with 'Custom-'.", target)
        columns = decl.get("columns") if isinstance(decl, dict) else None
        if not isinstance(columns, list) or not columns:
            problems.add("InvalidStreamDeclaration", f"Stream '{name}' must declare at least one column.", target)
            continue
        for i, col in enumerate(columns):
            ctype = col.get("type") if isinstance(col, dict) else None
            if not isinstance(col, dict) or not col.get("name"):
                problems.add("InvalidStreamDeclaration", f"Column {i} of stream '{name}' has no name.",
                             f"{target}.Columns[{i}]")
            elif str(ctype).lower() not in DECLARATION_TYPES:
                problems.add("InvalidStreamDeclaration", f"Column '{col['name']}' of stream '{name}' has invalid type "
                             f"'{ctype}'. Allowed types are: {', '.join(DECLARATION_TYPES)}.", f"{target}.Columns[{i}]")
    return {n.lower() for n in raw}


def _stream_problem(stream: Any, declared: set[str], kind: str | None) -> tuple[str, str] | None:
    if not isinstance(stream, str):
        return "InvalidStream", f"Stream {stream!r} must be a string."
    low = stream.lower()
    if low.startswith("custom-"):
        if low not in declared:
            return "InvalidStream", f"Stream '{stream}' is a custom stream but is not declared in 'streamDeclarations'."
        return None
    if kind == "WorkspaceTransforms" and low.startswith("microsoft-table-"):
        return None
    if low not in _KNOWN_LOWER:
        return "InvalidStream", (f"'Streams' stream '{stream}' must be a custom stream or one of: "
                                 f"{','.join(KNOWN_STREAMS)}")
    return None


def _check_data_sources(raw: Any, declared: set[str], kind: str | None, problems: Problems) -> None:
    if not raw:
        return
    if not isinstance(raw, dict):
        problems.add("InvalidDataSource", "'dataSources' must be an object.", "Properties.DataSources")
        return
    if kind in ("Direct", "WorkspaceTransforms") and any(raw.get(t) for t in DATA_SOURCE_TYPES):
        problems.add("InvalidDataSource", f"A data collection rule of kind '{kind}' can't have data sources.",
                     "Properties.DataSources")
    names: set[str] = set()
    for source_type in DATA_SOURCE_TYPES:
        for i, source in enumerate(_as_list(raw.get(source_type))):
            target = f"Properties.DataSources.{source_type[0].upper()}{source_type[1:]}[{i}]"
            if not isinstance(source, dict):
                problems.add("InvalidDataSource", "A data source must be an object.", target)
                continue
            name = source.get("name")
            if isinstance(name, str) and name:
                if name.lower() in names:
                    problems.add("InvalidDataSource", f"Data source name '{name}' is used more than once.", target)
                names.add(name.lower())
            for j, stream in enumerate(_as_list(source.get("streams"))):
                found = _stream_problem(stream, declared, kind)
                if found:
                    problems.add(found[0], found[1], f"{target}.Streams[{j}]")


def _check_destinations(store: Store, raw: Any, kind: str | None, problems: Problems) -> dict[str, Resource | None]:
    """Destination name (lower) -> the Log Analytics workspace it names (None for other types)."""
    out: dict[str, Resource | None] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        problems.add("InvalidDestination", "'destinations' must be an object.", "Properties.Destinations")
        return out
    for dest_type in DESTINATION_TYPES:
        entries = raw.get(dest_type)
        if dest_type == "azureMonitorMetrics" and isinstance(entries, dict):
            entries = [entries]
        for i, dest in enumerate(_as_list(entries)):
            target = f"Properties.Destinations.{dest_type[0].upper()}{dest_type[1:]}[{i}]"
            name = dest.get("name") if isinstance(dest, dict) else None
            if not isinstance(name, str) or not name:
                problems.add("InvalidDestination", "Every destination needs a 'name'.", target)
                continue
            if name.lower() in out:
                problems.add("InvalidDestination", f"Destination name '{name}' is used more than once; names must be "
                             "unique across all destinations.", target)
            out[name.lower()] = _log_analytics(store, dest, target, problems) if dest_type == "logAnalytics" else None
    if kind == "WorkspaceTransforms" and (len(_as_list(raw.get("logAnalytics"))) != 1 or len(out) != 1):
        problems.add("InvalidDestination", "A data collection rule of kind 'WorkspaceTransforms' must have exactly "
                     "one Log Analytics destination.", "Properties.Destinations")
    return out


def _log_analytics(store: Store, dest: dict[str, Any], target: str, problems: Problems) -> Resource | None:
    ws_id = dest.get("workspaceResourceId")
    if not isinstance(ws_id, str) or not _WORKSPACE_ID.match(ws_id):
        problems.add("InvalidDestination", f"'workspaceResourceId' {ws_id!r} of destination '{dest['name']}' is not a "
                     "Log Analytics workspace resource ID.", f"{target}.WorkspaceResourceId")
        return None
    workspace = store.get(ws_id)
    if workspace is None:
        problems.add("InvalidDestination", f"Log Analytics workspace '{ws_id}' of destination '{dest['name']}' was not "
                     "found.", f"{target}.WorkspaceResourceId")
        return None
    dest["workspaceId"] = workspace.get("properties", {}).get("customerId")
    return workspace


def _output_table(stream: str) -> tuple[str, bool]:
    """(table name, must exist) for an output stream; Microsoft tables outside the catalog aren't checked."""
    low = stream.lower()
    if low.startswith("custom-"):
        return stream[len("Custom-"):], True
    if low.startswith("microsoft-table-"):
        name = stream[len("Microsoft-Table-"):]
        return name, name.endswith("_CL") or system_table(name) is not None
    name = STREAM_TABLES.get(low, stream[len("Microsoft-"):])
    return name, system_table(name) is not None


def _check_flows(store: Store, raw: Any, declared: set[str], destinations: dict[str, Resource | None],
                 kind: str | None, problems: Problems) -> None:
    if raw is None:
        return
    if not isinstance(raw, list):
        problems.add("InvalidDataFlow", "'dataFlows' must be an array.", "Properties.DataFlows")
        return
    for i, flow in enumerate(raw):
        target = f"Properties.DataFlows[{i}]"
        if not isinstance(flow, dict):
            problems.add("InvalidDataFlow", "A data flow must be an object.", target)
            continue
        streams = _as_list(flow.get("streams"))
        dests = _as_list(flow.get("destinations"))
        if not streams:
            problems.add("InvalidDataFlow", "A data flow must name at least one stream.", f"{target}.Streams")
        if not dests:
            problems.add("InvalidDataFlow", "A data flow must name at least one destination.", f"{target}.Destinations")
        stream_ok = True
        for j, stream in enumerate(streams):
            found = _stream_problem(stream, declared, kind)
            if found:
                stream_ok = False
                problems.add(found[0], found[1], f"{target}.Streams[{j}]")
        for j, dest in enumerate(dests):
            if not isinstance(dest, str) or dest.lower() not in destinations:
                problems.add("InvalidDataFlow", f"Destination '{dest}' used in the data flow is not defined in "
                             "'destinations'.", f"{target}.Destinations[{j}]")
        kql = flow.get("transformKql")
        if kql is not None:
            problem = transform_problem(kql)
            if problem:
                problems.add("InvalidTransformQuery", f"Transform query {kql!r} is invalid: {problem}",
                             f"{target}.TransformKql")
        output = flow.get("outputStream")
        if output is not None and (not isinstance(output, str) or not re.match(r"^(Custom|Microsoft)-\w", output)):
            problems.add("InvalidOutputStream", f"Output stream '{output}' is invalid: use 'Custom-<table>_CL' for a "
                         "custom table or 'Microsoft-<table>' for an Azure table.", f"{target}.OutputStream")
            continue
        if not stream_ok:
            continue
        outputs = [output] if output else [s for s in streams if isinstance(s, str)]
        for dest in dests:
            workspace = destinations.get(str(dest).lower())
            if workspace is None:
                continue
            for out in outputs:
                table, must_exist = _output_table(out)
                if must_exist and store.get(f"{workspace['id']}/tables/{table}") is None:
                    problems.add("InvalidOutputTable", f"Table for output stream '{out}' is not available for "
                                 f"destination '{dest}'.", f"properties.dataFlows[{i}]")


def _check_endpoint(store: Store, dce_id: Any, location: str, problems: Problems) -> None:
    if dce_id is None:
        return
    target = "Properties.DataCollectionEndpointId"
    if not isinstance(dce_id, str) or not _DCE_ID.match(dce_id):
        problems.add("InvalidDataCollectionEndpoint", f"{dce_id!r} is not a data collection endpoint resource ID.",
                     target)
        return
    dce = store.get(dce_id)
    if dce is None:
        problems.add("InvalidDataCollectionEndpoint", f"Data collection endpoint '{dce_id}' was not found.", target)
        return
    dce_location = normalize_location(str(dce.get("location", "")))
    if dce_location != location:
        problems.add("InvalidDataCollectionEndpoint", f"Data collection endpoint '{dce['name']}' is in location "
                     f"'{dce_location}' but the data collection rule is in '{location}'. A data collection rule can "
                     "only use a data collection endpoint in the same region.", target)


#: Operators ingestion-time transformations do not support (they work on one record at a time).
_UNSUPPORTED_TRANSFORM_OPERATORS = re.compile(
    r"\|\s*(summarize|join|union|lookup|sort|order|top|take|limit|distinct|make-series|evaluate|mv-apply|"
    r"count|sample|serialize|render)\b", re.IGNORECASE)


def _after_lets(kql: str) -> str:
    """The last statement of a transformation (the service allows ``let`` statements before it)."""
    from ...logs.rewrite import tokenize

    depth, start = 0, 0
    for token in tokenize(kql):
        if token.kind in ("ws", "comment", "string"):
            continue
        depth += token.text in "([{"
        depth -= token.text in ")]}"
        if token.text == ";" and depth == 0:
            start = token.end
    statement = re.sub(r"^(\s*//[^\n]*\n)*", "", kql[start:].lstrip())
    return statement if start == 0 or re.match(r"^(\s*//[^\n]*\n)*\s*let\b", kql) else ""


def transform_problem(kql: Any) -> str | None:
    """Why a DCR transformation is invalid (as Azure Monitor says it), or None.

    After optional ``let`` statements it must start with ``source``, parse as KQL, and use only
    record-by-record operators.
    """
    if not isinstance(kql, str) or not re.match(r"^\s*source\b", _after_lets(kql)):
        return "a transformation must start with 'source' (after any 'let' statements)."
    import duckdb_kql  # imported on first use: the KQL parser is not needed to start the emulator

    try:
        duckdb_kql.parse(kql)
    except duckdb_kql.KqlSyntaxError as exc:
        return f"the query could not be parsed: {exc}"
    unsupported = _UNSUPPORTED_TRANSFORM_OPERATORS.search(kql)
    if unsupported:
        return (f"operator '{unsupported.group(1)}' is not supported in transformations: they handle one record "
                "at a time (use where, extend, project, project-away, parse...).")
    return None
