"""What a plan or retention change will do to a table, worked out before anything is sent: the body to
send, the state after, and — when it lowers retention — how much data stops being kept."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sentinelkit import KitError

from .settings import INTERACTIVE_RANGE, TOTAL_RANGE
from .tables import LOW_COST_INTERACTIVE_DAYS, PLANS, Retention, kind_of, sub_type

#: a table's plan can be switched once a week
PLAN_SWITCH_INTERVAL = dt.timedelta(days=7)


@dataclass(frozen=True)
class Change:
    """``properties`` to send, and the table's plan and retention before and after."""

    properties: dict[str, Any]
    before: Retention
    after: Retention

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def lowered(self) -> list[str]:
        """Sentences for every retention this change lowers (empty: nothing is lowered)."""
        b, a = self.before, self.after
        out = []
        if a.total < b.total:
            out.append(f"total retention falls from {b.total} to {a.total} days: data older than {a.total} days "
                       f"({b.total - a.total} days of data) stops being kept and is deleted (Azure waits 30 days "
                       "before deleting, so raising it again within 30 days loses nothing)")
        if a.interactive < b.interactive:
            kept = (f"it stays in long-term retention until day {a.total}" if a.total > a.interactive
                    else "and it is not kept")
            out.append(f"interactive retention falls from {b.interactive} to {a.interactive} days: data older than "
                       f"{a.interactive} days ({b.interactive - a.interactive} days of data) is no longer queryable "
                       f"interactively; {kept}")
        return out

    def preview(self) -> dict[str, Any]:
        return {"before": self.before.to_json(), "after": self.after.to_json(), "send": {"properties": self.properties}}


def _days(value: int, field: str, low: int, high: int) -> int:
    if value != -1 and not low <= value <= high:
        raise KitError(f"{field} {value} is out of range: it must be between {low} and {high} days, or -1 for the "
                       "default; nothing was sent")
    return value


def retention_change(table: dict[str, Any], retention_days: int | None, total_retention_days: int | None,
                     workspace_days: int) -> Change:
    """The change of ``retention_days`` (interactive) and ``total_retention_days``; ``None`` keeps a value,
    ``-1`` resets it (interactive → the workspace's default, total → the interactive retention)."""
    before = Retention.of(table)
    name = table.get("name")
    props: dict[str, Any] = {}
    interactive, interactive_default = before.interactive, before.interactive_default
    if retention_days is not None:
        _days(retention_days, "retention_days", *INTERACTIVE_RANGE)
        if before.plan != "Analytics":
            if retention_days not in (-1, before.interactive):
                raise KitError(f"table {name} is on the {before.plan} plan: its interactive retention is fixed at "
                               f"{before.interactive} days. Set total_retention_days instead (or switch it to "
                               "Analytics with table_set_plan); nothing was sent")
        else:
            props["retentionInDays"] = retention_days
            interactive, interactive_default = ((workspace_days, True) if retention_days == -1
                                                else (retention_days, False))
    if total_retention_days is not None:
        _days(total_retention_days, "total_retention_days", *TOTAL_RANGE)
        if total_retention_days == -1:
            total, total_default = interactive, True
        elif total_retention_days < interactive:
            raise KitError(f"total_retention_days ({total_retention_days}) is below the interactive retention "
                           f"({interactive} days) of table {name}: the total includes the interactive period. Give "
                           f"at least {interactive}, or lower retention_days too; nothing was sent")
        else:
            total, total_default = total_retention_days, False
        props["totalRetentionInDays"] = total_retention_days
    elif before.total_default:
        total, total_default = interactive, True  # a default total follows the interactive retention
    else:
        total, total_default = max(before.total, interactive), False
    after = Retention(before.plan, interactive, total, interactive_default, total_default)
    return Change(props, before, after)


def _time(value: Any) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def plan_change(table: dict[str, Any], plan: str, workspace_days: int, now: dt.datetime) -> Change:
    """Switching ``table`` to ``plan``; the rules the service enforces are checked here first."""
    name = table.get("name")
    wanted = next((p for p in PLANS if p.lower() == plan.strip().lower()), None)
    if wanted is None:
        raise KitError(f"plan {plan!r} does not exist: use Analytics, Basic or Auxiliary")
    before = Retention.of(table)
    kind = kind_of(table)
    if wanted == before.plan:
        return Change({}, before, before)
    if "Auxiliary" in (wanted, before.plan):
        raise KitError(f"table {name} can't switch from {before.plan} to {wanted}: the Auxiliary plan is chosen when a "
                       "custom table is created and can't be switched to or from afterwards. Create a new table "
                       "(table_create with plan Auxiliary) instead; nothing was sent")
    if kind in ("search_results", "restored") and wanted != "Analytics":
        raise KitError(f"table {name} holds {kind.replace('_', ' ')}: such tables use the Analytics plan only; "
                       "nothing was sent")
    if wanted == "Basic" and kind == "custom" and sub_type(table) == "Classic":
        raise KitError(f"table {name} was created with the HTTP Data Collector API (Classic): it can't use the Basic "
                       "plan until it is migrated to a DCR-based table (the table's migrate action: portal, or "
                       "`az monitor log-analytics workspace table migrate`); nothing was sent")
    props = table.get("properties") or {}
    last = _time(props.get("lastPlanModifiedDate"))
    created = _time((table.get("systemData") or {}).get("createdAt"))
    switched = last is not None and (created is None or abs(last - created) >= dt.timedelta(minutes=1))
    if switched and last is not None and now < last + PLAN_SWITCH_INTERVAL:
        raise KitError(f"the plan of table {name} was switched on {last:%Y-%m-%d %H:%M} UTC; Azure allows one switch "
                       f"per table per week. Try again after {last + PLAN_SWITCH_INTERVAL:%Y-%m-%d %H:%M} UTC; "
                       "nothing was sent")
    if wanted == "Analytics":
        interactive, interactive_default = workspace_days, True
    else:
        interactive, interactive_default = LOW_COST_INTERACTIVE_DAYS, False
    total = max(before.total, interactive)  # a plan switch keeps the total retention
    after = Retention(wanted, interactive, total, interactive_default, before.total_default and total == interactive)
    return Change({"plan": wanted}, before, after)


def plan_notes(before: str, after: str) -> list[str]:
    """What a person should know about a switch (Microsoft's "Configure a table plan" considerations)."""
    notes = ["the plan can be switched back only after a week"]
    if after == "Basic":
        notes += ["queries of the table are billed per GB scanned",
                  f"interactive retention becomes {LOW_COST_INTERACTIVE_DAYS} days; older data is kept as long-term "
                  "retention until the total retention (unchanged) ends",
                  "summary rules that read the table with a resource query scope break"]
    elif before != "Analytics":
        notes += ["the table gets every Log Analytics feature back, and ingestion is billed at the Analytics price",
                  "interactive retention becomes the workspace's default"]
    return notes
