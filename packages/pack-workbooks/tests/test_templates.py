"""Real Sentinel workbook templates (Azure/Azure-Sentinel ``Workbooks/*.json``, see data/templates/PROVENANCE.json):
each imports into the emulator through a real MCP client, its stored content read back with
azure-mgmt-applicationinsights, its outline built, and its gallery export carries the same items."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from workbooks_testkit import TEMPLATES, data, sdk_by_name

WORKSPACE = "law-contoso-soc"


def _templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.glob("*.json") if p.name != "PROVENANCE.json")


def _content(path: Path) -> dict[str, Any]:
    raw = json.loads(path.read_text())
    if "properties" in raw:  # an ARM workbook resource: the content is its serializedData
        return json.loads(raw["properties"]["serializedData"])  # type: ignore[no-any-return]
    return raw  # type: ignore[no-any-return]


async def _round_trip(call: Any, insights: Any, emulator: Any, export_dir: Path, path: Path) -> dict[str, Any]:
    name = f"{path.stem} (template)"
    shutil.copy(path, export_dir / path.name)
    original = _content(path)
    imported = data(await call("workbook_import", workspace=WORKSPACE, path=path.name, display_name=name,
                               accept_missing_tables=True))
    outline = data(await call("workbook_get", workspace=WORKSPACE, workbook=name, view="outline", limit=500,
                              fields=["step", "type", "tables"]))
    exported = data(await call("workbook_export", workspace=WORKSPACE, workbook=name, form="gallery"))
    gallery = json.loads((export_dir / exported["path"]).read_text())
    stored = json.loads(sdk_by_name(insights, WORKSPACE, name).serialized_data)
    target = emulator.workspace(WORKSPACE)["id"]
    problems = []
    if gallery["items"] != original["items"] or stored["items"] != original["items"]:
        problems.append("items differ")
    if gallery["fallbackResourceIds"] != [target]:
        problems.append(f"fallbackResourceIds {gallery['fallbackResourceIds']}")
    kept = {k: v for k, v in original.items() if k not in ("items", "fallbackResourceIds")}
    if any(gallery.get(k) != v for k, v in kept.items()):
        problems.append("top-level keys differ")
    if outline["total"] < len(original["items"]):
        problems.append(f"outline has {outline['total']} steps for {len(original['items'])} items")
    return {"template": path.name, "action": imported["action"], "steps": outline["total"],
            "queries_checked": imported["tables"]["checked"],
            "missing_tables": imported["tables"]["missing_tables"], "problems": problems}


async def test_real_templates_import_and_export_back_with_their_items_intact(call, insights, emulator,
                                                                            export_dir: Path, restore) -> None:
    results = [await _round_trip(call, insights, emulator, export_dir, p) for p in _templates()]
    passed = [r for r in results if not r["problems"] and r["action"] == "created"]
    share = f"{len(passed)}/{len(results)}"
    print(f"real templates that import and export back intact: {share}")
    for r in results:
        print(f"  {r['template']}: {r['steps']} steps, {r['queries_checked']} queries checked, "
              f"missing {', '.join(r['missing_tables']) or 'none'} {r['problems'] or ''}")
    assert len(results) >= 20
    assert [r for r in results if r not in passed] == [], share
    # the table check really ran on real content: vendor tables are missing here, Sentinel's own are not
    by_name = {r["template"]: r for r in results}
    assert by_name["Auth0Workbook.json"]["missing_tables"] == ["Auth0Logs_CL"]
    assert by_name["AnomaliesVisualization.json"]["missing_tables"] == ["Anomalies"]
    assert by_name["Citrix WAF.json"]["missing_tables"] == []  # CommonSecurityLog is a Sentinel table


async def test_reimporting_a_template_changes_nothing(call, export_dir: Path, restore) -> None:
    path = TEMPLATES / "CiscoISE.json"
    shutil.copy(path, export_dir / path.name)
    args = {"workspace": "law-northwind", "path": path.name, "display_name": "Cisco ISE",
            "accept_missing_tables": True}
    first = data(await call("workbook_import", **args))
    again = data(await call("workbook_import", **args))
    assert first["action"] == "created" and again["action"] == "unchanged" and again["id"] == first["id"]
    assert again["references"]["replaced"] == {
        "/subscriptions/3102b8f9-10e3-49bf-8712-51c184fddef5/resourcegroups/socprime/providers/"
        "microsoft.operationalinsights/workspaces/azuresocprimesentinel": 1}
