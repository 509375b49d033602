"""ARM addresses of Log Analytics tables (one place to move the api-version).

Each ARM resource type is called at one api-version across sentinelkit: pack-health reads tables at
2025-07-01 and the core reads workspaces at 2025-07-01, so this pack uses the same.
"""

from __future__ import annotations

from sentinelkit import Workspace

#: Microsoft.OperationalInsights/workspaces/tables
VERSION = "2025-07-01"
#: Microsoft.OperationalInsights/workspaces (for the workspace's default retention)
WORKSPACE_VERSION = "2025-07-01"


def tables_path(ws: Workspace) -> str:
    return f"{ws.id}/tables"


def table_path(ws: Workspace, name: str) -> str:
    return f"{ws.id}/tables/{name}"
