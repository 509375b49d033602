"""ARM addresses and api-versions of what this pack calls (one place to move a version).

Sentinel's watchlists are called at the version the other packs call Microsoft.SecurityInsights at;
saved searches (hunting queries, functions, saved queries) and the Tables API at Log Analytics'
newest stable version.
"""

from __future__ import annotations

from sentinelkit import Workspace

#: Microsoft.SecurityInsights (watchlists and their items): newest stable, as pack-incidents/pack-health
SENTINEL = "2025-09-01"
#: Microsoft.OperationalInsights (savedSearches, tables): newest stable, as pack-health reads tables
LOG_ANALYTICS = "2025-07-01"

#: the category Sentinel files hunting queries under (portal and Content Hub alike)
HUNTING_CATEGORY = "Hunting Queries"


def watchlists(ws: Workspace) -> str:
    return f"{ws.id}/providers/Microsoft.SecurityInsights/watchlists"


def watchlist(ws: Workspace, alias: str) -> str:
    return f"{watchlists(ws)}/{alias}"


def items(ws: Workspace, alias: str) -> str:
    return f"{watchlist(ws, alias)}/watchlistItems"


def saved_searches(ws: Workspace) -> str:
    return f"{ws.id}/savedSearches"


def saved_search(ws: Workspace, name: str) -> str:
    return f"{saved_searches(ws)}/{name}"


def tables(ws: Workspace) -> str:
    return f"{ws.id}/tables"
