"""The last runs of a workspace's analytics rules, from the SentinelHealth table: which ones failed."""

from __future__ import annotations

from typing import Any

from sentinelkit import Kit, KitError, Workspace

#: the rule runs of the last day: count, failures, and the last run's status and reason
RUNS_QUERY = """SentinelHealth
| where SentinelResourceType == "Analytics Rule"
| summarize Runs = count(), Failures = countif(Status == "Failure"),
    arg_max(TimeGenerated, Status, Description) by SentinelResourceId"""


async def rule_runs(kit: Kit, ws: Workspace) -> tuple[dict[str, dict[str, Any]], str | None]:
    """``{rule ARM id (lower case): last run}`` for the last 24 hours, and why it is empty when it could not
    be read (the health feature off, no access to the logs): rules are then not flagged either way."""
    try:
        rows = await kit.query(ws, RUNS_QUERY, timespan="P1D")
    except KitError as exc:
        return {}, f"SentinelHealth could not be read, so failing rules are not flagged: {exc}"
    runs: dict[str, dict[str, Any]] = {}
    for row in rows:
        runs[str(row.get("SentinelResourceId", "")).lower()] = {
            "last_status": row.get("Status"),
            "last_run_at": row.get("TimeGenerated"),
            "runs_24h": row.get("Runs"),
            "failures_24h": row.get("Failures"),
            "last_message": row.get("Description") if row.get("Status") == "Failure" else None,
        }
    return runs, None


def for_rule(runs: dict[str, dict[str, Any]], rule: dict[str, Any]) -> dict[str, Any] | None:
    found = runs.get(str(rule.get("id", "")).lower())
    if found is None:
        return None
    return {k: v for k, v in found.items() if v is not None}
