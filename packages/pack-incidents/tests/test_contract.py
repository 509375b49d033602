"""The core's contract tests, run for this pack."""

from __future__ import annotations

from typing import Any, ClassVar

from sentinelkit_devkit.contract import PackContract


class TestIncidentsContract(PackContract):
    pack = "incidents"
    destructive_examples: ClassVar[dict[str, dict[str, Any]]] = {
        "incident_close": {"workspace": "law-tailspin", "incident_id": "3", "classification": "FalsePositive",
                           "classification_reason": "InaccurateData"},
        "incident_bulk_update": {"workspace": "law-tailspin", "status": ["New", "Active"],
                                 "severity": "Informational", "close_classification": "BenignPositive"},
    }
