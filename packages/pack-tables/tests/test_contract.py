"""The core's contract tests, for this pack: loads, documented, safety classes, read-only mode, fast
tools/list, and destructive tools that change nothing until confirmed."""

from __future__ import annotations

from typing import Any, ClassVar

from sentinelkit_devkit.contract import PackContract


class TestTablesPackContract(PackContract):
    pack = "tables"
    destructive_examples: ClassVar[dict[str, dict[str, Any]]] = {
        "table_delete": {"workspace": "law-tailspin", "table": "CheckoutEvents_CL"},
        "table_lower_retention": {"workspace": "law-woodgrove", "table": "SecurityEvent", "total_retention_days": 730},
        "table_set_plan": {"workspace": "law-fabrikam-prod", "table": "FirewallTraffic_CL", "plan": "Basic"},
    }
