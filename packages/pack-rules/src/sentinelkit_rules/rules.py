"""Analytics rules: list (with failing runs flagged), show, enable, disable, delete, create and update."""

from __future__ import annotations

from typing import Any

from sentinelkit import ADDITIVE, DESTRUCTIVE, READ_ONLY, Kit, KitError, Workspace, clip, tool

from . import api, build, convert, health, locate
from .shape import RULE_FIELDS, changes, rule_row, template_changes, template_row, version_key

AUTO_DISABLED = "AUTO DISABLED"


@tool(READ_ONLY, title="List analytics rules")
async def rule_list(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                    tenant: str | None = None, kind: str | None = None, enabled: bool | None = None,
                    severity: str | None = None, tactic: str | None = None, technique: str | None = None,
                    template: str | None = None, name_contains: str | None = None, failing: bool | None = None,
                    fields: list[str] | None = None, limit: int = 25, cursor: str | None = None) -> dict[str, Any]:
    """List analytics rules of one workspace or across workspaces and tenants: kind, enabled, severity, tactics
    and techniques, template and template version, last modified, and whether the rule's last run failed
    (SentinelHealth, last 24 hours).

    Args:
        workspace: One workspace (alias, name or ARM id); omit to cover `workspaces`/`tenant`.
        workspaces: Workspaces to cover (names, aliases or ids), or "all" (the default): every Sentinel workspace.
        tenant: Only workspaces of this tenant (short name, display name or id).
        kind: Only this kind: Scheduled, NRT, Fusion, MicrosoftSecurityIncidentCreation, MLBehaviorAnalytics, ThreatIntelligence.
        enabled: Only enabled (true) or disabled (false) rules.
        severity: Only this severity (High, Medium, Low, Informational).
        tactic: Only rules mapped to this MITRE ATT&CK tactic (e.g. CredentialAccess).
        technique: Only rules mapped to this technique (T1110 also matches its sub-techniques).
        template: Only rules created from this template (id or display name); "none" for custom rules.
        name_contains: Only rules whose display name contains this text (any case).
        failing: Only rules whose last run failed (true), or that did not (false).
        fields: Fields per rule (default: name, workspace, display_name, kind, enabled, severity, tactics, template_version, failing); ["*"] for all, e.g. techniques, template, last_modified, trigger, last_run, query.
        limit: Rules per page.
        cursor: next_cursor of the previous page.
    """
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)
    notes: dict[str, str] = {}

    async def one(ws: Workspace) -> list[dict[str, Any]]:
        import asyncio

        rules, (runs, note) = await asyncio.gather(
            kit.arm(ws).list(api.rules(ws), api.SENTINEL, where=ws.where(operation="list analytics rules")),
            health.rule_runs(kit, ws))
        if note:
            notes[ws.label] = note
        rows = [rule_row(r, ws.label, health.for_rule(runs, r)) for r in rules]
        return [r for r in rows if _matches(r, kind, enabled, severity, tactic, technique, template, name_contains,
                                            failing)]

    result = await kit.fan_out(chosen, one)
    rows = sorted((r for _, rows in result.results for r in rows),
                  key=lambda r: (r["workspace"] or "", str(r["display_name"] or "").lower()))
    extra: dict[str, Any] = {"workspaces": result.total, "failing": sum(1 for r in rows if r["failing"])}
    if result.errors:
        extra["errors"] = result.error_messages()
    if notes:
        extra["notes"] = notes
    return kit.page(rows, fields=fields, default_fields=RULE_FIELDS, limit=limit, cursor=cursor, key="rules",
                    extra=extra)


def _matches(row: dict[str, Any], kind: str | None, enabled: bool | None, severity: str | None, tactic: str | None,
             technique: str | None, template: str | None, name_contains: str | None, failing: bool | None) -> bool:
    if kind and str(row["kind"]).lower() != kind.lower():
        return False
    if enabled is not None and bool(row["enabled"]) != enabled:
        return False
    if severity and str(row["severity"]).lower() != severity.lower():
        return False
    if tactic and tactic.lower() not in [t.lower() for t in row["tactics"]]:
        return False
    if technique and not any(t.upper() == technique.upper() or t.upper().startswith(technique.upper() + ".")
                             for t in row["techniques"]):
        return False
    if template:
        if template.lower() == "none":
            if row["template"]:
                return False
        elif str(row["template"] or "").lower() != template.lower():
            return False
    if name_contains and name_contains.lower() not in str(row["display_name"] or "").lower():
        return False
    return failing is None or row["failing"] == failing


@tool(READ_ONLY, title="Show an analytics rule")
async def rule_get(kit: Kit, workspace: str, rule: str) -> dict[str, Any]:
    """Show one analytics rule in full: query, schedule and trigger, entity mappings, custom details, incident
    settings, its last runs (SentinelHealth) and the template it came from (with a newer version, if any).

    Args:
        workspace: Workspace alias, name or ARM id.
        rule: The rule's name (id), ARM id or display name (see rule_list).
    """
    ws = await kit.workspace(workspace)
    found = await locate.find_rule(kit, ws, rule)
    runs, note = await health.rule_runs(kit, ws)
    row = rule_row(found, ws.label, health.for_rule(runs, found))
    props = found.get("properties") or {}
    for key in ("entityMappings", "customDetails", "alertDetailsOverride", "eventGroupingSettings",
                "incidentConfiguration", "suppressionEnabled", "suppressionDuration"):
        if props.get(key) not in (None, [], {}):
            row[key] = props[key]
    if note:
        row["note"] = note
    if props.get("alertRuleTemplateName"):
        row["template"] = await _template_of(kit, ws, found)
    if str(props.get("displayName", "")).startswith(AUTO_DISABLED):
        row["auto_disabled"] = ("Microsoft Sentinel disabled this rule after its query kept failing; fix the cause "
                                "(last_run), then rule_enable")
    return clip(row)


async def _template_of(kit: Kit, ws: Workspace, rule: dict[str, Any]) -> dict[str, Any]:
    props = rule.get("properties") or {}
    name = str(props["alertRuleTemplateName"])
    templates = {str(t.get("name", "")).lower(): t for t in await locate.list_templates(kit, ws)}
    template = templates.get(name.lower())
    if template is None:
        return {"name": name, "version": props.get("templateVersion"),
                "note": "this template is not in the workspace's gallery (removed, or from a content solution)"}
    out = template_row(template)
    info = {k: out[k] for k in ("name", "display_name", "version")}
    if version_key(out["version"]) > version_key(props.get("templateVersion")):
        info["newer_version"] = True
        info["changes"] = clip(template_changes(rule, template))
    return info


async def _save(kit: Kit, ws: Workspace, name: str, body: dict[str, Any], *, before: dict[str, Any] | None,
                summary: str, etag: str | None) -> dict[str, Any]:
    changes_: dict[str, Any] = {"rule": name, "workspace": ws.label, "kind": body.get("kind")}
    if before is None:
        changes_["body"] = body
    else:
        changes_["changes"] = changes(convert.clean(before)["properties"], body["properties"])
        changes_["etag"] = etag
    await kit.confirm_change(summary, clip(changes_))
    return await kit.arm(ws).put(api.rule(ws, name), api.SENTINEL, body, etag=etag,
                                 where=ws.where(resource=f"analytics rule {body['properties'].get('displayName') or name}",
                                                operation="save"))


async def _set_enabled(kit: Kit, ws: Workspace, rule: str, enabled: bool, etag: str | None) -> dict[str, Any]:
    current = await locate.find_rule(kit, ws, rule)
    _expect_etag(current, etag, ws)
    props = current.get("properties") or {}
    row = rule_row(current, ws.label)
    if bool(props.get("enabled")) == enabled:
        return {"changed": False, "rule": _short(row),
                "message": f"the rule is already {'enabled' if enabled else 'disabled'}; nothing was written"}
    body = convert.clean(current)
    body["properties"]["enabled"] = enabled
    notes = []
    if enabled and str(props.get("displayName", "")).startswith(AUTO_DISABLED):
        body["properties"]["displayName"] = props["displayName"][len(AUTO_DISABLED):].strip()
        notes.append(f"the '{AUTO_DISABLED}' prefix Sentinel added is removed from the display name")
    check = await build.checked(kit, ws, body) if enabled else None
    verb = "enable" if enabled else "disable"
    saved = await _save(kit, ws, current["name"], body, before=current, etag=current.get("etag"),
                        summary=f"{verb} analytics rule {props.get('displayName')!r} in {ws.label} (tenant {ws.tenant})")
    out: dict[str, Any] = {"changed": True, "rule": _short(rule_row(saved, ws.label))}
    if notes:
        out["notes"] = notes
    if check is not None:
        out["validation"] = build.validation_note(check)
    return out


def _short(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("name", "workspace", "display_name", "kind", "enabled", "severity", "etag")}


def _expect_etag(current: dict[str, Any], etag: str | None, ws: Workspace) -> None:
    if etag and current.get("etag") and etag != current.get("etag"):
        raise KitError(f"analytics rule {(current.get('properties') or {}).get('displayName')!r} in {ws.label} changed "
                       f"since you read it (etag {etag} is now {current.get('etag')}); nothing was written. Read it "
                       "again (rule_get) and retry.")


@tool(ADDITIVE, title="Enable an analytics rule")
async def rule_enable(kit: Kit, workspace: str, rule: str, etag: str | None = None) -> dict[str, Any]:
    """Enable an analytics rule. Its query is validated against the workspace first (a rule whose tables are
    missing would only fail again); a rule Sentinel auto-disabled gets its display name back.

    Args:
        workspace: Workspace alias, name or ARM id.
        rule: The rule's name (id), ARM id or display name.
        etag: The etag you read (rule_get); the change is refused if the rule changed since. Default: the current one.
    """
    return await _set_enabled(kit, await kit.workspace(workspace), rule, True, etag)


@tool(DESTRUCTIVE, title="Disable an analytics rule")
async def rule_disable(kit: Kit, workspace: str, rule: str, etag: str | None = None) -> dict[str, Any]:
    """Disable an analytics rule: it stops running and raises no alerts or incidents until enabled again.

    Args:
        workspace: Workspace alias, name or ARM id.
        rule: The rule's name (id), ARM id or display name.
        etag: The etag you read (rule_get); the change is refused if the rule changed since. Default: the current one.
    """
    return await _set_enabled(kit, await kit.workspace(workspace), rule, False, etag)


@tool(DESTRUCTIVE, title="Delete an analytics rule")
async def rule_delete(kit: Kit, workspace: str, rule: str, etag: str | None = None) -> dict[str, Any]:
    """Delete an analytics rule. The preview shows the rule (with its query) so that it can be recreated.

    Args:
        workspace: Workspace alias, name or ARM id.
        rule: The rule's name (id), ARM id or display name.
        etag: The etag you read (rule_get); the delete is refused if the rule changed since. Default: the current one.
    """
    ws = await kit.workspace(workspace)
    current = await locate.find_rule(kit, ws, rule)
    _expect_etag(current, etag, ws)
    row = rule_row(current, ws.label)
    await kit.confirm_change(f"delete analytics rule {row['display_name']!r} ({row['kind']}) from {ws.label} "
                             f"(tenant {ws.tenant})", clip({"rule": _short(row), "body": convert.clean(current)}))
    await kit.arm(ws).delete(api.rule(ws, current["name"]), api.SENTINEL, etag=current.get("etag"),
                             where=ws.where(resource=f"analytics rule {row['display_name']}", operation="delete"))
    return {"deleted": current["name"], "display_name": row["display_name"], "workspace": ws.label}


@tool(ADDITIVE, title="Create an analytics rule")
async def rule_create(kit: Kit, workspace: str, display_name: str | None = None, query: str | None = None,
                      kind: str = "Scheduled", severity: str | None = None, description: str | None = None,
                      enabled: bool | None = None, query_frequency: str | None = None, query_period: str | None = None,
                      trigger_operator: str | None = None, trigger_threshold: int | None = None,
                      tactics: list[str] | None = None, techniques: list[str] | None = None,
                      entity_mappings: list[dict[str, Any]] | None = None,
                      custom_details: dict[str, str] | None = None, yaml: str | None = None,
                      arm_template: dict[str, Any] | str | None = None, pick: str | None = None,
                      template: str | None = None, rule_id: str | None = None) -> dict[str, Any]:
    """Create an analytics rule from parameters, from a rule file in the Azure-Sentinel repository's YAML format,
    from an ARM template export, or from a built-in rule template (linked to it, with its version). The query is
    validated against the workspace's tables first; the rule gets a stable id, so a retried create never
    duplicates it. Parameters given next to a source override it.

    Args:
        workspace: Workspace alias, name or ARM id.
        display_name: The rule's name as people see it (required for a rule from parameters).
        query: The KQL query (required for a rule from parameters).
        kind: Scheduled (default) or NRT, for a rule from parameters.
        severity: High, Medium (default), Low or Informational.
        description: What the rule detects.
        enabled: Whether the rule runs (default: true).
        query_frequency: How often it runs: 5m, 1h, 1d or ISO 8601 (PT1H); Scheduled only (default 1h).
        query_period: How far back each run looks (at least the frequency; at most 14d).
        trigger_operator: gt, lt, eq or ne (default gt).
        trigger_threshold: Results needed to raise an alert, compared with trigger_operator (default 0).
        tactics: MITRE ATT&CK tactics (e.g. ["CredentialAccess"]).
        techniques: MITRE ATT&CK techniques (T1110; sub-techniques like T1110.003 are kept too).
        entity_mappings: Entity mappings [{"entityType": "Account", "fieldMappings": [{"identifier": "FullName", "columnName": "UserPrincipalName"}]}].
        custom_details: Custom details {"Key": "column"}.
        yaml: The text of a rule file in the Azure-Sentinel repository's format (name, query, queryFrequency: 5h, triggerOperator: gt, relevantTechniques, ...).
        arm_template: An ARM template export (object or JSON text) with a Microsoft.SecurityInsights/alertRules resource.
        pick: The display name of the rule to take when the ARM template holds several.
        template: A built-in rule template's id or display name (see rule_template_list); the rule keeps the link and version.
        rule_id: The rule's id (a GUID) to use; default: the export's id, else one derived from the display name.
    """
    ws = await kit.workspace(workspace)
    source = build.Source(yaml=yaml, arm_template=arm_template, pick=pick, template=template)
    props = build.overrides(display_name=display_name, description=description, severity=severity, enabled=enabled,
                            query=query, query_frequency=query_frequency, query_period=query_period,
                            trigger_operator=trigger_operator, trigger_threshold=trigger_threshold, tactics=tactics,
                            techniques=techniques, entity_mappings=entity_mappings, custom_details=custom_details)
    built = await build.from_source(kit, ws, source, kind, props)
    name = (rule_id or built.rule_id or build.default_id(built.body)).strip()
    check = await build.checked(kit, ws, built.body)
    await _ensure_new(kit, ws, name, built.body)
    display = built.body["properties"].get("displayName") or name
    saved = await _save(kit, ws, name, built.body, before=None, etag=None,
                        summary=f"create analytics rule {display!r} ({built.body['kind']}, from {built.origin}) in "
                                f"{ws.label} (tenant {ws.tenant})")
    out: dict[str, Any] = {"created": True, "rule": _short(rule_row(saved, ws.label)), "source": built.origin}
    if saved.get("properties", {}).get("alertRuleTemplateName"):
        out["template"] = {"name": saved["properties"]["alertRuleTemplateName"],
                           "version": saved["properties"].get("templateVersion")}
    if check is not None:
        out["validation"] = build.validation_note(check)
    if built.info.get("warnings"):
        out["warnings"] = built.info["warnings"]
    return out


async def _ensure_new(kit: Kit, ws: Workspace, name: str, body: dict[str, Any]) -> None:
    """Creates never overwrite: the id, or the display name under another id, already taken is an error."""
    display = str(body["properties"].get("displayName") or "")
    rules = await kit.arm(ws).list(api.rules(ws), api.SENTINEL, cache=False,
                                   where=ws.where(operation="list analytics rules"))
    for existing in rules:
        same_id = str(existing.get("name", "")).lower() == name.lower()
        same_name = bool(display) and str((existing.get("properties") or {}).get("displayName", "")).lower() == display.lower()
        if same_id or same_name:
            what = f"id {name}" if same_id else f"the display name {display!r} (id {existing.get('name')})"
            raise KitError(f"an analytics rule with {what} already exists in {ws.label}; nothing was created. "
                           "Use rule_update to change it, or choose another display_name/rule_id.")


@tool(ADDITIVE, title="Update an analytics rule")
async def rule_update(kit: Kit, workspace: str, rule: str, display_name: str | None = None, query: str | None = None,
                      severity: str | None = None, description: str | None = None, enabled: bool | None = None,
                      query_frequency: str | None = None, query_period: str | None = None,
                      trigger_operator: str | None = None, trigger_threshold: int | None = None,
                      tactics: list[str] | None = None, techniques: list[str] | None = None,
                      entity_mappings: list[dict[str, Any]] | None = None,
                      custom_details: dict[str, str] | None = None, yaml: str | None = None,
                      arm_template: dict[str, Any] | str | None = None, pick: str | None = None,
                      template: str | None = None, etag: str | None = None) -> dict[str, Any]:
    """Change an analytics rule: any of its settings, or its whole definition from a rule file, an ARM template
    export or a (newer version of its) template. The new query is validated against the workspace first; the
    rule is saved with its etag, so a concurrent change is reported, not overwritten. dry_run shows the diff.

    Args:
        workspace: Workspace alias, name or ARM id.
        rule: The rule's name (id), ARM id or display name.
        display_name: New display name.
        query: New KQL query.
        severity: High, Medium, Low or Informational.
        description: New description.
        enabled: Enable (true) or disable (false) as part of the update.
        query_frequency: How often it runs: 5m, 1h, 1d or ISO 8601.
        query_period: How far back each run looks.
        trigger_operator: gt, lt, eq or ne.
        trigger_threshold: Results needed to raise an alert.
        tactics: Replacement MITRE ATT&CK tactics.
        techniques: Replacement MITRE ATT&CK techniques (sub-techniques kept).
        entity_mappings: Replacement entity mappings.
        custom_details: Replacement custom details {"Key": "column"}.
        yaml: A rule file (Azure-Sentinel YAML) whose definition replaces the rule's.
        arm_template: An ARM template export whose rule definition replaces the rule's.
        pick: The display name of the rule to take when the ARM template holds several.
        template: A template id or display name whose current version replaces the rule's definition (keeps the link).
        etag: The etag you read (rule_get); the update is refused if the rule changed since. Default: the current one.
    """
    ws = await kit.workspace(workspace)
    current = await locate.find_rule(kit, ws, rule)
    _expect_etag(current, etag, ws)
    props = build.overrides(display_name=display_name, description=description, severity=severity, enabled=enabled,
                            query=query, query_frequency=query_frequency, query_period=query_period,
                            trigger_operator=trigger_operator, trigger_threshold=trigger_threshold, tactics=tactics,
                            techniques=techniques, entity_mappings=entity_mappings, custom_details=custom_details)
    source = build.Source(yaml=yaml, arm_template=arm_template, pick=pick, template=template)
    new = convert.clean(current)
    if source.given():
        built = await build.from_source(kit, ws, source, str(current.get("kind")), props)
        if built.body["kind"] != current.get("kind"):
            raise KitError(f"the rule is {current.get('kind')} and the new definition is {built.body['kind']}: the "
                           "kind of a rule cannot change; delete it and create it again")
        kept = {"enabled": new["properties"].get("enabled")} if enabled is None else {}
        new = {"kind": current.get("kind"), "properties": {**built.body["properties"], **kept}}
    else:
        convert.apply_overrides(new, props)
    diff = changes(convert.clean(current)["properties"], new["properties"])
    if not diff:
        return {"changed": False, "rule": _short(rule_row(current, ws.label)),
                "message": "the rule already looks like that; nothing was written"}
    check = await build.checked(kit, ws, new) if any(d["field"] in ("query", "enabled") for d in diff) else None
    label = (current.get("properties") or {}).get("displayName")
    saved = await _save(kit, ws, current["name"], new, before=current, etag=current.get("etag"),
                        summary=f"update analytics rule {label!r} in {ws.label} (tenant {ws.tenant}): "
                                + ", ".join(d["field"] for d in diff))
    out: dict[str, Any] = {"updated": True, "changed": [d["field"] for d in diff],
                           "rule": _short(rule_row(saved, ws.label))}
    if check is not None:
        out["validation"] = build.validation_note(check)
    return out
