"""Bad input, each a clear error that says what happened and what to do, with nothing half-written: not a
workbook, invalid JSON, a 20 MB file, content above what Azure stores, a path outside the export directory,
an unknown workbook id, a stale etag."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.applicationinsights.v2023_06_01.models import WorkbookUpdateParameters
from workbooks_testkit import WORKSPACES, data, error, sdk_by_name, sdk_workbooks

WORKSPACE = "law-tailspin"
#: the files the tests write as input
INPUTS = {"bad.json", "huge.json", "link.json"}


@pytest.fixture
def unchanged(insights: Any, export_dir: Path) -> Iterator[None]:
    """The workspace's workbooks (names, ids, etags) and the export directory (but for the inputs the test
    writes) are the same after the test."""
    def state() -> tuple[Any, ...]:
        books = sorted((w.display_name, w.name, w.etag) for w in sdk_workbooks(insights, WORKSPACE))
        files = sorted(str(p.relative_to(export_dir)) for p in export_dir.rglob("*") if p.name not in INPUTS)
        return books, files

    before = state()
    yield
    assert state() == before


def _write(export_dir: Path, name: str, text: str) -> str:
    (export_dir / name).write_text(text)
    return name


@pytest.mark.parametrize(("text", "needles"), [
    ('{"name": "x", "properties": {"query": "SecurityEvent"}}', ["is not a workbook", "gallery template", "keys name, properties"]),
    ("[1, 2, 3]", ["is not a workbook", "JSON list"]),
    ('{"version": "Notebook/1.0", "items": {"type": 1}}', ["is not a workbook", "'items' must be a list"]),
    ('{"version": "2.0", "items": []}', ["'version' must be like", "'2.0'"]),
    ('{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "resources": []}',
     ["is an ARM deployment template", "Gallery Template"]),
    ('{"properties": {"displayName": "x", "serializedData": "{not json"}}', ["serializedData is not valid JSON"]),
    ('{"version": "Notebook/1.0", "items": [}', ["is not valid JSON", "line 1 column", "nothing was imported"]),
])
async def test_files_that_are_not_workbooks(call, export_dir: Path, unchanged: None, text: str,
                                            needles: list[str]) -> None:
    name = _write(export_dir, "bad.json", text)
    message = error(await call("workbook_import", workspace=WORKSPACE, path=name, display_name="Bad"))
    assert "file 'bad.json'" in message and all(n in message for n in needles), message


async def test_a_20_mb_file_is_refused_before_it_is_read(call, export_dir: Path, unchanged: None) -> None:
    big = export_dir / "huge.json"
    with big.open("w") as out:
        out.write('{"version": "Notebook/1.0", "items": [{"type": 1, "content": {"json": "')
        out.write("x" * (20 * 1024 * 1024))
        out.write('"}}]}')
    message = error(await call("workbook_import", workspace=WORKSPACE, path="huge.json", display_name="Huge"))
    assert "file 'huge.json' is 20.0 MB" in message and "largest workbook accepted is 8.0 MB" in message
    assert "nothing was imported" in message
    text = error(await call("workbook_import", workspace=WORKSPACE, display_name="Huge",
                            workbook_json=big.read_text()))
    assert "workbook_json given is 20.0 MB" in text


async def test_content_above_what_azure_stores_is_refused_before_sending(call, unchanged: None) -> None:
    text = json.dumps({"version": "Notebook/1.0", "items": [{"type": 1, "content": {"json": "y" * (3 * 1024 * 1024)}}]})
    message = error(await call("workbook_import", workspace=WORKSPACE, workbook_json=text, display_name="Big"))
    assert "is 3.0 MB of JSON; Azure stores at most 2.0 MB" in message and "nothing was written" in message


async def test_paths_outside_the_export_directory(call, export_dir: Path, tmp_path: Path, unchanged: None) -> None:
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps({"version": "Notebook/1.0", "items": []}))
    os.symlink(outside, export_dir / "link.json")
    try:
        for path, needle in [("../secret.json", "leads out of the export directory"),
                             (str(outside), "absolute path"), ("link.json", "through a symbolic link"),
                             ("missing.json", "is not a file in the export directory")]:
            message = error(await call("workbook_import", workspace=WORKSPACE, path=path, display_name="X"))
            assert needle in message, (path, message)
    finally:
        (export_dir / "link.json").unlink()
    message = error(await call("workbook_import", workspace=WORKSPACE, display_name="X"))
    assert "give exactly one of path" in message


async def test_unknown_workbook_ids(call, unchanged: None) -> None:
    unknown = "6f1c2b1e-0000-4000-8000-000000000001"
    for tool, args in [("workbook_get", {}), ("workbook_export", {}), ("workbook_revisions", {}),
                       ("workbook_delete", {"confirm": True}), ("workbook_restore", {"revision": "x"}),
                       ("workbook_copy", {"to_workspaces": ["law-northwind"]})]:
        message = error(await call(tool, workspace=WORKSPACE, workbook=unknown, **args))
        assert f"no Sentinel workbook {unknown!r} in workspace {WORKSPACE}" in message, (tool, message)
    template = json.dumps({"version": "Notebook/1.0", "items": []})
    message = error(await call("workbook_import", workspace=WORKSPACE, workbook_json=template, display_name="X",
                               replace=unknown))
    assert unknown in message and "workbook_list" in message


async def test_a_stale_etag_is_refused_and_nothing_is_written(call, insights, restore) -> None:
    tenant, rg = WORKSPACES["law-woodgrove"]
    read = data(await call("workbook_get", workspace="law-woodgrove", workbook="Azure Activity"))
    exported = data(await call("workbook_export", workspace="law-woodgrove", workbook="Azure Activity"))
    insights(tenant).workbooks.update(rg, read["id"], workbook_update_parameters=WorkbookUpdateParameters(
        display_name="Azure Activity", description="changed by someone"))
    now = sdk_by_name(insights, "law-woodgrove", "Azure Activity")
    text = error(await call("workbook_import", workspace="law-woodgrove", path=exported["path"], etag=read["etag"]))
    assert "changed since it was read" in text and read["etag"] in text and "nothing was written" in text
    after = sdk_by_name(insights, "law-woodgrove", "Azure Activity")
    assert after.etag == now.etag and after.description == "changed by someone"
    text = error(await call("workbook_delete", workspace="law-woodgrove", workbook="Azure Activity", etag=read["etag"],
                            confirm=True))
    assert "nothing was deleted" in text and sdk_by_name(insights, "law-woodgrove", "Azure Activity").etag == now.etag
