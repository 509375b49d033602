"""``rule_test``: how many alerts a rule would have raised per day over the last days, before enabling it.

The rule's query is run the way Sentinel schedules it: one run every ``queryFrequency`` over the last
``days``, each over the ``queryPeriod`` before it, and the number of results is compared with the rule's
trigger. NRT rules (every minute) and very frequent rules are grouped into at most ``MAX_RUNS`` windows,
and the answer says so. ``now()``/``ago()`` in a query still mean the time of the test, not of each run:
each run's time window is what bounds its data.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sentinelkit import READ_ONLY, Kit, KitError, Workspace, clip, tool

from . import build, convert, locate

MAX_RUNS = 200
PARALLEL = 8
_COMPARE = {"GreaterThan": lambda n, t: n > t, "LessThan": lambda n, t: n < t, "Equal": lambda n, t: n == t,
            "NotEqual": lambda n, t: n != t}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule(body: dict[str, Any], days: int, now: datetime) -> tuple[list[tuple[datetime, datetime]], str | None]:
    """The runs (start, end) of the last ``days``; a note when runs were grouped into coarser windows."""
    props = body["properties"]
    nrt = body.get("kind") == "NRT"
    frequency = timedelta(minutes=1) if nrt else convert.to_timedelta(props.get("queryFrequency")) or timedelta(hours=1)
    period = frequency if nrt else convert.to_timedelta(props.get("queryPeriod")) or frequency
    total = timedelta(days=days)
    note = None
    if total / frequency > MAX_RUNS:
        coarse = total / MAX_RUNS
        note = (f"the rule runs every {_words(frequency)}; its {int(total / frequency)} runs are grouped into "
                f"{MAX_RUNS} windows of {_words(coarse)} (an alert per window at most, for SingleAlert rules)")
        frequency = period = coarse
    runs = []
    end = now
    while end > now - total:
        runs.append((end - period, end))
        end -= frequency
    return list(reversed(runs)), note


def _words(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 1440} day(s)" if minutes % 1440 == 0 else f"{minutes // 60} hour(s)" if minutes % 60 == 0 \
        else f"{minutes} minute(s)"


async def simulate(kit: Kit, ws: Workspace, body: dict[str, Any], days: int) -> dict[str, Any]:
    props = body["properties"]
    op = props.get("triggerOperator") or "GreaterThan"
    threshold = int(props.get("triggerThreshold") or 0)
    per_result = ((props.get("eventGroupingSettings") or {}).get("aggregationKind") == "AlertPerResult")
    runs, note = schedule(body, days, datetime.now(UTC))
    limit = asyncio.Semaphore(PARALLEL)

    async def run(window: tuple[datetime, datetime]) -> int:
        async with limit:
            rows = await kit.query(ws, str(props["query"]), timespan=f"{_iso(window[0])}/{_iso(window[1])}")
            return len(rows)

    counts = await asyncio.gather(*(run(w) for w in runs))
    per_day: dict[str, dict[str, int]] = {}
    for (_, end), n in zip(runs, counts, strict=True):
        day = per_day.setdefault(end.date().isoformat(), {"runs": 0, "results": 0, "alerts": 0})
        day["runs"] += 1
        day["results"] += n
        if _COMPARE[op](n, threshold):
            day["alerts"] += n if per_result else 1
    alerts = sum(d["alerts"] for d in per_day.values())
    out: dict[str, Any] = {"alerts": alerts, "alerts_per_day": round(alerts / max(days, 1), 2), "runs": len(runs),
                           "trigger": f"results {op} {threshold}", "per_day": per_day}
    if note:
        out["note"] = note
    return out


@tool(READ_ONLY, title="Test an analytics rule on past data")
async def rule_test(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                    tenant: str | None = None, rule: str | None = None, yaml: str | None = None,
                    template: str | None = None, query: str | None = None, query_frequency: str | None = None,
                    query_period: str | None = None, trigger_operator: str | None = None,
                    trigger_threshold: int | None = None, days: int = 7) -> dict[str, Any]:
    """Run a rule's query over the last N days, the way Sentinel would schedule it, and say how many alerts it
    would have raised per day with the rule's threshold: before it is enabled or deployed. Creates nothing.

    Args:
        workspace: One workspace (alias, name or ARM id) to test in.
        workspaces: Several workspaces (or "all") to test in; each gets its own answer.
        tenant: Only workspaces of this tenant.
        rule: An existing rule of each target workspace (name, ARM id or display name).
        yaml: A rule file in the Azure-Sentinel repository's YAML format.
        template: A built-in rule template's id or display name.
        query: A KQL query (with the schedule and trigger below; defaults: every 1h over 1h, more than 0 results).
        query_frequency: Override how often the rule runs (5m, 1h, 1d or ISO 8601).
        query_period: Override how far back each run looks.
        trigger_operator: Override the trigger operator (gt, lt, eq, ne).
        trigger_threshold: Override the trigger threshold.
        days: How many past days to cover (1 to 30).
    """
    if not 1 <= days <= 30:
        raise KitError("days must be from 1 to 30")
    given = [n for n, v in (("rule", rule), ("yaml", yaml), ("template", template), ("query", query)) if v]
    if len(given) != 1:
        raise KitError("give exactly one of rule, yaml, template or query" + (f" (got {', '.join(given)})" if given
                                                                            else ""))
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)
    props = build.overrides(query_frequency=query_frequency, query_period=query_period,
                            trigger_operator=trigger_operator, trigger_threshold=trigger_threshold)

    async def one(ws: Workspace) -> dict[str, Any]:
        if rule:
            found = await locate.find_rule(kit, ws, rule)
            body = convert.apply_overrides(convert.clean(found), props)
        else:
            source = build.Source(yaml=yaml, template=template)
            adhoc = {"displayName": "query under test", "query": query} if query else {}
            body = (await build.from_source(kit, ws, source, "Scheduled", {**props, **adhoc})).body
        if body.get("kind") not in convert.QUERY_KINDS:
            raise KitError(f"a {body.get('kind')} rule has no query to test; only Scheduled and NRT rules")
        convert.check_body(body)
        result = await simulate(kit, ws, body, days)
        return {"rule": (body["properties"].get("displayName") if not query else None), **result}

    result = await kit.fan_out(chosen, one)
    out: dict[str, Any] = {"days": days, "results": {result.key(ws): v for ws, v in result.results}}
    if result.errors:
        out["errors"] = result.error_messages()
    return clip(out)
