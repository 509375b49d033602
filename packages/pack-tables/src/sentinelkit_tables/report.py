"""Retention against a policy, across every workspace: which tables keep data for less time than the
policy asks, by how much, and the call that fixes each."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from sentinelkit import READ_ONLY, Kit, KitError, Workspace, tool

from .settings import RetentionMinimum, TablesSettings
from .tables import Retention, kind_of, list_tables
from .volumes import volumes

DEFAULT_FIELDS = ["workspace", "table", "plan", "retention_days", "total_retention_days", "required_retention_days",
                  "required_total_days", "short_by_days", "fix"]


def merged_policy(configured: Mapping[str, RetentionMinimum], given: dict[str, Any] | None) -> dict[str, RetentionMinimum]:
    """The configured policy with the call's entries replacing (or adding) theirs."""
    policy = dict(configured)
    for pattern, minimum in (given or {}).items():
        try:
            policy[pattern] = RetentionMinimum.model_validate(minimum)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
            raise KitError(f"policy entry {pattern!r} is invalid ({problems}); write e.g. "
                           '{"SecurityEvent": {"interactive_days": 90, "total_days": 365}}') from None
    return policy


def rule_for(table: str, policy: Mapping[str, RetentionMinimum]) -> tuple[str, RetentionMinimum] | None:
    """The entry that applies to ``table``: its exact name, else the first matching pattern, else "*"."""
    for pattern, minimum in policy.items():
        if pattern.lower() == table.lower():
            return pattern, minimum
    for pattern, minimum in policy.items():
        if pattern != "*" and fnmatch.fnmatch(table.lower(), pattern.lower()):
            return pattern, minimum
    return ("*", policy["*"]) if "*" in policy else None


def shortfall(table: dict[str, Any], rule: tuple[str, RetentionMinimum], ws: Workspace) -> dict[str, Any] | None:
    """The finding for a table below its rule, or ``None`` when it complies."""
    pattern, minimum = rule
    r = Retention.of(table)
    name = str(table.get("name"))
    need_interactive = minimum.interactive_days or 0
    need_total = max(minimum.total_days or 0, need_interactive)
    short_interactive = max(need_interactive - r.interactive, 0)
    short_total = max(need_total - r.total, 0)
    if not short_interactive and not short_total:
        return None
    arguments: dict[str, Any] = {"workspace": ws.label, "table": name}
    fix: dict[str, Any] = {"tool": "table_set_retention", "arguments": arguments}
    if short_interactive and r.plan != "Analytics":
        fix = {"tool": "table_set_plan", "arguments": {**arguments, "plan": "Analytics"},
               "then": f"table_set_retention with retention_days={need_interactive}",
               "why": f"on the {r.plan} plan interactive retention is fixed at {r.interactive} days"}
    elif short_interactive:
        arguments["retention_days"] = need_interactive
    if short_total and fix["tool"] == "table_set_retention":
        arguments["total_retention_days"] = max(need_total, need_interactive)
    elif short_total:
        fix["then"] += f" and total_retention_days={need_total}"
    return {"workspace": ws.label, "table": name, "type": kind_of(table), "plan": r.plan,
            "retention_days": r.interactive, "total_retention_days": r.total,
            "required_retention_days": need_interactive or None, "required_total_days": need_total or None,
            "short_by_days": max(short_interactive, short_total), "rule": pattern, "fix": fix}


@tool(READ_ONLY, title="Table retention against policy")
async def table_retention_report(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                                 tenant: str | None = None, policy: dict[str, Any] | None = None,
                                 include_empty: bool = False, fields: list[str] | None = None, limit: int = 50,
                                 cursor: str | None = None) -> dict[str, Any]:
    """Compare every workspace's tables with a retention policy and list the tables that keep data for less time
    than it asks (interactive and total retention), by how much, with the call that fixes each. The policy comes
    from [packs.tables] retention of sentinelkit.toml (default: every table keeps 90 days in total); `policy`
    adds or replaces entries for this call. Covers every workspace of every tenant by default.

    Args:
        workspace: One workspace (alias, name or ARM id); omit to cover `workspaces`/`tenant`.
        workspaces: Workspaces to cover (names, aliases or ids), or "all" (the default): every reachable Log Analytics workspace.
        tenant: Only workspaces of this tenant (short name, display name or id).
        policy: Entries for this call: {"SecurityEvent": {"interactive_days": 90, "total_days": 365}, "*_CL": {"total_days": 180}, "*": {"total_days": 90}}; an exact table name wins over patterns, "*" applies to the rest.
        include_empty: Also judge tables that ingested nothing in the last 30 days (by default only tables with data, custom tables and tables the policy names exactly are judged: an empty Azure table costs nothing to keep).
        fields: Fields per finding (default: workspace, table, plan, retention_days, total_retention_days, required_retention_days, required_total_days, short_by_days, fix); more: type, rule; ["*"] for all.
        limit: Findings per page.
        cursor: next_cursor of the previous page.
    """
    rules = merged_policy(kit.pack_settings(TablesSettings).retention, policy)
    if not rules:
        raise KitError("the retention policy is empty: set [packs.tables.retention] in sentinelkit.toml or pass policy")
    named = {p.lower() for p in rules if not any(ch in p for ch in "*?[")}
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant, sentinel_only=False)

    async def one(ws: Workspace) -> tuple[list[dict[str, Any]], int, str | None]:
        tables = await list_tables(kit, ws)
        usage = await volumes(kit, ws)
        findings = []
        judged = 0
        for t in tables:
            name = str(t.get("name"))
            if kind_of(t) in ("search_results", "restored"):
                continue  # job outputs, not retained data
            if not (include_empty or usage.error or usage.has_data(name) or kind_of(t) == "custom"
                    or name.lower() in named):
                continue
            rule = rule_for(name, rules)
            if rule is None:
                continue
            judged += 1
            found = shortfall(t, rule, ws)
            if found is not None:
                findings.append(found)
        findings.sort(key=lambda f: (-f["short_by_days"], f["table"]))
        return findings, judged, usage.error

    done = await kit.fan_out(chosen, one)
    items = [f for _, (found, _, _) in done.results for f in found]
    extra: dict[str, Any] = {
        "policy": {p: m.model_dump(exclude_none=True) for p, m in rules.items()},
        "workspaces": done.total,
        "tables_judged": sum(judged for _, (_, judged, _) in done.results),
        "compliant_workspaces": [done.key(ws) for ws, (found, _, _) in done.results if not found],
    }
    notes = [f"{done.key(ws)}: {error} (every table was judged)" for ws, (_, _, error) in done.results if error]
    if notes:
        extra["volume_notes"] = notes
    if done.errors:
        extra["errors"] = done.error_messages()
    return kit.page(items, fields=fields, default_fields=DEFAULT_FIELDS, limit=limit, cursor=cursor,
                    key="shortfalls", extra=extra)
