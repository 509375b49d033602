"""The core's contract tests, run for this pack."""

from __future__ import annotations

from typing import Any, ClassVar

from sentinelkit_devkit.contract import PackContract


class TestRulesContract(PackContract):
    pack = "rules"
    destructive_examples: ClassVar[dict[str, dict[str, Any]]] = {
        "rule_disable": {"workspace": "law-northwind", "rule": "Rare RDP connections"},
        "rule_delete": {"workspace": "law-northwind", "rule": "Rare RDP connections"},
        "rule_deploy": {"workspaces": ["law-tailspin"], "template": "Mass download from SharePoint"},
        "automation_rule_disable": {"workspace": "law-northwind", "rule": "Notify SOC on high severity"},
        "automation_rule_delete": {"workspace": "law-northwind", "rule": "Notify SOC on high severity"},
    }
