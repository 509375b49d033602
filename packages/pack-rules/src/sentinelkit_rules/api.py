"""ARM addresses and api-versions of what this pack calls (one place to move a version).

Sentinel's resources are read at the version pack-health uses for them, and tables at the Log
Analytics version, so that sentinelkit never calls one resource type at two api-versions.
"""

from __future__ import annotations

from sentinelkit import Workspace

#: alertRules, alertRuleTemplates, automationRules (newest stable Microsoft.SecurityInsights)
SENTINEL = "2025-09-01"
#: Log Analytics tables and saved searches (functions)
LOG_ANALYTICS = "2025-07-01"
PROVIDER = "Microsoft.SecurityInsights"


def sentinel(ws: Workspace) -> str:
    return f"{ws.id}/providers/{PROVIDER}"


def rules(ws: Workspace) -> str:
    return f"{sentinel(ws)}/alertRules"


def rule(ws: Workspace, name: str) -> str:
    return f"{rules(ws)}/{name}"


def templates(ws: Workspace) -> str:
    return f"{sentinel(ws)}/alertRuleTemplates"


def automation_rules(ws: Workspace) -> str:
    return f"{sentinel(ws)}/automationRules"


def automation_rule(ws: Workspace, name: str) -> str:
    return f"{automation_rules(ws)}/{name}"


def tables(ws: Workspace) -> str:
    return f"{ws.id}/tables"


def saved_searches(ws: Workspace) -> str:
    return f"{ws.id}/savedSearches"
