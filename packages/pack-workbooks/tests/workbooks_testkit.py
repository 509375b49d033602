"""Constants and small helpers shared by the workbooks pack's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: workspace -> (tenant, resource group), from the emulator's SCENARIO.md
WORKSPACES = {
    "law-contoso-soc": ("contoso-mssp", "rg-soc"),
    "law-fabrikam-prod": ("fabrikam", "rg-sentinel"),
    "law-northwind": ("northwind", "rg-security"),
    "law-tailspin": ("tailspin", "rg-sentinel-weu"),
    "law-woodgrove": ("woodgrove", "rg-secops"),
}
#: the Sentinel workbooks SCENARIO.md seeds per workspace
SEEDED = {
    "law-contoso-soc": {"Data collection health monitoring", "Azure Activity", "Identity & Access",
                        "Security Operations Efficiency"},
    "law-fabrikam-prod": {"Data collection health monitoring", "Azure Activity", "Identity & Access"},
    "law-northwind": {"Data collection health monitoring", "Azure Activity"},
    "law-tailspin": {"Data collection health monitoring", "Azure Activity"},
    "law-woodgrove": {"Data collection health monitoring", "Azure Activity"},
}
TEMPLATES = Path(__file__).parent / "data" / "templates"


def data(result: Any) -> Any:
    """A tool result's JSON, failing with the tool's error text when it is an error."""
    assert not result.is_error, result.content[0].text
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def error(result: Any) -> str:
    assert result.is_error, result.structured_content
    return str(result.content[0].text)


def sdk_workbooks(insights: Any, workspace: str, *, content: bool = False) -> list[Any]:
    """The workspace's Sentinel workbooks as azure-mgmt-applicationinsights reads them."""
    tenant, rg = WORKSPACES[workspace]
    return [w for w in insights(tenant).workbooks.list_by_resource_group(rg, category="sentinel",
                                                                          can_fetch_content=content)
            if w.source_id.lower().endswith(f"/workspaces/{workspace}")]


def sdk_by_name(insights: Any, workspace: str, display_name: str) -> Any:
    """One workbook (with content) by display name, read with the SDK."""
    tenant, rg = WORKSPACES[workspace]
    match = [w for w in sdk_workbooks(insights, workspace) if w.display_name == display_name]
    assert len(match) == 1, [w.display_name for w in sdk_workbooks(insights, workspace)]
    return insights(tenant).workbooks.get(rg, match[0].name, can_fetch_content=True)
