"""API versions this pack calls (the core's own live in ``sentinelkit.azure.api_versions``)."""

SENTINEL = "2025-09-01"
TABLES = "2025-07-01"
DATA_COLLECTION = "2023-03-11"
