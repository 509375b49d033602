"""Deploying one rule to many workspaces and tenants: a plan per workspace (create, update, unchanged,
conflict, or skipped when the workspace lacks a table the query reads), one confirmation, then the writes."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sentinelkit import DESTRUCTIVE, Kit, KitError, Workspace, clip, tool

from . import api, build, convert, kqlcheck, locate
from .kinds import AnalyticsRuleKind
from .shape import changes


@dataclass
class Step:
    """What happens in one workspace."""

    ws: Workspace
    action: str  # create | update | unchanged | conflict | skip | error
    body: dict[str, Any] | None = None
    etag: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def preview(self) -> dict[str, Any]:
        return {"action": self.action, **self.detail}


async def _source_rule(kit: Kit, from_workspace: str, rule: str) -> tuple[Workspace, dict[str, Any]]:
    ws = await kit.workspace(from_workspace)
    return ws, await locate.find_rule(kit, ws, rule)


def _compared(existing: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    """What deploying ``body`` would change in ``existing``: only the properties the body sets."""
    props = {k: v for k, v in body["properties"].items() if v is not None}
    return changes(existing.get("properties") or {}, props, sorted(props))


async def _plan(kit: Kit, ws: Workspace, body: dict[str, Any], name: str) -> Step:
    """What deploying ``body`` as rule ``name`` does in ``ws``; the rule listing and the query's validation
    against the workspace's tables are read concurrently."""
    import asyncio

    display = str(body["properties"].get("displayName") or "")
    query = body["properties"].get("query")
    checking = body.get("kind") in convert.QUERY_KINDS and bool(query)
    rules, check = await asyncio.gather(
        kit.arm(ws).list(api.rules(ws), api.SENTINEL, cache=False, where=ws.where(operation="list analytics rules")),
        kqlcheck.check_query(kit, ws, str(query)) if checking else _nothing())
    by_id = next((r for r in rules if str(r.get("name", "")).lower() == name.lower()), None)
    by_name = next((r for r in rules if display and str((r.get("properties") or {}).get("displayName", "")).lower()
                    == display.lower() and r is not by_id), None)
    if by_id is None and by_name is not None:
        return Step(ws, "conflict", detail={
            "reason": f"another rule ({by_name.get('name')}) already has the display name {display!r}; it is left "
                      "alone. Update it with rule_update, or deploy with rule_id set to its id."})
    if check is not None:
        if check.missing_tables:
            return Step(ws, "skip", detail={
                "reason": f"the workspace has no table {', '.join(check.missing_tables)}, which the query reads",
                "missing_tables": list(check.missing_tables)})
        if not check.ok:
            return Step(ws, "skip", detail={"reason": f"the query is invalid here: {check.summary()}"})
    if by_id is None:
        return Step(ws, "create", body, detail={"rule": name})
    diff = _compared(by_id, body)
    if not diff:
        return Step(ws, "unchanged", detail={"rule": name})
    merged = convert.clean(by_id)
    merged["properties"].update({k: v for k, v in body["properties"].items() if v is not None})
    return Step(ws, "update", merged, by_id.get("etag"), detail={"rule": name, "changes": diff})


async def _nothing() -> None:
    return None


@tool(DESTRUCTIVE, title="Deploy an analytics rule to many workspaces")
async def rule_deploy(kit: Kit, workspaces: list[str] | str | None = None, tenant: str | None = None,
                      yaml: str | None = None, arm_template: dict[str, Any] | str | None = None,
                      pick: str | None = None, template: str | None = None, from_workspace: str | None = None,
                      rule: str | None = None, rule_id: str | None = None, enabled: bool | None = None,
                      severity: str | None = None) -> dict[str, Any]:
    """Deploy one analytics rule (a rule file, an ARM template export, a built-in template, or an existing rule
    of another workspace) to many workspaces and tenants in one call. Each workspace gets a plan (create,
    update, unchanged, conflict) after its query is validated against that workspace; a workspace lacking a
    table the query reads is reported and skipped. One confirmation for the whole plan (updates overwrite the
    rules in place), then per-workspace results.

    Args:
        workspaces: Target workspaces (names, aliases or ids), or "all" (the default): every Sentinel workspace.
        tenant: Only workspaces of this tenant.
        yaml: The text of a rule file in the Azure-Sentinel repository's YAML format.
        arm_template: An ARM template export (object or JSON text) with an alertRules resource.
        pick: The display name of the rule to take when the ARM template holds several.
        template: A built-in rule template's id or display name (read in each target workspace).
        from_workspace: The workspace holding the rule to copy (with `rule`).
        rule: The rule to copy from `from_workspace` (name, ARM id or display name).
        rule_id: The rule's id in every workspace (default: the source rule's or export's id, else one derived from the display name).
        enabled: Deploy enabled (true) or disabled (false); default: as the source.
        severity: Override the severity (High, Medium, Low, Informational).
    """
    given = [n for n, v in (("yaml", yaml), ("arm_template", arm_template), ("template", template),
                            ("from_workspace/rule", rule or from_workspace)) if v not in (None, "", {})]
    if len(given) != 1:
        raise KitError("give exactly one source: yaml, arm_template, template, or from_workspace + rule"
                       + (f" (got {', '.join(given)})" if given else ""))
    chosen = await kit.targets(workspaces=workspaces or "all", tenant=tenant)
    props = build.overrides(enabled=enabled, severity=severity)
    source_ws: Workspace | None = None
    body: dict[str, Any] | None = None
    name = rule_id
    origin = given[0]
    if rule or from_workspace:
        if not (rule and from_workspace):
            raise KitError("to copy a rule, give both from_workspace and rule")
        source_ws, found = await _source_rule(kit, from_workspace, rule)
        source_ws = await kit.workspace_details(source_ws)
        body = convert.apply_overrides(convert.clean(found), props)
        name = name or str(found["name"])
        origin = f"rule {(found.get('properties') or {}).get('displayName')!r} of {source_ws.label}"
    elif not template:
        built = await build.from_source(kit, None, build.Source(yaml=yaml, arm_template=arm_template, pick=pick),
                                        "Scheduled", props)
        body, origin = built.body, built.origin
        name = name or built.rule_id
    if body is not None:
        convert.check_body(body)
        name = name or build.default_id(body)
    kind = AnalyticsRuleKind()

    async def plan(ws: Workspace) -> Step:
        mine = body
        if template:
            built = await build.from_source(kit, ws, build.Source(template=template), "Scheduled", props)
            mine = built.body
            convert.check_body(mine)
        assert mine is not None
        if source_ws is not None:
            mine = kind.rewrite(copy.deepcopy(mine), source_ws, await kit.workspace_details(ws))
        return await _plan(kit, ws, mine, name or build.default_id(mine))

    planned = await kit.fan_out(chosen, plan, label="workspaces planned")
    steps = [step for _, step in planned.results]
    name = name or next((str(s.detail["rule"]) for s in steps if s.detail.get("rule")), None)
    steps += [Step(ws, "error", detail={"reason": str(exc)}) for ws, exc in planned.errors]
    preview = {planned.key(s.ws): s.preview() for s in steps}
    counts: dict[str, int] = {}
    for s in steps:
        counts[s.action] = counts.get(s.action, 0) + 1
    writes = [s for s in steps if s.action in ("create", "update")]
    if not writes:
        return {"deployed": 0, "source": origin, "plan": clip(preview), "summary": counts,
                "message": "nothing to write: every workspace is unchanged, in conflict or skipped"}
    await kit.confirm_change(f"deploy analytics rule from {origin} to {len(writes)} workspace(s): "
                             + ", ".join(f"{n} {a}" for a, n in sorted(counts.items())),
                             clip({"rule": name, "plan": preview}))
    by_ws = {s.ws.id.lower(): s for s in writes}

    async def apply(ws: Workspace) -> dict[str, Any]:
        step = by_ws[ws.id.lower()]
        assert step.body is not None
        rule_name = str(step.detail["rule"])
        saved = await kit.arm(ws).put(api.rule(ws, rule_name), api.SENTINEL, step.body, etag=step.etag,
                                      where=ws.where(resource=f"analytics rule {rule_name}", operation=step.action))
        return {"action": step.action, "result": "created" if step.action == "create" else "updated",
                "rule": saved.get("name"), "etag": saved.get("etag")}

    applied = await kit.fan_out([s.ws for s in writes], apply, label="workspaces deployed")
    results = {key: {"action": value["action"], "result": value["action"]} for key, value in preview.items()}
    for ws, value in applied.results:
        results[applied.key(ws)] = value
    for ws, exc in applied.errors:
        results[applied.key(ws)] = {"action": by_ws[ws.id.lower()].action, "result": "failed", "error": str(exc)}
    for key, step in preview.items():
        if step["action"] not in ("create", "update"):
            results[key] = {"result": step["action"], **{k: v for k, v in step.items() if k != "action"}}
    failed = len(applied.errors)
    if failed:
        kit.report_outcome("partial" if applied.results else "failed",
                           f"{failed} of {len(writes)} workspace(s) failed: " + "; ".join(applied.error_messages().values()))
    return {"deployed": len(applied.results), "failed": failed, "source": origin, "rule": name, "summary": counts,
            "results": clip(results)}
