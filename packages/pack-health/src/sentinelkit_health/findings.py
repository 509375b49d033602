"""Findings and statuses: the vocabulary of a health check.

A finding always carries evidence (the figure or rows it was based on) and a recommendation, so that
an SOC lead can act on it without re-running anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CRITICAL, WARNING, INFO = "critical", "warning", "info"
HEALTHY, DEGRADED = "healthy", "degraded"
UNREACHABLE = "unreachable"
_RANK = {HEALTHY: 0, DEGRADED: 1, CRITICAL: 2}


@dataclass
class Finding:
    check: str
    severity: str
    title: str
    recommendation: str
    evidence: dict[str, Any] = field(default_factory=dict)
    resource: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check, "severity": self.severity, "title": self.title}
        if self.resource:
            out["resource"] = self.resource
        out["evidence"] = self.evidence
        out["recommendation"] = self.recommendation
        return out


def status_of(findings: list[dict[str, Any]]) -> str:
    """critical if any critical finding, degraded if any warning, else healthy (info never degrades)."""
    severities = {f["severity"] for f in findings}
    if CRITICAL in severities:
        return CRITICAL
    if WARNING in severities:
        return DEGRADED
    return HEALTHY


def worst(statuses: list[str]) -> str:
    return max(statuses, key=lambda s: _RANK.get(s, 2), default=HEALTHY)
