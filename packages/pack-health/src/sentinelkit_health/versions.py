"""API versions of the resources this pack calls (data collection is pack-dcr's: its health findings come
through the ``sentinel_health_findings`` hook)."""

SENTINEL = "2025-09-01"
TABLES = "2025-07-01"
