"""Faults benchmark: how sentinelkit answers while Azure misbehaves, against the emulator.

1. A throttling storm: 50 % of ARM calls answer 429 with Retry-After: 1 s (seeded, replayable), while
   ``incident_list`` over every workspace and a quick ``sentinel_health_check`` across every tenant run.
   A call succeeds when it answers without error and every workspace it covers is either in its
   results or named among its errors (a partial answer that names what failed is honest; one that
   silently drops a workspace is a failure).
2. Lost answers: 50 % of incident writes take effect and then lose their answer (the connection is
   reset; the client retries). Each ``incident_update`` changes a severity, each ``incident_comment_add``
   adds a comment; then Microsoft's SDK reads the incidents: writes duplicated (a comment twice) and
   writes reported wrongly (said applied but not there, or said failed but there) are counted.

    python benchmarks/faults.py [--calls 20] [--writes 20]

Aims: >= 99 % of tool calls succeed; 0 duplicated writes; 0 writes reported wrongly.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def covered(answer: dict[str, Any], expected: set[str], key: str) -> bool:
    """Every expected workspace is in the answer's rows or named among its errors."""
    seen = {str(row.get("workspace")) for row in answer.get(key, [])}
    named = set(answer.get("errors") or {})
    return all(ws in seen or ws in named for ws in expected)


def _why_not(result: Any) -> str:
    """What made a storm call count as failed: the error text, else the workspaces' errors."""
    if result.is_error:
        return str(result.content[0].text)[:160]
    errors = (result.structured_content or {}).get("errors") or {}
    answer = result.structured_content or {}
    rows = answer.get("incidents", answer.get("workspaces", []))
    seen = sorted({str(r.get("workspace")) for r in rows})
    return "; ".join(f"{k}: {str(v)[:80]}" for k, v in errors.items())[:240] or f"only {seen} answered, no error"


async def storm(client: Any, emu: Any, calls: int) -> tuple[int, int, float]:
    workspaces = {w["label"] if w.get("label") else w["name"] for w in
                  (await client.call_tool("workspace_list", {})).structured_content["workspaces"] if w["sentinel"]}
    emu.add_fault(match={"service": "arm"}, status=429, retry_after=1, fraction=0.5, seed=7)
    ok = 0
    total = 0
    start = time.perf_counter()
    try:
        for i in range(calls):
            if i % 4 == 3:
                result = await client.call_tool("sentinel_health_check", {"refresh": True, "limit": 100},
                                                raise_on_error=False)
                good = not result.is_error and len(result.structured_content["workspaces"]) >= len(workspaces)
            else:
                result = await client.call_tool("incident_list", {"workspaces": "all", "limit": 200,
                                                                  "fields": ["workspace"]}, raise_on_error=False)
                good = not result.is_error and covered(result.structured_content, workspaces, "incidents")
            total += 1
            ok += good
            if not good:
                print(f"  call {i + 1} failed: {_why_not(result)}")
    finally:
        emu.clear_faults()
    return ok, total, time.perf_counter() - start


async def lost_answers(client: Any, emu: Any, writes: int) -> dict[str, Any]:
    from azure.identity import ClientSecretCredential
    from azure.mgmt.securityinsight import SecurityInsightsMgmtClient

    info = emu.info
    rows = (await client.call_tool("incident_list", {"workspace": "law-northwind", "limit": 5})).structured_content
    incidents = rows["incidents"][:5]
    emu.add_fault(match={"method": "PUT", "path": r"/incidents/[^/]+(/comments/[^/]+)?$"}, drop_response=True,
                  fraction=0.5, seed=11)
    said: dict[str, tuple[bool, str]] = {}
    comments: dict[str, int] = {}
    start = time.perf_counter()
    try:
        for i in range(writes):
            inc = incidents[i % len(incidents)]
            if i % 2:
                severity = ("High", "Medium", "Low", "Informational")[i % 4]
                result = await client.call_tool("incident_update", {"workspace": "law-northwind",
                                                                    "incident_id": str(inc["number"]),
                                                                    "severity": severity}, raise_on_error=False)
                said[inc["id"]] = (not result.is_error, severity)
            else:
                message = f"benchmark note {i}"
                result = await client.call_tool("incident_comment_add", {"workspace": "law-northwind",
                                                                         "incident_id": str(inc["number"]),
                                                                         "message": message}, raise_on_error=False)
                comments[f"{inc['id']}|{message}"] = 0 if result.is_error else 1
    finally:
        emu.clear_faults()
    elapsed = time.perf_counter() - start
    mssp = emu.tenant(info["managing_tenant_id"])
    cred = ClientSecretCredential(mssp["id"], mssp["client_id"], mssp["client_secret"], authority=info["authority_url"],
                                  connection_verify=info["ca_path"], disable_instance_discovery=True)
    sdk = SecurityInsightsMgmtClient(cred, emu.tenant("northwind")["subscriptions"][0]["id"], base_url=info["arm_url"],
                                     connection_verify=info["ca_path"],
                                     credential_scopes=["https://management.azure.com/.default"])
    wrong = duplicated = 0
    for incident_id, (reported, severity) in said.items():
        actual = sdk.incidents.get("rg-security", "law-northwind", incident_id).severity
        wrong += reported != (actual == severity)
    for key, reported in comments.items():
        incident_id, message = key.split("|", 1)
        found = [c for c in sdk.incident_comments.list("rg-security", "law-northwind", incident_id)
                 if c.message == message]
        duplicated += max(len(found) - 1, 0)
        wrong += bool(reported) != bool(found)
    sdk.close()
    return {"writes": writes, "duplicated": duplicated, "reported_wrongly": wrong, "seconds": elapsed}


async def measure(calls: int, writes: int) -> None:
    from fastmcp import Client
    from sentinelkit_devkit.emulator import emulator_environment

    from sentinelkit.server import build_server
    from sentinelkit.settings import load_settings
    from sentinelkit_emulator import Emulator

    with Emulator() as emu, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(emulator_environment(emu.info, Path(tmp)))
        async with Client(build_server(load_settings())) as client:
            ok, total, seconds = await storm(client, emu, calls)
            print(f"429 storm (50 % of ARM calls, Retry-After 1 s): {ok}/{total} tool calls succeeded "
                  f"({100 * ok / total:.1f} %, aim >= 99 %) in {seconds:.1f} s")
            lost = await lost_answers(client, emu, writes)
            print(f"lost answers (50 % of incident writes): {lost['writes']} writes, {lost['duplicated']} duplicated "
                  f"(aim 0), {lost['reported_wrongly']} reported wrongly (aim 0), in {lost['seconds']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--writes", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")
    asyncio.run(measure(args.calls, args.writes))


if __name__ == "__main__":
    main()
