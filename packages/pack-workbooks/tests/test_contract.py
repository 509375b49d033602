"""The core's contract tests, for this pack: loads, documented, safety classes, read-only mode, fast
tools/list, and destructive tools that change nothing until confirmed."""

from __future__ import annotations

from typing import Any, ClassVar

from sentinelkit_devkit.contract import PackContract


class TestWorkbooksPackContract(PackContract):
    pack = "workbooks"
    destructive_examples: ClassVar[dict[str, dict[str, Any]]] = {
        "workbook_delete": {"workspace": "law-tailspin", "workbook": "Azure Activity"},
    }
