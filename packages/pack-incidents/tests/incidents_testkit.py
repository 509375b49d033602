"""Constants and small helpers shared by the incidents pack's tests."""

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
#: incidents the scenario seeds per Sentinel workspace (its plan)
SEEDED = {"law-contoso-soc": 80, "law-fabrikam-prod": 150, "law-northwind": 100, "law-tailspin": 70,
          "law-woodgrove": 60}


def data(result: Any) -> dict[str, Any]:
    """A tool result's JSON, failing with the tool's error text when it is an error."""
    assert not result.is_error, result.content[0].text
    return result.structured_content


def error(result: Any) -> str:
    assert result.is_error, result.structured_content
    return result.content[0].text


async def every_row(client: Any, tool: str, args: dict[str, Any], key: str = "incidents") -> list[dict[str, Any]]:
    """All rows of a paged tool, following next_cursor."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = data(await client.call_tool(tool, {**args, **({"cursor": cursor} if cursor else {})}))
        rows += page[key]
        cursor = page.get("next_cursor")
        if not cursor:
            return rows
