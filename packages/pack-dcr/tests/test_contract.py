"""The core's contract tests, for this pack: loads, documented, safety classes, read-only mode, fast
tools/list, and destructive tools that change nothing until confirmed."""

from __future__ import annotations

from typing import Any, ClassVar

from sentinelkit_devkit.contract import PackContract


class TestDcrPackContract(PackContract):
    pack = "dcr"
    destructive_examples: ClassVar[dict[str, dict[str, Any]]] = {
        "dcr_delete": {"workspace": "law-fabrikam-prod", "rule": "dcr-fabrikam-windows-unused"},
        "dcr_stream_remove": {"workspace": "law-contoso-soc", "rule": "dcr-contoso-linux-syslog",
                              "stream": "Microsoft-CommonSecurityLog"},
        "dce_delete": {"workspace": "law-northwind", "endpoint": "dce-northwind-legacy"},
        "dcr_association_delete": {"workspace": "law-tailspin", "resource": "ts-web-01",
                                   "rule": "dcr-tailspin-syslog"},
    }
