"""Detailed checks (ARM only): table plans and retention, watchlists about to expire, automation rules
switched off or expired, and what other packs contribute through the ``sentinel_health_findings`` hook
(pack-dcr: unused rules and endpoints, rules feeding stopped tables)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

from sentinelkit import Kit, KitError, Workspace

from . import versions as v
from .checks import parse_time
from .findings import INFO, WARNING, Finding
from .policy import EVENT_DRIVEN_TABLES, Policy

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def iso_duration(text: str | None) -> dt.timedelta | None:
    """``P30D``, ``PT12H``... (years and months counted as 365 and 30 days)."""
    m = _DURATION.match(str(text or "").upper())
    if not m or not any(m.groups()):
        return None
    y, mo, w, d, h, mi, s = (int(x or 0) for x in m.groups())
    return dt.timedelta(days=365 * y + 30 * mo + 7 * w + d, hours=h, minutes=mi, seconds=s)


async def detailed_checks(
    kit: Kit,
    ws: Workspace,
    policy: Policy,
    *,
    now: dt.datetime,
    cache: bool,
    sentinel: bool,
    tables_with_data: set[str],
    stopped_tables: set[str],
) -> list[Finding]:
    arm = kit.arm(ws)
    base = f"{ws.id}/providers/Microsoft.SecurityInsights"

    def where(op: str) -> Any:
        return ws.where(operation=op)

    async def none() -> list[dict[str, Any]]:
        return []

    tables, watchlists, automation, contributed = await asyncio.gather(
        arm.list(f"{ws.id}/tables", v.TABLES, where=where("list tables"), cache=cache),
        arm.list(f"{base}/watchlists", v.SENTINEL, where=where("list watchlists"), cache=cache) if sentinel else none(),
        arm.list(f"{base}/automationRules", v.SENTINEL, where=where("list automation rules"), cache=cache)
        if sentinel
        else none(),
        contributed_findings(kit, ws, "detailed", refresh=not cache, stopped_tables=stopped_tables),
    )
    out = _retention(tables, policy, tables_with_data)
    out += contributed
    expiring = _watchlists(watchlists, policy, now)
    counts = await asyncio.gather(
        *(
            arm.list(
                f"{base}/watchlists/{f.resource}/watchlistItems",
                v.SENTINEL,
                cache=cache,
                where=where("list watchlist items"),
            )
            for f in expiring
        )
    )
    for finding, items in zip(expiring, counts, strict=True):
        finding.evidence["items"] = len(items)
    out += expiring
    out += _automation(automation, now)
    return out


def _retention(tables: list[dict[str, Any]], policy: Policy, with_data: set[str]) -> list[Finding]:
    out = []
    for t in sorted(tables, key=lambda x: str(x.get("name"))):
        p = t.get("properties") or {}
        name = str(t.get("name"))
        total = int(p.get("totalRetentionInDays") or p.get("retentionInDays") or 0)
        judged = not with_data or name in with_data or name.endswith("_CL") or name in EVENT_DRIVEN_TABLES
        if total >= policy.min_retention_days or not judged:  # empty built-in tables cost nothing to keep
            continue
        plan = p.get("plan", "Analytics")
        plan_note = (
            f" On the {plan} plan, data is queryable interactively for {p.get('retentionInDays')} days only."
            if plan != "Analytics"
            else ""
        )
        out.append(
            Finding(
                "table_retention",
                WARNING,
                f"table {name} keeps data {total} days (policy: {policy.min_retention_days})",
                resource=name,
                evidence={
                    "plan": plan,
                    "retention_days": p.get("retentionInDays"),
                    "total_retention_days": total,
                    "policy_days": policy.min_retention_days,
                },
                recommendation=(
                    f"Raise {name}'s total retention to at least {policy.min_retention_days} days (the "
                    "portal, or table_set_retention where the tables pack is installed; long-term retention "
                    f"is the cheap way to keep data) or record why the table is exempt.{plan_note}"
                ),
            )
        )
    return out


async def contributed_findings(kit: Kit, ws: Workspace, depth: str, *, refresh: bool,
                              stopped_tables: set[str]) -> list[Finding]:
    """What the packs implementing ``sentinel_health_findings`` found; one that fails is a finding itself."""
    pending = [p for p in kit.hooks.sentinel_health_findings(kit=kit, workspace=ws, depth=depth, refresh=refresh,
                                                             stopped_tables=frozenset(stopped_tables)) if p is not None]
    answers = await asyncio.gather(*pending, return_exceptions=True)
    out: list[Finding] = []
    for answer in answers:
        if isinstance(answer, KitError):
            out.append(Finding("detailed", WARNING, "a contributed check could not complete",
                               evidence={"error": str(answer)}, recommendation="Fix the cause named in the error "
                               "(often a missing role) and run the detailed check again."))
        elif isinstance(answer, BaseException):
            raise answer
        else:
            out += [Finding(check=str(f["check"]), severity=str(f["severity"]), title=str(f["title"]),
                            recommendation=str(f["recommendation"]), evidence=dict(f.get("evidence") or {}),
                            resource=f.get("resource")) for f in answer]
    return out


def _watchlists(watchlists: list[dict[str, Any]], policy: Policy, now: dt.datetime) -> list[Finding]:
    out = []
    for w in watchlists:
        p = w.get("properties") or {}
        ttl = iso_duration(p.get("defaultDuration"))
        created = parse_time(p.get("updated") or p.get("created"))
        if ttl is None or created is None:
            continue
        expires = created + ttl
        left = (expires - now).total_seconds() / 86400
        if left <= policy.watchlist_expiry_days:
            name = str(w.get("name") or p.get("watchlistAlias"))
            out.append(
                Finding(
                    "watchlists",
                    WARNING,
                    f"watchlist {name} expires in {max(left, 0):.1f} days"
                    if left > 0
                    else f"watchlist {name} has expired",
                    resource=name,
                    evidence={
                        "default_duration": p.get("defaultDuration"),
                        "last_updated": p.get("updated") or p.get("created"),
                        "expires": expires.isoformat().replace("+00:00", "Z"),
                        "days_left": round(left, 1),
                    },
                    recommendation=(
                        "Refresh its items (re-upload or update them) or remove the default duration; rules "
                        "that look items up in it will silently match nothing once they expire."
                    ),
                )
            )
    return out


def _automation(rules: list[dict[str, Any]], now: dt.datetime) -> list[Finding]:
    out = []
    for r in rules:
        p = r.get("properties") or {}
        logic = p.get("triggeringLogic") or {}
        name = str(p.get("displayName") or r.get("name"))
        expiry = parse_time(logic.get("expirationTimeUtc"))
        if expiry is not None and expiry < now and logic.get("isEnabled", True):
            out.append(
                Finding(
                    "automation",
                    INFO,
                    f"automation rule {name} has expired",
                    resource=name,
                    evidence={"expired": logic.get("expirationTimeUtc")},
                    recommendation="Delete it or extend its expiration if it is still needed.",
                )
            )
    return out
