"""sentinelkit-health: Sentinel health checks, health prompts and multi-workspace KQL."""

__version__ = "0.1.0"
