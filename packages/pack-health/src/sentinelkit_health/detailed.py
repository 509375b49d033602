"""Detailed checks (ARM only): table plans and retention, unused DCRs/DCEs, DCRs feeding stopped tables,
watchlists about to expire, automation rules switched off or expired."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

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


def _stream_table(stream: str) -> str:
    return stream.split("-", 1)[1] if stream.startswith("Microsoft-") else stream


async def detailed_checks(
    kit: Any,
    ws: Any,
    policy: Policy,
    *,
    now: dt.datetime,
    cache: bool,
    sentinel: bool,
    tables_with_data: set[str],
    stopped_tables: set[str],
) -> list[Finding]:
    arm = kit.arm(ws)
    rg = ws.id.split("/providers/", 1)[0]
    sub = "/".join(rg.split("/")[:3])
    base = f"{ws.id}/providers/Microsoft.SecurityInsights"

    def where(op: str) -> Any:
        return ws.where(operation=op)

    async def none() -> list[dict[str, Any]]:
        return []

    # data collection lives anywhere in the subscription: rules are matched by destination, endpoints by
    # resource group or by the rules that use them
    tables, dcrs, dces, watchlists, automation = await asyncio.gather(
        arm.list(f"{ws.id}/tables", v.TABLES, where=where("list tables"), cache=cache),
        arm.list(
            f"{sub}/providers/Microsoft.Insights/dataCollectionRules",
            v.DATA_COLLECTION,
            where=where("list data collection rules"),
            cache=cache,
        ),
        arm.list(
            f"{sub}/providers/Microsoft.Insights/dataCollectionEndpoints",
            v.DATA_COLLECTION,
            where=where("list data collection endpoints"),
            cache=cache,
        ),
        arm.list(f"{base}/watchlists", v.SENTINEL, where=where("list watchlists"), cache=cache) if sentinel else none(),
        arm.list(f"{base}/automationRules", v.SENTINEL, where=where("list automation rules"), cache=cache)
        if sentinel
        else none(),
    )
    out = _retention(tables, policy, tables_with_data)
    out += await _data_collection(arm, ws, rg, dcrs, dces, stopped_tables, cache)
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


async def _data_collection(
    arm: Any, ws: Any, rg: str, dcrs: list[dict[str, Any]], dces: list[dict[str, Any]], stopped: set[str], cache: bool
) -> list[Finding]:
    ours = [
        d
        for d in dcrs
        if any(
            str(dest.get("workspaceResourceId", "")).lower() == ws.id.lower()
            for dest in ((d.get("properties") or {}).get("destinations") or {}).get("logAnalytics", []) or []
        )
    ]
    agent_rules = [d for d in ours if str(d.get("kind", "")) != "Direct"]  # Direct rules are never associated
    used = {str((d.get("properties") or {}).get("dataCollectionEndpointId", "")).lower() for d in ours}
    dces = [e for e in dces if e["id"].lower().startswith(rg.lower() + "/") or e["id"].lower() in used]
    rule_assocs, endpoint_assocs = await asyncio.gather(
        asyncio.gather(
            *(
                arm.list(
                    f"{d['id']}/associations",
                    v.DATA_COLLECTION,
                    cache=cache,
                    where=ws.where(operation="list DCR associations"),
                )
                for d in agent_rules
            )
        ),
        asyncio.gather(
            *(
                arm.list(
                    f"{e['id']}/associations",
                    v.DATA_COLLECTION,
                    cache=cache,
                    where=ws.where(operation="list DCE associations"),
                )
                for e in dces
            )
        ),
    )
    out = []
    for dcr, assocs in zip(agent_rules, rule_assocs, strict=True):
        if not assocs:
            out.append(
                Finding(
                    "data_collection",
                    INFO,
                    f"data collection rule {dcr['name']} has no association",
                    resource=dcr["name"],
                    evidence={"kind": dcr.get("kind"), "associations": 0, "streams": _streams(dcr)},
                    recommendation=(
                        "It collects nothing: associate it with the machines it was meant for, or delete it "
                        "to keep the configuration honest."
                    ),
                )
            )
    for dce, assocs in zip(dces, endpoint_assocs, strict=True):
        referenced = any(
            str((d.get("properties") or {}).get("dataCollectionEndpointId", "")).lower() == dce["id"].lower()
            for d in dcrs
        )
        if not assocs and not referenced:
            out.append(
                Finding(
                    "data_collection",
                    INFO,
                    f"data collection endpoint {dce['name']} has no association",
                    resource=dce["name"],
                    evidence={"associations": 0, "referenced_by_rules": 0},
                    recommendation="Nothing uses it: delete it, or associate the machines that should send through it.",
                )
            )
    for dcr in ours:
        dead = sorted({_stream_table(s) for s in _streams(dcr)} & stopped)
        if dead:
            out.append(
                Finding(
                    "data_collection",
                    WARNING,
                    f"data collection rule {dcr['name']} sends to {', '.join(dead)}, which stopped receiving data",
                    resource=dcr["name"],
                    evidence={"streams": _streams(dcr), "stopped_tables": dead},
                    recommendation=(
                        "Check the agents associated with this rule (Heartbeat, AMA status) and the sources' "
                        "syslog/event configuration; the rule itself is in place."
                    ),
                )
            )
    return out


def _streams(dcr: dict[str, Any]) -> list[str]:
    flows = (dcr.get("properties") or {}).get("dataFlows") or []
    return sorted({s for f in flows for s in (f.get("streams") or [])})


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
