"""Data collection rules: list, show, create, update, delete, export."""

from __future__ import annotations

from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, Workspace, tool

from . import api, locate
from .build import check_rule_body, clean, compose, diff
from .common import (
    ensure_absent,
    gather_counts,
    location_of,
    page_fan_out,
    save_rule,
)
from .errors import explained
from .shape import RULE_FIELDS, rule_row


@tool(READ_ONLY, title="List data collection rules")
async def dcr_list(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                   tenant: str | None = None, fields: list[str] | None = None, limit: int = 25,
                   cursor: str | None = None) -> dict[str, Any]:
    """List the data collection rules that deliver to workspaces: kind, streams, tables, destinations,
    endpoint and association count. Across tenants with `workspaces`/`tenant`.

    Args:
        workspace: One workspace (alias, name or ARM id); omit to cover `workspaces`/`tenant`.
        workspaces: Workspaces to cover (names, aliases or ids), or "all" (the default): every reachable workspace, with or without Sentinel.
        tenant: Only workspaces of this tenant (short name, display name or id).
        fields: Fields per rule (default: name, workspace, kind, streams, tables, destinations, endpoint, associations, resource_group); ["*"] for all, e.g. data_flows with transform_kql.
        limit: Rules per page.
        cursor: next_cursor of the previous page.
    """
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant, sentinel_only=False)

    async def one(ws: Workspace) -> list[dict[str, Any]]:
        rules = [r for r in await locate.list_in_subscription(kit, ws, api.RULES) if locate.belongs_to(r, ws)]
        counts = await gather_counts(kit, ws, [r["id"] for r in rules])
        return [rule_row(r, workspace=ws.label, associations=n) for r, n in zip(rules, counts, strict=True)]

    result = await kit.fan_out(chosen, one)
    return page_fan_out(kit, result, key="rules", default_fields=RULE_FIELDS, fields=fields, limit=limit,
                        cursor=cursor)


@tool(READ_ONLY, title="Show a data collection rule")
async def dcr_get(kit: Kit, workspace: str, rule: str) -> dict[str, Any]:
    """Show one data collection rule in full: data sources, custom stream declarations, destinations (which
    workspaces), each data flow with its transformation KQL and tables, endpoint, associations and etag.

    Args:
        workspace: Workspace whose subscription holds the rule (alias, name or ARM id).
        rule: Rule name or ARM id (see dcr_list).
    """
    ws = await kit.workspace(workspace)
    rule_id = await locate.find(kit, ws, api.RULES, rule)
    data = await locate.read(kit, ws, rule_id, "data collection rule", cache=True)
    row = rule_row(data, workspace=ws.label, associations=await locate.association_count(kit, ws, rule_id))
    if row["needs_association"] and not row["associations"]:
        row["warning"] = ("no machine or resource is associated with this rule: it collects nothing "
                          "(dcr_association_create)")
    return row


@tool(ADDITIVE, title="Create a data collection rule")
async def dcr_create(kit: Kit, workspace: str, name: str, kind: str | None = None, description: str | None = None,
                     windows_events: list[str] | None = None, windows_stream: str = "Microsoft-SecurityEvent",
                     syslog_facilities: list[str] | None = None, syslog_min_level: str = "Warning",
                     custom_streams: dict[str, list[Any]] | None = None,
                     data_flows: list[dict[str, Any]] | None = None, endpoint: str | None = None,
                     resource_group: str | None = None, location: str | None = None,
                     tags: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create a data collection rule that delivers to a workspace, from a compact description or a full ARM
    body. Streams, destinations and data flows are checked before anything is sent; an existing name is an
    error (use dcr_update).

    Args:
        workspace: Destination workspace (alias, name or ARM id); the rule goes to its resource group and region.
        name: Rule name.
        kind: Windows, Linux, Direct (Logs Ingestion API) or WorkspaceTransforms; omit for a kind-less rule.
        description: What the rule is for.
        windows_events: XPath queries for a Windows event log source, e.g. "Security!*[System[(EventID=4625)]]".
        windows_stream: Stream of the Windows events (Microsoft-SecurityEvent for Sentinel, or Microsoft-Event).
        syslog_facilities: Syslog facilities to collect (auth, authpriv, daemon, kern, syslog, local0...).
        syslog_min_level: Lowest syslog level collected (Debug, Info, Notice, Warning, Error, Critical, Alert, Emergency).
        custom_streams: Custom stream declarations: {"Custom-MyAppRaw": ["TimeGenerated:datetime", "Message:string"]}.
        data_flows: Flows [{"streams": [...], "transform_kql": "source | ...", "output_stream": "Custom-MyApp_CL", "destinations": [...]}]; default: each collected stream to the workspace.
        endpoint: Data collection endpoint name or ARM id (same region; required for custom logs and Direct ingestion).
        resource_group: Resource group of the rule (default: the workspace's).
        location: Region (default: the workspace's).
        tags: Tags of the rule.
        body: A full ARM body ({"location", "kind", "properties": {...}}) instead of the compact description.
    """
    ws = await kit.workspace(workspace)
    rg = resource_group or ws.resource_group
    rule_id = api.item_id(ws.subscription_id, rg, api.RULES, name)
    endpoint_id = await locate.find(kit, ws, api.ENDPOINTS, endpoint) if endpoint else None
    if body is not None:
        check_rule_body(body)
        resource = clean(body if "properties" in body else {"properties": body})
        resource["location"] = resource.get("location") or location or await location_of(kit, ws)
        if kind and not resource.get("kind"):
            resource["kind"] = kind
        if endpoint_id:
            resource["properties"]["dataCollectionEndpointId"] = endpoint_id
    else:
        if not (windows_events or syslog_facilities or custom_streams or data_flows):
            raise KitError("describe what to collect: windows_events, syslog_facilities, custom_streams + data_flows, "
                           "or a full ARM body")
        props = compose(ws, description=description, windows_events=windows_events, windows_stream=windows_stream,
                        syslog_facilities=syslog_facilities, syslog_min_level=syslog_min_level,
                        custom_streams=custom_streams, data_flows=data_flows, endpoint_id=endpoint_id)
        resource = {"location": location or await location_of(kit, ws), "properties": props}
        if kind:
            resource["kind"] = kind
    if tags is not None:
        resource["tags"] = tags
    if description and body is not None:
        resource["properties"]["description"] = description
    await ensure_absent(kit, ws, rule_id, "data collection rule", "dcr_update")
    saved = await save_rule(kit, ws, rule_id, resource, before=None, etag=None,
                            summary=f"create data collection rule {name} in {rg} delivering to {ws.label}")
    return {"created": True, **rule_row(saved, workspace=ws.label, associations=0)}


@tool(ADDITIVE, title="Update a data collection rule", can_remove=True)
async def dcr_update(kit: Kit, workspace: str, rule: str, description: str | None = None,
                     data_flows: list[dict[str, Any]] | None = None,
                     custom_streams: dict[str, list[Any]] | None = None, endpoint: str | None = None,
                     tags: dict[str, str] | None = None, body: dict[str, Any] | None = None,
                     etag: str | None = None) -> dict[str, Any]:
    """Change a data collection rule: description, data flows, custom stream declarations, endpoint, tags, or
    the whole body. Validated before sending; saved with its etag so a concurrent change is reported, not
    overwritten. Use dry_run to see the exact body and a diff against the current rule.

    Args:
        workspace: Workspace whose subscription holds the rule (alias, name or ARM id).
        rule: Rule name or ARM id.
        description: New description.
        data_flows: Replacement data flows [{"streams", "destinations", "transform_kql", "output_stream"}]; destinations default to the rule's first destination.
        custom_streams: Stream declarations to add or replace: {"Custom-X": ["Col:type", ...]}.
        endpoint: Data collection endpoint name or ARM id; "none" removes it.
        tags: Replacement tags.
        body: A full ARM body (or just its properties) replacing the rule's.
        etag: The etag you read (dcr_get); the update fails if the rule changed since. Default: the current one.
    """
    ws = await kit.workspace(workspace)
    rule_id = await locate.find(kit, ws, api.RULES, rule)
    current = await locate.read(kit, ws, rule_id, "data collection rule")
    new = clean(current)
    if body is not None:
        given = clean(body if "properties" in body else {**new, "properties": body})
        given["location"] = given.get("location") or new["location"]
        if "kind" not in body and new.get("kind"):
            given["kind"] = new["kind"]
        new = given
    props = new["properties"]
    if description is not None:
        props["description"] = description
    if custom_streams:
        from .build import columns

        declared = props.setdefault("streamDeclarations", {})
        for stream, cols in custom_streams.items():
            declared[stream] = {"columns": columns(cols)}
    if data_flows is not None:
        from .build import flow

        la: list[dict[str, Any]] = (props.get("destinations") or {}).get("logAnalytics") or []
        first = str(la[0].get("name", "")) if la else ""
        props["dataFlows"] = [flow(f, first) for f in data_flows]
    if endpoint is not None:
        if endpoint.lower() in ("", "none"):
            props.pop("dataCollectionEndpointId", None)
        else:
            props["dataCollectionEndpointId"] = await locate.find(kit, ws, api.ENDPOINTS, endpoint)
    if tags is not None:
        new["tags"] = tags
    if not diff(clean(current), new):
        return {"changed": False, "rule": current["name"], "message": "the rule already looks like that; nothing sent"}
    saved = await save_rule(kit, ws, rule_id, new, before=current, etag=etag or current.get("etag"),
                            summary=f"update data collection rule {current['name']} ({ws.label})")
    return {"updated": True, "changed_paths": [d["path"] for d in diff(clean(current), new)],
            **rule_row(saved, workspace=ws.label)}


@tool(DESTRUCTIVE, title="Delete a data collection rule")
async def dcr_delete(kit: Kit, workspace: str, rule: str) -> dict[str, Any]:
    """Delete a data collection rule. Machines associated with it stop sending what it collected; the preview
    lists them.

    Args:
        workspace: Workspace whose subscription holds the rule (alias, name or ARM id).
        rule: Rule name or ARM id.
    """
    ws = await kit.workspace(workspace)
    rule_id = await locate.find(kit, ws, api.RULES, rule)
    current = await locate.read(kit, ws, rule_id, "data collection rule")
    associations = await kit.arm(ws).list(f"{rule_id}/associations", api.VERSION, cache=False,
                                          where=ws.where(resource=current["name"], operation="list associations of"))
    targets_ = sorted(api.short(a["id"].split("/providers/Microsoft.Insights/")[0]) or "" for a in associations)
    row = rule_row(current, workspace=ws.label, associations=len(associations))
    summary = f"delete data collection rule {current['name']} ({ws.label}, tenant {ws.tenant})"
    if targets_:
        summary += f"; {len(targets_)} associated resource(s) stop sending {', '.join(row['tables'])}: {', '.join(targets_)}"
    await kit.confirm_change(summary, {"rule": rule_id, "tables": row["tables"], "associated_resources": targets_,
                                       "etag": current.get("etag")})
    with explained():
        await kit.arm(ws).delete(rule_id, api.VERSION, etag=current.get("etag"),
                                 where=ws.where(resource=f"data collection rule {current['name']}", operation="delete"))
    return {"deleted": current["name"], "workspace": ws.label, "associated_resources": targets_,
            "export_before_delete": "nothing kept: the rule is gone; dcr_export before deleting keeps a copy"}


@tool(READ_ONLY, title="Export a data collection rule")
async def dcr_export(kit: Kit, workspace: str, rule: str, parameterize_workspace: bool = False) -> dict[str, Any]:
    """Export a data collection rule as a clean ARM template (read-only fields such as immutableId and
    provisioningState removed) for review or source control.

    Args:
        workspace: Workspace whose subscription holds the rule (alias, name or ARM id).
        rule: Rule name or ARM id.
        parameterize_workspace: Replace destination workspace ids with a `workspaceResourceId` template parameter, to deploy the rule for another workspace.
    """
    ws = await kit.workspace(workspace)
    rule_id = await locate.find(kit, ws, api.RULES, rule)
    data = await locate.read(kit, ws, rule_id, "data collection rule", cache=True)
    body = clean(data)
    resource: dict[str, Any] = {"type": "Microsoft.Insights/dataCollectionRules", "apiVersion": api.VERSION,
                                "name": data["name"], **body}
    parameters: dict[str, Any] = {}
    if parameterize_workspace:
        for d in (resource["properties"].get("destinations") or {}).get("logAnalytics") or []:
            parameters["workspaceResourceId"] = {"type": "string", "defaultValue": d["workspaceResourceId"]}
            d["workspaceResourceId"] = "[parameters('workspaceResourceId')]"
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0", "parameters": parameters, "resources": [resource]}
    return {"rule": data["name"], "workspace": ws.label, "template": template}
