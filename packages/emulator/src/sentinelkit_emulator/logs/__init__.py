"""The Log Analytics query API (``/v1/workspaces/{id}/query``): table schemas, the KQL engine, routes.

Modules are imported lazily by their users; importing this package costs nothing (duckdb is only
loaded by the first query).
"""

from __future__ import annotations

__all__ = ["api", "engine", "schemas"]
