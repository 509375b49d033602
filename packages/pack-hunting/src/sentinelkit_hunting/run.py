"""``hunting_run``: run one hunting query, or every query matching a tactic, technique or name, in many
workspaces and tenants at once, and say where it hit ("T1078: hits in 3 of 12 customers")."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sentinelkit import DEFAULT_BUDGET, READ_ONLY, AzureError, Kit, KitError, Workspace, clip, tool

from . import kql, reach, searches
from .hunting import _matches

MAX_RUNS = 500
ROW_VALUE_CHARS = 200
#: columns shown per first row (empty values and the workspace id are left out first)
ROW_COLUMNS = 12


@dataclass
class Hunt:
    """One hunting query and what it found in each workspace."""

    display_name: str
    tactics: list[str]
    techniques: list[str]
    hits: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    tenants: dict[str, str] = field(default_factory=dict)


def _window(timespan: str) -> tuple[str, str]:
    """The portal's StartTimeISO/EndTimeISO for an ISO 8601 duration back from now (P1D, PT12H, P7D)."""
    import re

    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", timespan.strip().upper())
    if not m or not any(m.groups()):
        raise KitError(f"timespan {timespan!r} is not a duration such as P1D, PT12H or P7D")
    days, hours, minutes = (int(g or 0) for g in m.groups())
    end = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = end - dt.timedelta(days=days, hours=hours, minutes=minutes)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")


def _reason(exc: Exception) -> str:
    code = (getattr(exc, "inner_code", None) or "").upper()
    kind = ("syntax error" if code.startswith("SYN") else "cannot run here (missing table, column or function, or a "
            "construct the workspace's engine lacks)" if code.startswith("SEM") or code.startswith("EMULATOR")
            else type(exc).__name__)
    return f"{kind}: {str(exc)[:1000]}"


@tool(READ_ONLY, title="Run hunting queries across workspaces")
async def hunting_run(kit: Kit, query: str | None = None, tactic: str | None = None, technique: str | None = None,
                      text: str | None = None, workspaces: list[str] | str | None = None,
                      workspace: str | None = None, tenant: str | None = None, from_workspace: str | None = None,
                      timespan: str = "P1D", rows_per_workspace: int = 3, max_queries: int = 25) -> dict[str, Any]:
    """Run one hunting query, or every one matching a tactic, technique or text, in many workspaces and tenants.

    Each workspace runs its own hunting queries of that selection, or, with from_workspace, the queries
    of that one workspace run everywhere (an MSSP's hunting library). Answers per query and workspace the
    row count and the first rows, the runs that failed and why, and a summary such as
    "T1078: hits in 3 of 12 customers". Progress is reported per query and workspace.

    Args:
        query: One hunting query's name (GUID) or display name.
        tactic: Every hunting query tagged with this MITRE tactic (e.g. CredentialAccess).
        technique: Every hunting query tagged with this technique (T1078 also matches T1078.004).
        text: Every hunting query whose name or description contains this text.
        workspaces: Workspaces to hunt in, or "all" (default: every Sentinel workspace).
        workspace: One workspace instead of `workspaces`.
        tenant: Only workspaces of this tenant.
        from_workspace: Take the queries from this workspace and run them in every target workspace.
        timespan: How far back to hunt, an ISO 8601 duration (default P1D); fills {{StartTimeISO}}/{{EndTimeISO}}.
        rows_per_workspace: First rows shown per query and workspace (0-20; the count is always exact up to the service's limit).
        max_queries: Refuse when the selection holds more queries than this (default 25, at most 100).
    """
    if not any((query, tactic, technique, text)):
        raise KitError("say what to hunt: query (one), or tactic, technique or text (every match)")
    if not 0 <= rows_per_workspace <= 20:
        raise KitError("rows_per_workspace must be between 0 and 20")
    if not 1 <= max_queries <= 100:
        raise KitError("max_queries must be between 1 and 100")
    start, end = _window(timespan)
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)
    source = await kit.workspace(from_workspace) if from_workspace else None

    def select(found: list[dict[str, Any]], ws: Workspace) -> list[dict[str, Any]]:
        hunting = [s for s in found if searches.is_hunting(s)]
        if query:
            match = [s for s in hunting if str(s.get("name", "")).lower() == query.lower()
                     or str(searches.props(s).get("displayName", "")).lower() == query.lower()]
        else:
            match = hunting
        rows = [searches.hunting_row(s, ws) for s in match]
        return [r for r in rows if _matches(r, tactic, technique, text)]

    if source is not None:
        library = select(await searches.list_searches(kit, source, fresh=True), source)
        if not library:
            raise KitError(f"no hunting query in {source.label} matches {_selection(query, tactic, technique, text)}")
        plan = {ws.id: (ws, library) for ws in chosen}
        listing_errors: dict[str, str] = {}
    else:
        listed = await kit.fan_out(chosen, lambda ws: searches.list_searches(kit, ws, fresh=True), label="listings")
        plan = {ws.id: (ws, select(found, ws)) for ws, found in listed.results}
        listing_errors = listed.error_messages()
    listing_errors.update(await reach.errors(kit, chosen))
    names = {r["display_name"] for _, rows in plan.values() for r in rows}
    if len(names) > max_queries:
        raise KitError(f"{len(names)} hunting queries match {_selection(query, tactic, technique, text)}; at most "
                       f"{max_queries} per call. Narrow the selection or raise max_queries (at most 100).")
    runs = [(ws, row) for ws, rows in plan.values() for row in rows]
    if len(runs) > MAX_RUNS:
        raise KitError(f"{len(runs)} query runs ({len(names)} queries × workspaces); at most {MAX_RUNS} per call: "
                       "target fewer workspaces or queries")
    hunts: dict[str, Hunt] = {}
    done = 0
    limit = asyncio.Semaphore(max(1, kit.settings.concurrency))

    async def run_one(ws: Workspace, row: dict[str, Any]) -> None:
        nonlocal done
        hunt = hunts.setdefault(row["display_name"], Hunt(row["display_name"], row["tactics"], row["techniques"]))
        key = ws.label
        hunt.tenants[key] = str(ws.tenant_label or ws.tenant or ws.tenant_id)
        async with limit:
            try:
                rows = await kit.query(ws, kql.fill_placeholders(row["query"] or "", start, end), timespan=timespan)
                hunt.hits[key] = {"rows": len(rows),
                                  "first_rows": [_compact(r) for r in rows[:rows_per_workspace]]}
                if rows.partial_error:
                    hunt.hits[key]["partial"] = rows.partial_error
            except (AzureError, KitError) as exc:
                hunt.failures[key] = _reason(exc)
        done += 1
        await kit.progress(done, len(runs), f"{row['display_name']} in {key} ({done}/{len(runs)})")

    await asyncio.gather(*(run_one(ws, row) for ws, row in runs))
    return _answer(hunts, plan, listing_errors, _selection(query, tactic, technique, text), timespan)


def _compact(row: dict[str, Any]) -> dict[str, Any]:
    """A first row as an analyst reads it: no empty values, no TenantId, at most ROW_COLUMNS columns."""
    kept = {k: v for k, v in row.items() if v not in (None, "", "[]", "{}") and k != "TenantId"}
    out: dict[str, Any] = clip(dict(list(kept.items())[:ROW_COLUMNS]), ROW_VALUE_CHARS)
    if len(kept) > ROW_COLUMNS:
        out["…"] = f"{len(kept) - ROW_COLUMNS} more columns; project the ones you need"
    return out


def _selection(query: str | None, tactic: str | None, technique: str | None, text: str | None) -> str:
    parts = [f"query {query!r}" if query else "", f"tactic {tactic}" if tactic else "",
             f"technique {technique}" if technique else "", f"text {text!r}" if text else ""]
    return " and ".join(p for p in parts if p)


def _answer(hunts: dict[str, Hunt], plan: dict[str, tuple[Workspace, list[dict[str, Any]]]],
            listing_errors: dict[str, str], selection: str, timespan: str) -> dict[str, Any]:
    tenants_all = {ws.tenant_label or ws.tenant or ws.tenant_id for ws, _ in plan.values()}
    tenants_hit = {h.tenants[k] for h in hunts.values() for k, v in h.hits.items() if v["rows"]}
    without = sorted(ws.label for ws, rows in plan.values() if not rows)
    label = selection.replace("technique ", "").replace("tactic ", "")
    out: dict[str, Any] = {
        "summary": f"{label}: hits in {len(tenants_hit)} of {len(tenants_all)} customers"
                   f" ({sum(1 for h in hunts.values() for v in h.hits.values() if v['rows'])} query runs with hits, "
                   f"{sum(len(h.failures) for h in hunts.values())} failed, over {timespan})"
                   + (f"; not reached: {', '.join(sorted(listing_errors))}" if listing_errors else ""),
        "queries": [],
    }
    for hunt in sorted(hunts.values(), key=lambda h: h.display_name.lower()):
        hit_ws = sorted(k for k, v in hunt.hits.items() if v["rows"])
        out["queries"].append({
            "query": hunt.display_name, "tactics": hunt.tactics, "techniques": hunt.techniques,
            "hits_in": f"{len(hit_ws)} of {len(hunt.hits) + len(hunt.failures)} workspaces",
            "results": {k: hunt.hits[k] for k in sorted(hunt.hits, key=lambda k: -hunt.hits[k]["rows"])},
            **({"failed": dict(sorted(hunt.failures.items()))} if hunt.failures else {}),
        })
    if without:
        out["workspaces_without_matching_queries"] = without
    if listing_errors:
        out["errors"] = listing_errors
    return _within_budget(out)


def _within_budget(out: dict[str, Any]) -> dict[str, Any]:
    """Drop first rows (largest results first) until the answer fits the output budget, saying so."""
    cut = 0
    while len(json.dumps(out, default=str)) > DEFAULT_BUDGET:
        shown = [(len(json.dumps(v["first_rows"], default=str)), q, k) for q in out["queries"]
                 for k, v in q["results"].items() if v["first_rows"]]
        if not shown:
            break
        _, q, k = max(shown, key=lambda s: s[0])
        cut += len(q["results"][k]["first_rows"])
        q["results"][k]["first_rows"] = []
    if cut:
        out["truncated"] = (f"{cut} first rows were left out to keep the answer small; run one query in one "
                            "workspace (query=..., workspace=...) to see its rows")
    return out
