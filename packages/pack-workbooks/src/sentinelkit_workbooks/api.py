"""ARM addresses of Sentinel workbooks and what the pack reads beside them (one place to move api-versions)."""

from __future__ import annotations

from sentinelkit import Workspace

#: Microsoft.Insights/workbooks and their revisions (workbooks_API.json, GA 2023-06-01)
VERSION = "2023-06-01"
#: Microsoft.OperationalInsights workspaces/tables and savedSearches: the version pack-health reads tables at
LOG_ANALYTICS_VERSION = "2025-07-01"
#: Sentinel saves its workbooks under this category, with the workspace as sourceId
CATEGORY = "sentinel"
KIND = "shared"
#: what the service stores at most (413 "The workbook length is too large." beyond; not documented, public
#: reports put it at 2 MB)
MAX_SERIALIZED_BYTES = 2 * 1024 * 1024


def collection(ws: Workspace) -> str:
    """Where Sentinel saves a workspace's workbooks: the workspace's resource group."""
    return f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}/providers/Microsoft.Insights/workbooks"


def item(ws: Workspace, name: str) -> str:
    return f"{collection(ws)}/{name}"
