"""The backup pack end to end through ``sentinelkit serve`` and the mcp SDK's stdio client: the tools listed
(read-only mode keeps the reads), an export killed halfway leaves a manifest marked incomplete that the other
tools respect, and an object changed while the user was confirming a restore is reported, not overwritten
(the plan's etag)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import mcp.types as t
from backup_testkit import data, manifest
from sentinelkit_devkit.process import result_json, serve_pids, stdio_session

READS = {"backup_export", "backup_diff", "drift_check", "backup_list"}
WRITES = {"backup_restore", "drift_fix"}


async def test_serve_lists_the_backup_tools_and_read_only_keeps_the_reads(sentinelkit_env, export_dir) -> None:
    async with stdio_session(sentinelkit_env) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        exported = result_json(await session.call_tool("backup_export", {"workspace": "law-woodgrove",
                                                                         "kinds": ["watchlist"], "path": "wg"}))
        listed = result_json(await session.call_tool("backup_list", {}))
    assert READS | WRITES <= set(tools)
    assert tools["backup_restore"].annotations.destructive_hint is False and "confirm" in tools[
        "backup_restore"].input_schema["properties"]
    assert exported["status"] == "complete" and [b["backup"] for b in listed["backups"]] == ["wg"]
    async with stdio_session(sentinelkit_env, "--read-only") as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
    assert READS <= names and not names & WRITES


async def test_an_export_killed_halfway_is_marked_incomplete(sentinelkit_env, export_dir, emulator, call) -> None:
    folder = export_dir / "cut"
    emulator.add_fault(match={"service": "arm", "method": "GET", "path": "/providers/"}, latency_ms=300)
    try:
        async with stdio_session(sentinelkit_env) as session:
            task = asyncio.create_task(session.call_tool("backup_export", {"path": "cut"}))
            for _ in range(600):
                if (folder / "manifest.json").exists() and manifest(folder)["objects"]:
                    break
                await asyncio.sleep(0.05)
            for pid in serve_pids():
                os.kill(pid, signal.SIGKILL)
            try:
                await asyncio.wait_for(task, timeout=30)
            except Exception:
                pass  # the server died: no answer
    except Exception:
        pass  # the session ends with its server
    finally:
        emulator.clear_faults()
    m = manifest(folder)
    assert m["status"] == "incomplete" and m["finished"] is None and m["objects"]
    complete = {(w["folder"], k) for w in m["workspaces"] for k in w["complete"]}
    assert len(complete) < 5 * len(m["kinds"]), "the export was not cut short"
    for o in m["objects"]:  # what the manifest lists was written whole
        assert json.loads((folder / o["file"]).read_text()) is not None

    listed = data(await call("backup_list"))["backups"]
    assert [(b["backup"], b["status"]) for b in listed] == [("cut", "incomplete")]
    entry = m["workspaces"][0]
    plan = data(await call("backup_restore", backup="cut", source=entry["folder"], workspace=entry["label"],
                           prune=True, dry_run=True))["would_change"]["changes"]["plans"][entry["label"]]
    assert "export did not finish" in plan["backup_incomplete"]
    assert set(plan.get("not_pruned", {})) == set(m["kinds"]) - set(entry["complete"])
    refreshed = data(await call("backup_export", path="cut", overwrite=True))
    assert refreshed["status"] == "complete" and not list(folder.rglob(".*.part"))


async def test_an_object_changed_while_the_user_confirms_is_reported_not_overwritten(sentinelkit_env, export_dir,
                                                                                     si, call, restore) -> None:
    client, rg, ws = si("law-tailspin")
    data(await call("backup_export", workspace="law-tailspin", kinds=["analytics_rule"], path="ts"))
    extra = next(r for r in client.alert_rules.list(rg, ws) if r.kind == "Scheduled")
    extra.display_name, extra.etag = "Made after the backup", None
    client.alert_rules.create_or_update(rg, ws, "made-after-the-backup", extra)
    asked: list[str] = []

    async def change_then_accept(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        asked.append(params.message)
        meanwhile = client.alert_rules.get(rg, ws, "made-after-the-backup")
        meanwhile.description = "changed by someone else while the restore was being confirmed"
        client.alert_rules.create_or_update(rg, ws, "made-after-the-backup", meanwhile)
        return t.ElicitResult(action="accept", content={"value": True})

    async with stdio_session(sentinelkit_env, elicit=change_then_accept) as session:
        done = result_json(await session.call_tool("backup_restore", {"backup": "ts", "prune": True}))
    assert len(asked) == 1 and "1 delete" in asked[0]
    (row,) = done["results"]["law-tailspin"]["failed"]
    assert row["result"] == "conflict" and "changed in law-tailspin after the plan was made" in row["error"]
    kept = client.alert_rules.get(rg, ws, "made-after-the-backup")
    assert kept.description == "changed by someone else while the restore was being confirmed"
