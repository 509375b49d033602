"""State stays consistent under concurrent writes (many clients, one emulator)."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from sentinelkit_emulator import Emulator

API = {"api-version": "2025-09-01"}


def test_concurrent_incident_creates_get_unique_consecutive_numbers(fresh_emulator: Emulator, credential_for) -> None:
    emu = fresh_emulator
    ws = next(w["id"] for w in emu.info["workspaces"] if w["name"] == "law-tailspin")
    p = emu.principal("sentinelkit-mssp")
    token = emu.admin.post("/token", json={"client_id": p["client_id"]}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    incidents = f"{emu.info['arm_url']}{ws}/providers/Microsoft.SecurityInsights/incidents"

    async def run() -> tuple[list[httpx.Response], int]:
        async with httpx.AsyncClient(verify=emu.ssl_context(), headers=headers, timeout=60) as client:
            before = await _count(client, incidents)

            async def create(i: int) -> httpx.Response:
                body = {"properties": {"title": f"concurrent {i}", "severity": "Low", "status": "New"}}
                return await client.put(f"{incidents}/{uuid.uuid4()}", params=API, json=body)

            responses = await asyncio.gather(*(create(i) for i in range(40)))
            after = await _count(client, incidents)
            return list(responses), after - before

    responses, added = asyncio.run(run())
    assert [r.status_code for r in responses] == [201] * 40
    numbers = sorted(r.json()["properties"]["incidentNumber"] for r in responses)
    assert numbers == list(range(numbers[0], numbers[0] + 40))  # unique and without gaps
    assert added == 40


async def _count(client: httpx.AsyncClient, url: str) -> int:
    total, next_url, params = 0, url, {**API, "$top": "1000"}
    while next_url:
        page = (await client.get(next_url, params=params)).json()
        total += len(page["value"])
        next_url, params = page.get("nextLink"), None
    return total
