"""API versions the core uses; one place to move them."""

SUBSCRIPTIONS = "2022-12-01"
TENANTS = "2022-12-01"
RESOURCE_GROUPS = "2024-03-01"
WORKSPACES = "2025-07-01"
SENTINEL = "2025-09-01"
