"""Constants and helpers of the backup pack's tests."""

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
#: the folder of each workspace inside a backup
FOLDERS = {name: f"{tenant}/{name}" for name, (tenant, _) in WORKSPACES.items()}
#: the sample third-party pack of the core's tests (its kind: sample_tag, tags of a workspace's resource group)
SAMPLE_PACK = Path(__file__).resolve().parents[2] / "core" / "tests" / "sample_packs" / "sample" / "src"


def data(result: Any) -> dict[str, Any]:
    """A tool result's JSON, failing with the tool's error text when it is an error."""
    assert not result.is_error, result.content[0].text
    return result.structured_content  # type: ignore[no-any-return]


def error(result: Any) -> str:
    assert result.is_error, result.structured_content
    return result.content[0].text  # type: ignore[no-any-return]


def manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text())  # type: ignore[no-any-return]


def files(folder: Path) -> dict[str, bytes]:
    """Every object file of a backup folder (relative path -> bytes), without the manifest."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.json"))
            if p.name != "manifest.json"}
