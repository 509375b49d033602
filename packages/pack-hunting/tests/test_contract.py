"""The core's contract tests, run for this pack."""

from __future__ import annotations

from typing import Any, ClassVar

from sentinelkit_devkit.contract import PackContract


class TestHuntingContract(PackContract):
    pack = "hunting"
    destructive_examples: ClassVar[dict[str, dict[str, Any]]] = {
        "hunting_query_delete": {"workspace": "law-tailspin", "query": "Sign-ins from a new country"},
        "function_delete": {"workspace": "law-tailspin", "alias": "HeartbeatGaps"},
        "watchlist_delete": {"workspace": "law-tailspin", "alias": "VIPUsers"},
        "watchlist_item_remove": {"workspace": "law-tailspin", "alias": "VIPUsers", "keys": ["ceo@tailspintoys.com"]},
        "watchlist_sync": {"alias": "VIPUsers", "from_workspace": "law-tailspin", "workspaces": ["law-northwind"]},
    }
