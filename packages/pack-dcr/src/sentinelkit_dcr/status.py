"""``dcr_status``: which rules deliver to which tables, and whether data still arrives — the silent gaps
(rules nobody associated, tables that stopped receiving, destinations that no longer exist)."""

from __future__ import annotations

import asyncio
from typing import Any

from sentinelkit import READ_ONLY, Kit, KitError, NotFoundError, Workspace, tool

from . import api, locate
from .shape import flows, needs_association


def _usage_kql(lookback_days: int, silent_hours: int) -> str:
    return (f"Usage | where TimeGenerated > ago({lookback_days}d) "
            f"| summarize LastSeen = max(TimeGenerated), RecentMB = sumif(Quantity, TimeGenerated > ago({silent_hours}h)), "
            "TotalMB = sum(Quantity) by DataType")


async def _missing_workspaces(kit: Kit, ws: Workspace, ids: set[str]) -> set[str]:
    """Which of these workspace ids answer 404 (deleted); other failures are not evidence of absence."""
    async def gone(wid: str) -> bool:
        try:
            await kit.workspace_details(Workspace.from_id(wid, via=ws.via), fresh=True)
        except NotFoundError:
            return True
        except KitError:  # other failures (a malformed id, no access) are not evidence of absence
            return False
        return False

    ordered = sorted(ids)
    flags = await asyncio.gather(*(gone(i) for i in ordered))
    return {i.lower() for i, f in zip(ordered, flags, strict=True) if f}


def _la_ids(rule: dict[str, Any]) -> set[str]:
    dests = ((rule.get("properties") or {}).get("destinations") or {}).get("logAnalytics") or []
    return {d["workspaceResourceId"] for d in dests if d.get("workspaceResourceId")}


async def _workspace_status(kit: Kit, ws: Workspace, rule_ref: str | None, silent_hours: int, lookback_days: int,
                            orphans: bool) -> dict[str, Any]:
    """One workspace: its rules' deliveries and problems. ``orphans``: this workspace also answers for the
    subscription's rules whose destination workspace is gone (one workspace per subscription does)."""
    rules = await locate.list_in_subscription(kit, ws, api.RULES)
    if rule_ref:
        wanted = (await locate.find(kit, ws, api.RULES, rule_ref)).lower()
        rules = [r for r in rules if r["id"].lower() == wanted]
    mine = [r for r in rules if locate.delivers_to(r, ws)]
    others = [r for r in rules if not locate.delivers_to(r, ws)] if orphans else []
    foreign = {i for r in mine + others for i in _la_ids(r) if i.lower() != ws.id.lower()}
    missing, counts, usage = await asyncio.gather(
        _missing_workspaces(kit, ws, foreign),
        asyncio.gather(*(locate.association_count(kit, ws, r["id"]) for r in mine)),
        kit.query(ws, _usage_kql(lookback_days, silent_hours), timespan=f"P{lookback_days}D") if mine else _none(),
    )
    checked = mine + [r for r in others if any(i.lower() in missing for i in _la_ids(r))]
    assoc = {r["id"]: n for r, n in zip(mine, counts, strict=True)}
    seen = {str(u.get("DataType")): u for u in usage or []}
    deliveries: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for r in checked:
        unassociated = r in mine and needs_association(r) and not assoc[r["id"]]
        if unassociated:
            problems.append({"type": "no_association", "rule": r["name"],
                             "message": f"rule {r['name']} has no association: it collects nothing "
                                        f"(associate machines with dcr_association_create, or delete it)"})
        gone = sorted(i for i in _la_ids(r) if i.lower() in missing)
        for wid in gone:
            problems.append({"type": "destination_missing", "rule": r["name"], "destination": wid,
                             "message": f"rule {r['name']} sends to workspace {api.short(wid)}, which no longer "
                                        "exists: its data is lost (dcr_update the destination, or dcr_delete)"})
        if r not in mine:
            continue
        for f in flows(r.get("properties") or {}):
            for table in f.get("tables", []):
                u = seen.get(table) or {}
                recent = round(float(u.get("RecentMB") or 0), 2) if u else 0.0
                total = round(float(u.get("TotalMB") or 0), 2) if u else 0.0
                state = "ok" if recent > 0 else ("stopped" if total > 0 else "no_data")
                deliveries.append({"rule": r["name"], "kind": r.get("kind"), "streams": f["streams"], "table": table,
                                   "state": state, "last_ingestion": u.get("LastSeen"),
                                   f"mb_last_{silent_hours}h": recent, f"mb_last_{lookback_days}d": total,
                                   "associations": assoc[r["id"]]})
                if state == "stopped":
                    problems.append({"type": "table_stopped", "rule": r["name"], "table": table,
                                     "last_ingestion": u.get("LastSeen"),
                                     "message": f"{table} (fed by rule {r['name']}) received nothing in the last "
                                                f"{silent_hours} h; last data {u.get('LastSeen')}. Check the associated "
                                                "machines' agents and the rule's transformation"})
                elif state == "no_data" and not unassociated:
                    notes.append({"type": "table_no_data", "rule": r["name"], "table": table,
                                  "message": f"{table} (fed by rule {r['name']}) received nothing in {lookback_days} "
                                             "days although the rule is in use: fine if no source sends this stream "
                                             "yet (e.g. no CEF forwarder), a gap otherwise"})
    return {"rules": len(mine), "deliveries": deliveries, "problems": problems, "notes": notes}


async def _none() -> list[dict[str, Any]]:
    return []


@tool(READ_ONLY, title="Data collection status")
async def dcr_status(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                     tenant: str | None = None, rule: str | None = None, silent_hours: int = 24,
                     lookback_days: int = 30, only_problems: bool = False) -> dict[str, Any]:
    """Find silent data loss: rules and the tables they fill, with last ingestion and volume (Usage);
    `problems`: rules with no association, tables that stopped, destinations gone; `notes`: tables an
    in-use rule never filled.

    Args:
        workspace: One workspace (alias, name or ARM id); omit to cover `workspaces`/`tenant`.
        workspaces: Workspaces to cover, or "all": every workspace, with or without Sentinel.
        tenant: Only workspaces of this tenant.
        rule: Only this rule (with `workspace`).
        silent_hours: Hours without data that count as stopped.
        lookback_days: Days to look back (at most 90).
        only_problems: Leave out deliveries that are fine.
    """
    if rule and not workspace:
        raise KitError("rule needs workspace: the workspace whose subscription holds the rule")
    if not 1 <= silent_hours <= 24 * 30 or not 1 <= lookback_days <= 90:
        raise KitError("silent_hours must be 1..720 and lookback_days 1..90")
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant, sentinel_only=False)
    owners: dict[str, str] = {}
    for ws in chosen:
        owners.setdefault(ws.subscription_id.lower(), ws.id)
    result = await kit.fan_out(chosen, lambda ws: _workspace_status(
        kit, ws, rule, silent_hours, lookback_days, orphans=owners[ws.subscription_id.lower()] == ws.id),
        label="workspaces checked")
    labelled = [(result.key(ws), r) for ws, r in result.results]
    problems = [{"workspace": label, **p} for label, r in labelled for p in r["problems"]]
    notes = [{"workspace": label, **p} for label, r in labelled for p in r["notes"]]
    per_ws: dict[str, Any] = {}
    for label, r in labelled:
        deliveries = [d for d in r["deliveries"] if d["state"] != "ok"] if only_problems else r["deliveries"]
        per_ws[label] = {"rules": r["rules"], "problems": len(r["problems"]), "deliveries": deliveries}
    out: dict[str, Any] = {
        "problems": problems,
        "notes": notes,
        "workspaces": per_ws,
        "summary": {**result.summary(), "rules": sum(r["rules"] for _, r in labelled), "problems": len(problems)},
    }
    if result.failed:
        out["errors"] = result.error_messages()
    return _within_budget(out)


def _within_budget(out: dict[str, Any]) -> dict[str, Any]:
    """Many workspaces make many deliveries: past the core's size budget, keep only those that are not fine."""
    import json

    from sentinelkit import DEFAULT_BUDGET

    if len(json.dumps(out, default=str)) <= DEFAULT_BUDGET:
        return out
    dropped = 0
    for entry in out["workspaces"].values():
        kept = [d for d in entry["deliveries"] if d["state"] != "ok"]
        dropped += len(entry["deliveries"]) - len(kept)
        entry["deliveries"] = kept
    out["truncated"] = (f"{dropped} deliveries that are fine were left out to keep the answer short; every problem "
                        "is listed. Call again with `workspace` (or fewer `workspaces`) to see them all")
    return out
