"""Constants and small helpers shared by the hunting pack's tests."""

from __future__ import annotations

from typing import Any

#: workspace -> (tenant, resource group), from the emulator's SCENARIO.md
WORKSPACES = {
    "law-contoso-soc": ("contoso-mssp", "rg-soc"),
    "law-fabrikam-prod": ("fabrikam", "rg-sentinel"),
    "law-northwind": ("northwind", "rg-security"),
    "law-tailspin": ("tailspin", "rg-sentinel-weu"),
    "law-woodgrove": ("woodgrove", "rg-secops"),
}


def data(result: Any) -> dict[str, Any]:
    """A tool result's JSON, failing with the tool's error text when it is an error."""
    assert not result.is_error, result.content[0].text
    return result.structured_content


def error(result: Any) -> str:
    assert result.is_error, result.structured_content
    return result.content[0].text
