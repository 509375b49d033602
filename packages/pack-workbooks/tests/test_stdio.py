"""The real `sentinelkit serve` process over stdio, driven by the mcp SDK client (2025-11-25 handshake,
ctx.elicit confirmation), with the emulator over HTTPS and real azure-identity credentials."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcp.types as t
from sentinelkit_devkit.process import stdio_session as serve
from workbooks_testkit import data, sdk_workbooks


async def test_serve_exports_copies_and_deletes_after_the_user_confirms(sentinelkit_env, insights, export_dir: Path,
                                                                       restore) -> None:
    asked: list[str] = []

    async def elicit(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        asked.append(params.message)
        return t.ElicitResult(action="accept", content={"value": True})

    async with serve(sentinelkit_env, elicit=elicit) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        listed = data(await session.call_tool("workbook_list", {"workspace": "law-northwind"}))
        exported = data(await session.call_tool("workbook_export", {"workspace": "law-northwind",
                                                                      "workbook": "Azure Activity", "form": "gallery"}))
        imported = data(await session.call_tool("workbook_import", {"workspace": "law-tailspin",
                                                                      "path": exported["path"],
                                                                      "display_name": "Activity (from northwind)"}))
        deleted = data(await session.call_tool("workbook_delete", {"workspace": "law-tailspin",
                                                                     "workbook": "Activity (from northwind)"}))
    assert tools["workbook_list"].annotations.read_only_hint is True
    assert tools["workbook_delete"].annotations.destructive_hint is True
    assert "confirm" in tools["workbook_delete"].input_schema["properties"]
    assert "dry_run" in tools["workbook_copy"].input_schema["properties"]
    assert {r["name"] for r in listed["workbooks"]} == {w.display_name for w in sdk_workbooks(insights, "law-northwind")}
    assert json.loads((export_dir / exported["path"]).read_text())["fromTemplateId"] == "sentinel-AzureActivity"
    assert imported["action"] == "created" and deleted["deleted"] == "Activity (from northwind)"
    assert len(asked) == 1 and "Activity (from northwind)" in asked[0]  # only the destructive call asks
    assert "Activity (from northwind)" not in {w.display_name for w in sdk_workbooks(insights, "law-tailspin")}


async def test_serve_read_only_hides_every_workbook_write(sentinelkit_env) -> None:
    async with serve(sentinelkit_env, "--read-only") as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
    assert {"workbook_list", "workbook_get", "workbook_export", "workbook_revisions"} <= names
    assert not names & {"workbook_import", "workbook_copy", "workbook_restore", "workbook_delete"}
