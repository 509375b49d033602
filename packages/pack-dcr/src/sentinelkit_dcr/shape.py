"""Compact views of rules, endpoints and associations, shaped for a language model."""

from __future__ import annotations

from typing import Any

from .api import UNASSOCIATED_KINDS, short

#: Microsoft streams whose table differs from the stream name after ``Microsoft-``
STREAM_TABLES = {"microsoft-asimnetworksessionlogs-windowsfirewall": "ASimNetworkSessionLogs"}

RULE_FIELDS = ["name", "workspace", "kind", "streams", "tables", "destinations", "endpoint", "associations",
               "resource_group"]
ENDPOINT_FIELDS = ["name", "workspace", "kind", "location", "public_network_access", "associations",
                   "resource_group"]
ASSOCIATION_FIELDS = ["name", "target", "target_type", "rule", "endpoint"]


def table_of(stream: str) -> str:
    """The Log Analytics table an output stream lands in."""
    low = stream.lower()
    if low.startswith("custom-"):
        name = stream[len("Custom-"):]
        return name if name.endswith("_CL") else name + "_CL"
    if low.startswith("microsoft-table-"):
        return stream[len("Microsoft-Table-"):]
    return STREAM_TABLES.get(low, stream.split("-", 1)[1] if "-" in stream else stream)


def destinations(props: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Destination name → {type, workspace (name), workspace_id (ARM id) or target}."""
    out: dict[str, dict[str, Any]] = {}
    for dest_type, entries in (props.get("destinations") or {}).items():
        if isinstance(entries, dict):
            entries = [entries]
        for d in entries or []:
            if not isinstance(d, dict) or not d.get("name"):
                continue
            item: dict[str, Any] = {"type": dest_type}
            if d.get("workspaceResourceId"):
                item["workspace"] = short(d["workspaceResourceId"])
                item["workspace_id"] = d["workspaceResourceId"]
            else:
                target = next((v for k, v in d.items() if k.endswith("ResourceId") or k == "accountResourceId"), None)
                if target:
                    item["target"] = target
            out[d["name"]] = item
    return out


def flows(props: dict[str, Any]) -> list[dict[str, Any]]:
    """Each data flow: streams, destinations, transformation and the table(s) it writes."""
    dests = destinations(props)
    out = []
    for f in props.get("dataFlows") or []:
        streams = list(f.get("streams") or [])
        outputs = [f["outputStream"]] if f.get("outputStream") else streams
        item: dict[str, Any] = {"streams": streams, "destinations": list(f.get("destinations") or [])}
        if f.get("transformKql"):
            item["transform_kql"] = f["transformKql"]
        if f.get("outputStream"):
            item["output_stream"] = f["outputStream"]
        if any(dests.get(d, {}).get("type") == "logAnalytics" for d in item["destinations"]):
            item["tables"] = [table_of(s) for s in outputs]
        out.append(item)
    return out


def data_sources(props: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for source_type, entries in (props.get("dataSources") or {}).items():
        for s in entries or []:
            if isinstance(s, dict):
                item = {"type": source_type, "name": s.get("name"), "streams": list(s.get("streams") or [])}
                item.update({k: v for k, v in s.items() if k not in ("name", "streams")})  # facilities, XPath...
                out.append(item)
    return out


def produced_streams(props: dict[str, Any]) -> set[str]:
    """Streams a rule can feed to its flows: those of its data sources and its custom declarations."""
    streams = {s for d in data_sources(props) for s in d["streams"]}
    return streams | set(props.get("streamDeclarations") or {})


def needs_association(rule: dict[str, Any]) -> bool:
    """Agent rules collect nothing until associated; Direct and workspace-transform rules never are."""
    kind = (rule.get("kind") or "").lower()
    return kind not in UNASSOCIATED_KINDS and bool(data_sources(rule.get("properties") or {}))


def rule_row(rule: dict[str, Any], *, workspace: str | None = None, associations: int | None = None) -> dict[str, Any]:
    """Everything useful about a rule; ``RULE_FIELDS`` are shown by default."""
    props = rule.get("properties") or {}
    fl = flows(props)
    dests = destinations(props)
    return {
        "name": rule.get("name"),
        "workspace": workspace,
        "kind": rule.get("kind"),
        "description": props.get("description"),
        "streams": sorted({s for f in fl for s in f["streams"]}),
        "tables": sorted({t for f in fl for t in f.get("tables", [])}),
        "destinations": sorted({d.get("workspace") or d.get("target") or n for n, d in dests.items()}),
        "endpoint": short(props.get("dataCollectionEndpointId")),
        "associations": associations,
        "needs_association": needs_association(rule),
        "data_sources": data_sources(props),
        "data_flows": fl,
        "stream_declarations": {name: [f"{c.get('name')}:{c.get('type')}" for c in (d or {}).get("columns") or []]
                                for name, d in (props.get("streamDeclarations") or {}).items()},
        "destination_details": dests,
        "location": rule.get("location"),
        "resource_group": _rg(rule.get("id", "")),
        "id": rule.get("id"),
        "etag": rule.get("etag"),
        "tags": rule.get("tags") or {},
        "provisioning_state": props.get("provisioningState"),
        "immutable_id": props.get("immutableId"),
        "logs_ingestion_endpoint": (props.get("endpoints") or {}).get("logsIngestion"),
        "modified": (rule.get("systemData") or {}).get("lastModifiedAt"),
        "modified_by": (rule.get("systemData") or {}).get("lastModifiedBy"),
    }


def endpoint_row(dce: dict[str, Any], *, workspace: str | None = None, associations: int | None = None) -> dict[str, Any]:
    props = dce.get("properties") or {}
    return {
        "name": dce.get("name"),
        "workspace": workspace,
        "kind": dce.get("kind"),
        "location": dce.get("location"),
        "description": props.get("description"),
        "public_network_access": (props.get("networkAcls") or {}).get("publicNetworkAccess"),
        "associations": associations,
        "logs_ingestion": (props.get("logsIngestion") or {}).get("endpoint"),
        "configuration_access": (props.get("configurationAccess") or {}).get("endpoint"),
        "immutable_id": props.get("immutableId"),
        "resource_group": _rg(dce.get("id", "")),
        "id": dce.get("id"),
        "etag": dce.get("etag"),
        "tags": dce.get("tags") or {},
    }


def association_row(assoc: dict[str, Any]) -> dict[str, Any]:
    props = assoc.get("properties") or {}
    aid = assoc.get("id", "")
    target = aid.split("/providers/Microsoft.Insights/dataCollectionRuleAssociations/")[0] if aid else None
    segs = (target or "").strip("/").split("/")
    return {
        "name": assoc.get("name"),
        "target": short(target),
        "target_type": "/".join(segs[-3:-1]) if len(segs) >= 3 else None,
        "rule": short(props.get("dataCollectionRuleId")),
        "endpoint": short(props.get("dataCollectionEndpointId")),
        "description": props.get("description"),
        "target_id": target,
        "rule_id": props.get("dataCollectionRuleId"),
        "endpoint_id": props.get("dataCollectionEndpointId"),
        "id": aid,
    }


def _rg(arm_id: str) -> str | None:
    p = arm_id.strip("/").split("/")
    return p[3] if len(p) > 3 and p[2].lower() == "resourcegroups" else None
