"""Quick checks: turn what one query and two ARM reads returned into findings (pure functions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .findings import CRITICAL, WARNING, Finding
from .kql import Facts
from .policy import Policy

AUTO_DISABLED_PREFIX = "AUTO DISABLED"
AUTO_DISABLED_TEXT = "disabled due to too many consecutive failures"


def parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def hours_ago(value: Any, now: dt.datetime) -> float | None:
    when = parse_time(value)
    return None if when is None else round((now - when).total_seconds() / 3600, 1)


def _mb(value: Any) -> float:
    return round(float(value or 0), 2)


def _regular(row: dict[str, Any]) -> bool:
    """Fed on most days between its first and last data of the window (and for at least three days)."""
    first, last = parse_time(row.get("T2")), parse_time(row.get("T1"))
    if first is None or last is None:
        return False
    span = (last.date() - first.date()).days + 1
    return span >= 3 and float(row.get("N3") or 0) / span >= 0.6


def freshness(facts: Facts, policy: Policy, now: dt.datetime) -> list[Finding]:
    """Tables whose ingestion stopped or fell sharply (Usage), agents that stopped sending Heartbeat."""
    out: list[Finding] = []
    for row in sorted(facts.usage, key=lambda r: str(r.get("Name"))):
        table, last, avg = str(row.get("Name")), float(row.get("N1") or 0), float(row.get("N2") or 0)
        last_seen = row.get("T1")
        evidence = {
            "last_24h_mb": _mb(last),
            "daily_average_mb": _mb(avg),
            "last_data": last_seen,
            "hours_since_last_data": hours_ago(last_seen, now),
            "days_with_data_last_15d": int(row.get("N3") or 0),
        }
        if not _regular(row):
            continue  # fed now and then (a weekly job, a manual upload): a quiet day is not a fault
        if last <= 0:
            out.append(
                Finding(
                    "data_freshness",
                    CRITICAL,
                    f"{table}: no data ingested in the last 24 hours",
                    resource=table,
                    evidence=evidence,
                    recommendation=(
                        f"Find what feeds {table} (data connector, DCR/agent or API) and why it stopped: check "
                        "the source, its agent or connector health, and the DCR that sends to this table."
                    ),
                )
            )
        elif avg > 0 and last < avg * policy.drop_ratio:
            evidence["ratio"] = round(last / avg, 2)
            out.append(
                Finding(
                    "data_freshness",
                    WARNING,
                    f"{table}: ingestion fell to {round(100 * last / avg)}% of its daily average",
                    resource=table,
                    evidence=evidence,
                    recommendation=(
                        f"Check whether sources of {table} went offline or were reconfigured (diagnostic "
                        "settings, agents, DCR filters); compare with the source's own logs."
                    ),
                )
            )
    for row in sorted(facts.heartbeat, key=lambda r: str(r.get("Name"))):
        computer = str(row.get("Name"))
        out.append(
            Finding(
                "agent_heartbeat",
                WARNING,
                f"agent {computer} stopped sending Heartbeat",
                resource=computer,
                evidence={
                    "last_heartbeat": row.get("T1"),
                    "hours_silent": hours_ago(row.get("T1"), now),
                    "threshold_hours": policy.heartbeat_hours,
                },
                recommendation=(
                    f"Check that {computer} is running and that its Azure Monitor Agent is healthy (service "
                    "status, network to the DCE/ingestion endpoints, DCR association); decommissioned "
                    "machines should have their associations removed."
                ),
            )
        )
    return out


def _is_auto_disabled(rule: dict[str, Any]) -> bool:
    p = rule.get("properties") or {}
    return str(p.get("displayName", "")).startswith(AUTO_DISABLED_PREFIX) or AUTO_DISABLED_TEXT in str(
        p.get("description", "")
    )


def sentinel_health(facts: Facts, rules: list[dict[str, Any]], now: dt.datetime) -> list[Finding]:
    """Connectors, analytics rules and automation rules failing in SentinelHealth; disabled rules."""
    out: list[Finding] = []
    by_id = {str(r.get("id", "")).lower(): r for r in rules}
    failing_rule_ids: dict[str, dict[str, Any]] = {}
    for row in sorted(facts.health, key=lambda r: (str(r.get("Kind")), str(r.get("Name")))):
        kind, name = str(row.get("Kind") or ""), str(row.get("Name") or "")
        evidence = {
            "failures_last_24h": int(row.get("N1") or 0),
            "successes_last_24h": int(row.get("N2") or 0),
            "last_failure": row.get("T1"),
            "last_success": row.get("T2"),
            "message": row.get("Detail"),
        }
        if kind == "Data connector":
            out.append(
                Finding(
                    "data_connectors",
                    CRITICAL,
                    f"data connector {name} is failing",
                    resource=name,
                    evidence=evidence,
                    recommendation=(
                        "Reconnect the connector in Microsoft Sentinel (Data connectors) with valid "
                        "credentials/permissions; data is not being collected until it succeeds again."
                    ),
                )
            )
        elif kind == "Analytics Rule":
            rid = str(row.get("Id") or "").lower()
            rule = by_id.get(rid)
            if rule is not None and not (rule.get("properties") or {}).get("enabled", True):
                failing_rule_ids[rid] = evidence  # reported with the disabled rule below
                continue
            out.append(
                Finding(
                    "analytics_rules",
                    CRITICAL,
                    f"analytics rule {name} fails on every run"
                    if not evidence["successes_last_24h"]
                    else f"analytics rule {name} is failing",
                    resource=name,
                    evidence=evidence,
                    recommendation=(
                        "Open the rule, fix its query (the message names the missing table or column; connect "
                        "the data source or change the query) and confirm the next run succeeds in "
                        "SentinelHealth. Until then it detects nothing."
                    ),
                )
            )
        elif kind == "Automation rule":
            out.append(
                Finding(
                    "automation",
                    WARNING,
                    f"automation rule {name} fails to run its actions",
                    resource=name,
                    evidence=evidence,
                    recommendation=(
                        "Fix the failing action: for playbooks, grant Microsoft Sentinel the 'Microsoft Sentinel "
                        "Automation Contributor' role on the playbook's resource group and check the Logic "
                        "App's run history."
                    ),
                )
            )
        else:
            out.append(
                Finding(
                    "sentinel_health",
                    WARNING,
                    f"{kind or 'resource'} {name} is failing",
                    resource=name,
                    evidence=evidence,
                    recommendation="Check this resource's health in Microsoft Sentinel.",
                )
            )
    for rule in sorted(rules, key=lambda r: str((r.get("properties") or {}).get("displayName", ""))):
        p = rule.get("properties") or {}
        if p.get("enabled", True):
            continue
        name = str(p.get("displayName") or rule.get("name"))
        evidence = {
            "kind": rule.get("kind"),
            "enabled": False,
            "last_modified": p.get("lastModifiedUtc"),
            "days_since_change": (
                round(h / 24, 1) if (h := hours_ago(p.get("lastModifiedUtc"), now)) is not None else None
            ),
        }
        health = failing_rule_ids.get(str(rule.get("id", "")).lower())
        if health:
            evidence["sentinel_health"] = health
        if _is_auto_disabled(rule):
            evidence["description"] = str(p.get("description", ""))[:300]
            out.append(
                Finding(
                    "analytics_rules",
                    CRITICAL,
                    f"analytics rule {name} was disabled by Microsoft Sentinel after repeated failures",
                    resource=name,
                    evidence=evidence,
                    recommendation=(
                        "Fix the rule's query (see the failure message), remove 'AUTO DISABLED' from its name "
                        "and enable it again; it detects nothing while disabled."
                    ),
                )
            )
        else:
            out.append(
                Finding(
                    "analytics_rules",
                    WARNING,
                    f"analytics rule {name} is disabled",
                    resource=name,
                    evidence=evidence,
                    recommendation=(
                        "Confirm the rule was disabled on purpose (SentinelAudit shows who did it); re-enable "
                        "it or delete it so that the coverage on paper matches the coverage in use."
                    ),
                )
            )
    return out


def backlog(facts: Facts, policy: Policy, now: dt.datetime) -> tuple[list[Finding], dict[str, Any]]:
    """The incident backlog as figures, and a finding for High-severity incidents nobody picked up."""
    row = facts.backlog or {}
    figures = {
        "new": int(row.get("N1") or 0),
        "active": int(row.get("N2") or 0),
        "high_unassigned": int(row.get("N3") or 0),
        f"new_older_than_{policy.backlog_days}d": int(row.get("N5") or 0),
    }
    stale_high = int(row.get("N4") or 0)
    out: list[Finding] = []
    if stale_high:
        oldest = row.get("T1")
        out.append(
            Finding(
                "incident_backlog",
                CRITICAL,
                f"{stale_high} High-severity incidents untriaged (New, no owner) "
                f"for more than {policy.backlog_days} days",
                evidence={
                    "count": stale_high,
                    "oldest_created": oldest,
                    "oldest_age_days": round(h / 24, 1) if (h := hours_ago(oldest, now)) is not None else None,
                    "threshold_days": policy.backlog_days,
                },
                recommendation=(
                    "Assign an owner to each now (incident_list with severity High, status New, no owner), "
                    "triage or close them, and review the assignment automation and on-call coverage."
                ),
            )
        )
    return out, figures


def query_failed(message: str) -> Finding:
    """The health query itself was refused (not an access problem): the KQL checks did not run."""
    return Finding(
        "data_freshness",
        "warning",
        "the health query could not run in this workspace",
        evidence={"error": message},
        recommendation=(
            "Data freshness, SentinelHealth and backlog were not checked here; run the check "
            "again, and if it persists report the message to the sentinelkit-health authors."
        ),
    )


def access_finding(message: str, status: int | None, what: str) -> Finding:
    """Unreachable workspace or missing role, as a finding (never a failure of the whole check)."""
    if status == 403:
        role = "Microsoft Sentinel Reader" if what == "sentinel" else "Log Analytics Reader"
        return Finding(
            "access",
            CRITICAL,
            f"the credential lacks the {role} role here",
            evidence={"error": message},
            recommendation=(
                f"Grant the signed-in principal {role} on the workspace (for a customer tenant: "
                "add it to the Azure Lighthouse delegation), then run the check again."
            ),
        )
    if status == 401:
        return Finding(
            "access",
            CRITICAL,
            "the credential is not accepted for this tenant",
            evidence={"error": message},
            recommendation=(
                "Check the Lighthouse delegation or the tenant's credential in sentinelkit.toml, "
                "then run `sentinelkit config check`."
            ),
        )
    return Finding(
        "access",
        CRITICAL,
        "workspace unreachable",
        evidence={"error": message},
        recommendation=(
            "Azure did not answer (server error, throttling or network): run the check again "
            "shortly with refresh=true; if it persists, check Azure status for the region."
        ),
    )


def failed_check(message: str) -> Finding:
    """The check of one workspace failed as a whole: an Azure error it could not absorb, or a bug."""
    if message.startswith("unexpected"):
        return Finding(
            "check_failed",
            CRITICAL,
            "the health check failed in this workspace",
            evidence={"error": message},
            recommendation=(
                "This is a bug in sentinelkit-health, not a finding about the workspace: run "
                "the check again, and report the error to the pack's authors if it persists."
            ),
        )
    return access_finding(message, None, "sentinel")


def discovery_failed(what: str, message: str) -> Finding:
    """A subscription or credential whose workspaces could not be listed: they were not checked."""
    return Finding(
        "access",
        CRITICAL,
        f"{what}: workspaces could not be listed, so they were not checked",
        evidence={"error": message},
        recommendation=(
            "Run the check again with refresh=true; if it persists, check the credential's access to this "
            "subscription (role or Lighthouse delegation) and `sentinelkit config check`."
        ),
    )


def not_onboarded() -> Finding:
    return Finding(
        "sentinel_onboarding",
        WARNING,
        "Microsoft Sentinel is not onboarded on this workspace",
        evidence={"onboarding_states": 0},
        recommendation=(
            "Onboard Microsoft Sentinel if this workspace should be monitored; otherwise leave it "
            "out of health checks (pass `workspaces`)."
        ),
    )
