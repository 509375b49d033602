"""Worlds of any size (``--tenants N --workspaces-per-tenant M``): what they hold, that they are the same on
every run, that a workspace is seeded only when first used, and how bad sizes are refused."""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.identity import ClientSecretCredential
from azure.monitor.query import LogsQueryClient, LogsQueryStatus

from sentinelkit_emulator import Emulator
from sentinelkit_emulator.runner import world_size
from sentinelkit_emulator.scenario import build_store
from sentinelkit_emulator.statefile import StateFile, StateFileError

INCIDENTS_API = "2025-09-01"


@pytest.fixture(scope="module")
def world() -> Iterator[Emulator]:
    with Emulator(tenants=3, workspaces_per_tenant=2) as emu:
        yield emu


def credential(emu: Emulator) -> ClientSecretCredential:
    mssp = emu.principal("sentinelkit-mssp")
    return ClientSecretCredential(mssp["tenant_id"], mssp["client_id"], mssp["client_secret"],
                                  authority=emu.info["authority_url"], connection_verify=emu.info["ca_path"],
                                  disable_instance_discovery=True)


def test_the_world_has_its_size_and_one_sign_in_reaches_every_customer(world: Emulator) -> None:
    info = world.info
    assert info["world"] == {"tenants": 3, "workspaces_per_tenant": 2}
    assert [t["name"] for t in info["tenants"]] == ["contoso-mssp", "customer-001", "customer-002", "customer-003"]
    assert len(info["workspaces"]) == 6 and all(w["sentinel"] for w in info["workspaces"])
    token = credential(world).get_token("https://management.azure.com/.default").token
    with httpx.Client(verify=ssl.create_default_context(cafile=info["ca_path"]),
                      headers={"Authorization": f"Bearer {token}"}) as http:
        subs = http.get(f"{info['arm_url']}/subscriptions", params={"api-version": "2022-12-01"}).json()["value"]
        assert len(subs) == 4  # its own, and the three customers' through Lighthouse
        ws = world.workspace("law-customer-002-01")
        listed = http.get(f"{info['arm_url']}{ws['id']}/providers/Microsoft.SecurityInsights/incidents",
                          params={"api-version": INCIDENTS_API, "$orderby": "properties/incidentNumber asc"}).json()
    assert [i["properties"]["incidentNumber"] for i in listed["value"]] == list(range(1, 31))
    config = Path(info["env"]["SENTINELKIT_CONFIG"]).read_text()
    assert config.count('credential = "none"') == 3  # named, reached through Lighthouse: one sign-in for all


def test_a_workspace_is_seeded_when_first_used_and_answers_kql(world: Emulator) -> None:
    store = world.runtime.store
    ws = world.workspace("law-customer-003-02")
    key = ws["id"].lower()
    untouched = key in store._pending
    client = LogsQueryClient(credential(world), endpoint=world.info["logs_url"], audience="https://api.loganalytics.io",
                             connection_verify=world.info["ca_path"])
    answer = client.query_workspace(ws["customer_id"], "Heartbeat | summarize n = count() by Computer",
                                    timespan=None)
    assert answer.status == LogsQueryStatus.SUCCESS
    rows = [tuple(r) for r in answer.tables[0].rows]
    assert rows == [("customer-003-02-srv-01.customer.local", 720)]  # its one agent, hourly for 30 days
    assert untouched and key not in store._pending  # seeded by that first use, not at start


def test_the_same_size_is_the_same_world() -> None:
    one, two = build_store("mssp", size=(2, 2)), build_store("mssp", size=(2, 2))
    path = next(iter(one.of_type("Microsoft.OperationalInsights/workspaces")))["id"]
    incidents = f"{path}/providers/Microsoft.SecurityInsights/incidents"

    def seen(store: Any) -> list[tuple[Any, ...]]:
        return sorted((i["name"], i["properties"]["title"], i["properties"]["incidentNumber"], i["properties"]["severity"])
                      for i in store.children(incidents))

    assert seen(one) == seen(two) and len(seen(one)) == 30


@pytest.mark.parametrize("tenants, per_tenant", [(2, None), (None, 3), (0, 5), (200, 101)])
def test_a_bad_size_is_refused_saying_what_to_give(tenants: int | None, per_tenant: int | None) -> None:
    with pytest.raises(ValueError, match="tenants"):
        world_size(tenants, per_tenant)
    args = [*(["--tenants", str(tenants)] if tenants is not None else []),
            *(["--workspaces-per-tenant", str(per_tenant)] if per_tenant is not None else [])]
    done = subprocess.run([sys.executable, "-m", "sentinelkit_emulator", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and not done.stdout  # refused before it serves anything
    assert "generated world" in done.stderr  # what was wrong, and what to give instead


def test_a_state_file_belongs_to_its_world_size(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    StateFile(path, "mssp:3x2").close()
    with pytest.raises(StateFileError, match="--tenants 3 --workspaces-per-tenant 2"):
        StateFile(path, "mssp")
