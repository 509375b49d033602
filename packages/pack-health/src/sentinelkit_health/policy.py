"""Thresholds of the health check: defaults an SOC lead would pick, each overridable per call."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: Tables whose volume follows incidents and rule runs rather than sources: a quiet day is not a fault.
EVENT_DRIVEN_TABLES = (
    "SecurityAlert",
    "SecurityIncident",
    "SentinelHealth",
    "SentinelAudit",
    "Usage",
    "Operation",
    "Anomalies",
    "ThreatIntelligenceIndicator",
)


@dataclass(frozen=True)
class Policy:
    #: a table whose last 24 h are below this share of its daily average (previous 7 days) "fell sharply"
    drop_ratio: float = 0.25
    #: an agent is silent after this many hours without Heartbeat
    heartbeat_hours: int = 2
    #: incidents left New (untriaged) longer than this are backlog
    backlog_days: int = 7
    #: minimum total retention (days) of every table with data (detailed)
    min_retention_days: int = 90
    #: watchlists whose items expire within this many days (detailed)
    watchlist_expiry_days: int = 7

    def key(self) -> str:
        return "&".join(f"{k}={v}" for k, v in sorted(asdict(self).items()))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
