"""What pack-dcr adds to ``sentinel_health_check`` (pack-health's ``sentinel_health_findings`` hook):
agent rules nobody associated, endpoints nothing uses, rules whose tables stopped receiving data.

Optional: the hook is pack-health's, so this loads (and does nothing) when pack-health is absent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from sentinelkit import Kit, Workspace, hookimpl

from . import api, locate
from .shape import flows, needs_association


@hookimpl(optionalhook=True)
def sentinel_health_findings(kit: Kit, workspace: Workspace, depth: str, refresh: bool,
                             stopped_tables: frozenset[str]) -> Awaitable[list[dict[str, Any]]] | None:
    if depth != "detailed":
        return None
    return data_collection_findings(kit, workspace, refresh=refresh, stopped=stopped_tables)


async def data_collection_findings(kit: Kit, ws: Workspace, *, refresh: bool,
                                   stopped: frozenset[str]) -> list[dict[str, Any]]:
    """Findings about the data collection of ``ws``: its subscription's rules that deliver to it, and the
    endpoints of its resource group or of those rules."""
    rules, endpoints = await asyncio.gather(
        locate.list_in_subscription(kit, ws, api.RULES, cache=not refresh),
        locate.list_in_subscription(kit, ws, api.ENDPOINTS, cache=not refresh),
    )
    mine = [r for r in rules if locate.delivers_to(r, ws)]
    agent_rules = [r for r in mine if needs_association(r)]
    used = {_endpoint_of(r) for r in mine}
    rg = api.rg_id(ws.subscription_id, ws.resource_group).lower()
    local = [e for e in endpoints if e["id"].lower().startswith(rg + "/") or e["id"].lower() in used]
    rule_counts, endpoint_counts = await asyncio.gather(
        asyncio.gather(*(locate.association_count(kit, ws, r["id"]) for r in agent_rules)),
        asyncio.gather(*(locate.association_count(kit, ws, e["id"]) for e in local)),
    )
    out: list[dict[str, Any]] = []
    for rule, count in zip(agent_rules, rule_counts, strict=True):
        if not count:
            out.append(_finding("info", f"data collection rule {rule['name']} has no association", rule["name"],
                                {"kind": rule.get("kind"), "associations": 0, "streams": _streams(rule)},
                                "It collects nothing: associate it with the machines it was meant for "
                                "(dcr_association_create), or delete it (dcr_delete) to keep the configuration honest."))
    referenced = {_endpoint_of(r) for r in rules}
    for endpoint, count in zip(local, endpoint_counts, strict=True):
        if not count and endpoint["id"].lower() not in referenced:
            out.append(_finding("info", f"data collection endpoint {endpoint['name']} has no association",
                                endpoint["name"], {"associations": 0, "referenced_by_rules": 0},
                                "Nothing uses it: delete it (dce_delete), or associate the machines that should "
                                "send through it."))
    for rule in mine:
        tables = {t for f in flows(rule.get("properties") or {}) for t in f.get("tables", [])}
        dead = sorted(tables & stopped)
        if dead:
            out.append(_finding("warning", f"data collection rule {rule['name']} sends to {', '.join(dead)}, which "
                                "stopped receiving data", rule["name"], {"streams": _streams(rule), "stopped_tables": dead},
                                "Check the agents associated with this rule (Heartbeat, AMA status) and the sources' "
                                "syslog/event configuration; the rule itself is in place (dcr_status shows it)."))
    return out


def _endpoint_of(rule: dict[str, Any]) -> str:
    return str((rule.get("properties") or {}).get("dataCollectionEndpointId") or "").lower()


def _streams(rule: dict[str, Any]) -> list[str]:
    return sorted({s for f in (rule.get("properties") or {}).get("dataFlows") or [] for s in f.get("streams") or []})


def _finding(severity: str, title: str, resource: str, evidence: dict[str, Any], recommendation: str) -> dict[str, Any]:
    return {"check": "data_collection", "severity": severity, "title": title, "resource": resource,
            "evidence": evidence, "recommendation": recommendation}
