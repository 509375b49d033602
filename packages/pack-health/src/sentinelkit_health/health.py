"""``sentinel_health_check``: every selected workspace checked concurrently, one finding per problem."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from sentinelkit import READ_ONLY, Kit, KitError, Workspace, tool

from . import checks
from . import versions as v
from .findings import CRITICAL, HEALTHY, WARNING, Finding, status_of, worst
from .kql import health_query, parse
from .policy import Policy

CACHE_SCOPE = "sentinelkit-health"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _select(
    kit: Kit, tenant_scope: str | list[str], workspaces: list[str] | None
) -> tuple[list[Workspace], list[dict[str, Any]]]:
    """The workspaces in scope, and a finding per requested tenant that has none (a typo, or not reachable)."""
    chosen: list[Workspace] = list(await kit.targets(workspaces=workspaces, sentinel_only=False))
    scope = tenant_scope.split(",") if isinstance(tenant_scope, str) else list(tenant_scope)
    scope = list(dict.fromkeys(t.strip() for t in scope if t and t.strip()))
    problems: list[dict[str, Any]] = []
    if not _is_all(scope):
        kept = []
        for tenant in scope:
            mine = [w for w in chosen if w.in_tenant(tenant)]
            if not mine:
                discovery = await kit.discovery()
                known = sorted({w.tenant_label for w in discovery.workspaces})
                failed = [m for m in discovery.errors.values() if f"tenant {tenant.lower()})" in m.lower()]
                problems.append(
                    Finding(
                        "access",
                        CRITICAL,
                        f"no workspace of tenant {tenant!r} is reachable",
                        evidence={
                            "tenant": tenant,
                            "known_tenants": known,
                            **({"discovery_errors": failed} if failed else {}),
                        },
                        recommendation=(
                            "Check the tenant name (see workspace_list), its Lighthouse delegation or its "
                            "credential in sentinelkit.toml; discovery errors are listed under `errors`."
                        ),
                    ).to_json()
                    | {"tenant": tenant}
                )
            kept += [w for w in mine if w not in kept]
        chosen = kept
    return chosen, problems


def _is_all(tenant_scope: str | list[str]) -> bool:
    scope = tenant_scope.split(",") if isinstance(tenant_scope, str) else list(tenant_scope)
    return [t.strip().lower() for t in scope if t and t.strip()] in ([], ["all"])


def _add_access(findings: list[Finding], new: Finding) -> None:
    """One access finding per distinct problem (an outage fails every call; say it once)."""
    if not any(f.check == "access" and f.title == new.title for f in findings):
        findings.append(new)


@dataclass
class Reads:
    """What the quick check read from one workspace, and the findings its failures already are."""

    onboarded: bool | None = True  # None: could not be read
    rows: list[dict[str, Any]] | None = None  # None: the query failed
    rules: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


async def read_workspace(kit: Kit, ws: Workspace, policy: Policy, *, refresh: bool) -> Reads:
    """The quick check's reads, concurrently: onboarding state, the one KQL query, the analytics rules."""
    arm = kit.arm(ws)
    base = f"{ws.id}/providers/Microsoft.SecurityInsights"
    sentinel = ws.sentinel is not False  # discovery says; the onboarding state confirms
    calls: list[Any] = [
        arm.list(
            f"{base}/onboardingStates",
            v.SENTINEL,
            cache=not refresh,
            where=ws.where(operation="read Sentinel onboarding"),
        ),
        kit.query(ws, health_query(policy, sentinel=sentinel), timespan=None),
    ]
    if sentinel:
        calls.append(
            arm.list(
                f"{base}/alertRules", v.SENTINEL, cache=not refresh, where=ws.where(operation="list analytics rules")
            )
        )
    results: list[Any] = await asyncio.gather(*calls, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, KitError):
            raise r  # a bug or a cancellation, not an Azure answer
    states, rows, rules = results[0], results[1], (results[2] if sentinel else [])
    out = Reads()
    if isinstance(states, KitError):
        status = getattr(states, "status", None)
        if status in (400, 404):
            out.onboarded = False
        else:
            out.onboarded = None  # unknown: the other checks still run on what could be read
            _add_access(out.findings, checks.access_finding(str(states), status, "sentinel"))
    elif not states:
        out.onboarded = False
    if out.onboarded is False:
        out.findings.append(checks.not_onboarded())
        if sentinel and isinstance(rows, KitError) and getattr(rows, "status", None) == 400:
            # discovery did not know: Sentinel's tables do not exist here, so ask for freshness only
            try:
                rows = await kit.query(ws, health_query(policy, sentinel=False), timespan=None)
            except KitError as exc:
                rows = exc
    if isinstance(rows, KitError):
        status = getattr(rows, "status", None)
        if status == 400:
            out.findings.append(checks.query_failed(str(rows)))
        else:
            _add_access(out.findings, checks.access_finding(str(rows), status, "logs"))
    else:
        out.rows = rows
    if isinstance(rules, KitError):
        if out.onboarded is not False:
            _add_access(out.findings, checks.access_finding(str(rules), getattr(rules, "status", None), "sentinel"))
    else:
        out.rules = rules
    return out


async def check_workspace(kit: Kit, ws: Workspace, depth: str, policy: Policy, *, refresh: bool) -> dict[str, Any]:
    """One workspace: at most one KQL query and two ARM reads (quick), plus the detailed ARM reads.

    The result is cached (the core's TTL cache, invalidated by writes under the workspace) unless the
    workspace could not be reached.
    """
    cache = kit.cache
    key = f"{ws.id}?check={depth}&{policy.key()}"
    if not refresh:
        hit = cache.get(CACHE_SCOPE, key)
        if hit is not None:
            return {**hit, "cached": True}
    now = _now()
    reads = await read_workspace(kit, ws, policy, refresh=refresh)
    findings = list(reads.findings)
    figures: dict[str, Any] = {}
    facts = parse(reads.rows or [])
    if reads.rows is not None:
        findings += checks.freshness(facts, policy, now)
    if reads.onboarded is not False:
        findings += checks.sentinel_health(facts, reads.rules, now)
        if reads.rows is not None:
            backlog_findings, figures["incidents"] = checks.backlog(facts, policy, now)
            findings += backlog_findings
    if reads.rules:
        enabled = sum(1 for r in reads.rules if (r.get("properties") or {}).get("enabled", True))
        figures["analytics_rules"] = {"total": len(reads.rules), "enabled": enabled}

    reachable = not any(f.check == "access" for f in findings)
    if depth == "detailed" and reachable:
        findings += await _detailed(kit, ws, policy, now, reads, findings, refresh=refresh)
    order = {"critical": 0, "warning": 1, "info": 2}
    items = sorted((f.to_json() for f in findings), key=lambda f: order.get(f["severity"], 3))
    result = {
        "workspace": ws.label,
        "tenant": ws.tenant or ws.tenant_id,
        "status": status_of(items),
        "sentinel": reads.onboarded,
        "findings": items,
        "figures": figures,
        "checked_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    if reachable:  # an unreachable workspace is tried again on the next call, not cached as such
        cache.put(CACHE_SCOPE, key, result)
    return {**result, "cached": False}


async def _detailed(
    kit: Kit, ws: Workspace, policy: Policy, now: dt.datetime, reads: Reads, quick: list[Finding], *, refresh: bool
) -> list[Finding]:
    from .detailed import detailed_checks

    stopped = {f.resource for f in quick if f.check == "data_freshness" and f.severity == CRITICAL and f.resource}
    try:
        return await detailed_checks(
            kit,
            ws,
            policy,
            now=now,
            cache=not refresh,
            sentinel=reads.onboarded is not False,
            tables_with_data={str(r.get("Name")) for r in parse(reads.rows or []).usage},
            stopped_tables=stopped,
        )
    except KitError as exc:  # a detailed read failing leaves the quick results standing
        return [
            Finding(
                "detailed",
                WARNING,
                "the detailed checks could not complete",
                evidence={"error": str(exc)},
                recommendation="Run again with refresh=true; if it says 403, grant the role it names.",
            )
        ]


@tool(READ_ONLY, title="Sentinel health check")
async def sentinel_health_check(
    kit: Kit,
    tenant_scope: str | list[str] = "all",
    check_depth: Literal["quick", "detailed"] = "quick",
    workspaces: list[str] | None = None,
    refresh: bool = False,
    backlog_days: int = 7,
    min_retention_days: int = 90,
    limit: int = 25,
    cursor: str | None = None,
    fields: list[str] | None = None,
) -> dict[str, Any]:
    """Check Microsoft Sentinel's health across tenants, with evidence and a fix per finding.

    Per workspace: onboarding and access (the missing role); data freshness (stopped or falling tables,
    silent agents); connectors and rules failing in SentinelHealth; disabled rules; incident backlog.
    "detailed" adds retention against policy, unused DCRs/DCEs, DCRs feeding stopped tables, expiring
    watchlists and automation rules. Answers an overall status (healthy, degraded, critical), counts and
    per-workspace results; an unreachable workspace is a finding.

    Args:
        tenant_scope: "all", or tenants (as for `tenant`), as a list or comma-separated.
        check_depth: "quick" (one KQL query and a few ARM reads per workspace) or "detailed".
        workspaces: Only these workspaces; default: every workspace of the tenants in scope.
        refresh: Check again instead of answering from the cache (5 minutes).
        backlog_days: Incidents New for longer count as backlog (1-90).
        min_retention_days: Detailed check: tables keeping fewer days are reported.
        limit: Workspaces per answer (1-100).
        cursor: next_cursor of the previous answer, for the next workspaces.
        fields: Keys per workspace: workspace, tenant, status, sentinel, findings, figures, checked_at, cached; default: all.
    """
    if not 1 <= backlog_days <= 90:
        raise KitError(f"backlog_days must be between 1 and 90 (got {backlog_days})")
    if not 1 <= min_retention_days <= 4383:
        raise KitError(f"min_retention_days must be between 1 and 4383 (12 years; got {min_retention_days})")
    if not 1 <= limit <= 100:
        raise KitError(f"limit must be between 1 and 100 (got {limit}); page with cursor for more")
    policy = Policy(backlog_days=backlog_days, min_retention_days=min_retention_days)
    discovery = await kit.discovery(refresh=refresh)
    targets, scope_findings = await _select(kit, tenant_scope, workspaces)
    if _is_all(tenant_scope) and not workspaces:  # everything was asked for: what discovery missed is a finding
        scope_findings += [checks.discovery_failed(key, message).to_json() for key, message in discovery.errors.items()]
    done = await kit.fan_out(
        targets, lambda ws: check_workspace(kit, ws, check_depth, policy, refresh=refresh), label="workspaces"
    )
    answers = {ws.id.lower(): result for ws, result in done.results}
    failures = {ws.id.lower(): error for ws, error in done.errors}
    per_ws: list[dict[str, Any]] = []
    for ws in targets:
        if ws.id.lower() in answers:
            per_ws.append(answers[ws.id.lower()])
            continue
        per_ws.append({
            "workspace": done.key(ws),
            "tenant": ws.tenant_label,
            "status": CRITICAL,
            "findings": [checks.failed_check(str(failures.get(ws.id.lower(), "unknown error"))).to_json()],
            "figures": {},
            "cached": False,
        })
    for item in per_ws:
        item.setdefault("status", HEALTHY)
    statuses = [w["status"] for w in per_ws] + [CRITICAL for _ in scope_findings]
    severities = [f["severity"] for w in per_ws for f in w["findings"]] + [f["severity"] for f in scope_findings]
    summary = {
        "workspaces": len(per_ws),
        "healthy": sum(1 for w in per_ws if w["status"] == "healthy"),
        "degraded": sum(1 for w in per_ws if w["status"] == "degraded"),
        "critical": sum(1 for w in per_ws if w["status"] == "critical"),
        "unreachable": sum(1 for w in per_ws if any(f["check"] == "access" for f in w["findings"])),
        "findings": {s: severities.count(s) for s in ("critical", "warning", "info")},
    }
    extra: dict[str, Any] = {"status": worst(statuses), "depth": check_depth, "summary": summary}
    if scope_findings:
        extra["tenant_findings"] = scope_findings
    if discovery.errors:
        extra["errors"] = discovery.errors
    if per_ws and all(w.get("cached") for w in per_ws):
        extra["cached"] = "answered from the cache; pass refresh=true to check again"
    extra["policy"] = policy.to_json()
    return kit.page(per_ws, fields=fields, limit=limit, cursor=cursor, key="workspaces", extra=extra)
