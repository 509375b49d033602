"""The real `sentinelkit serve` process over stdio, driven by the mcp SDK client (2025-11-25 handshake,
ctx.elicit confirmation), with the emulator over HTTPS and real azure-identity credentials: the pack's tools
listed, a lowering confirmed by the user, and an export whose server is killed mid-way, then resumed by a new
server without a duplicate row."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
from pathlib import Path
from typing import Any

import mcp.types as t
from sentinelkit_devkit.process import result_json, serve_pids, stdio_session

WRITES = {"table_create", "table_update_schema", "table_set_plan", "table_set_retention", "table_lower_retention",
          "table_delete"}


async def test_serve_lists_the_pack_and_read_only_hides_its_writes(sentinelkit_env) -> None:
    async with stdio_session(sentinelkit_env) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        listed = result_json(await session.call_tool("table_list", {"workspace": "law-tailspin", "type": "custom"}))
    assert WRITES <= set(tools) and {"table_list", "table_get", "table_export", "table_retention_report"} <= set(tools)
    assert tools["table_lower_retention"].annotations.destructive_hint is True
    assert tools["table_set_retention"].annotations.destructive_hint is False
    assert [r["name"] for r in listed["tables"]] == ["CheckoutEvents_CL"]
    async with stdio_session(sentinelkit_env, "--read-only") as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
    assert not names & WRITES and "table_export" in names


async def test_a_lowering_is_applied_only_once_the_user_confirms(sentinelkit_env, la, restore) -> None:
    asked: list[str] = []

    async def decline(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        asked.append(params.message)
        return t.ElicitResult(action="decline")

    async def accept(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        asked.append(params.message)
        return t.ElicitResult(action="accept", content={"value": True})

    args = {"workspace": "law-woodgrove", "table": "SigninLogs", "total_retention_days": 400}
    async with stdio_session(sentinelkit_env, elicit=decline) as session:
        declined = result_json(await session.call_tool("table_lower_retention", args))
    tables, rg, name = la("law-woodgrove")
    assert declined["cancelled"] is True and tables.get(rg, name, "SigninLogs").total_retention_in_days == 730
    async with stdio_session(sentinelkit_env, elicit=accept) as session:
        done = result_json(await session.call_tool("table_lower_retention", args))
    assert done["total_retention_days"] == 400 and tables.get(rg, name, "SigninLogs").total_retention_in_days == 400
    assert len(asked) == 2 and "730 to 400 days" in asked[1] and "330 days of data" in asked[1]


async def test_an_export_whose_server_is_killed_resumes_in_a_new_server(sentinelkit_env, emulator, la, logs,
                                                                        restore) -> None:
    from azure.mgmt.loganalytics.models import Column, Schema, Table

    tables, rg, name = la("law-tailspin")
    tables.begin_create_or_update(rg, name, "Killed_CL", Table(schema=Schema(name="Killed_CL", columns=[
        Column(name="TimeGenerated", type="dateTime"), Column(name="Seq", type="long")]))).result()
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    emulator.append_logs("law-tailspin", "Killed_CL", [
        {"TimeGenerated": (start + dt.timedelta(seconds=3 * i)).isoformat(), "Seq": i} for i in range(2400)])
    args = {"workspace": "law-tailspin", "table": "Killed_CL", "start": start.isoformat(),
            "end": (start + dt.timedelta(hours=2)).isoformat(), "max_rows_per_slice": 200, "path": "killed"}
    manifest = Path(sentinelkit_env["SENTINELKIT_EXPORT_DIR"]) / "killed" / "manifest.json"

    def written() -> int:
        if not manifest.exists():
            return 0
        return sum(p["status"] == "done" for p in json.loads(manifest.read_text())["parts"])

    emulator.add_fault(match={"service": "logs"}, latency_ms=300)
    try:
        async with stdio_session(sentinelkit_env) as session:
            call = asyncio.create_task(session.call_tool("table_export", args))
            for _ in range(600):
                if written() >= 3:
                    break
                await asyncio.sleep(0.05)
            for pid in serve_pids():
                os.kill(pid, signal.SIGKILL)
            try:
                await asyncio.wait_for(call, timeout=30)
            except Exception:
                pass  # the server died: no answer
    except Exception:
        pass  # the session ends with its server
    finally:
        emulator.clear_faults()
    parts = json.loads(manifest.read_text())["parts"]
    done_before = sum(p["status"] == "done" for p in parts)
    assert 3 <= done_before < len(parts) and len(parts) >= 10, "the export was not cut short"

    async with stdio_session(sentinelkit_env) as session:
        out = result_json(await session.call_tool("table_export", args))
    assert out["complete"] is True and out["slices"]["already_written"] == done_before
    assert out["slices"]["written_now"] == len(parts) - done_before
    assert not list(manifest.parent.glob(".*.part"))  # the killed writer's temporary file is gone too
    exported = [json.loads(line) for f in sorted(manifest.parent.glob("*.jsonl")) for line in f.read_text().splitlines()]
    expected = logs("law-tailspin", "Killed_CL | sort by TimeGenerated asc", (start, start + dt.timedelta(hours=2)))
    assert [r["Seq"] for r in sorted(exported, key=lambda r: r["Seq"])] == [r["Seq"] for r in expected] == list(
        range(2400))
