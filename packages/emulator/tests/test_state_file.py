"""The state file (``--state-file``): changes committed as they are made, so that a killed emulator loses
nothing it acknowledged; only changes in the file (the scenario is derived again, for the current time);
and no folder with keys or secrets left behind, whatever way the emulator ends."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.identity import ClientSecretCredential

from sentinelkit_emulator import Emulator, statefile
from sentinelkit_emulator.retime import SQUEEZE, Retime
from sentinelkit_emulator.scenario import build_store

SENTINEL_API = {"api-version": "2025-09-01"}
TABLES_API = {"api-version": "2025-07-01"}
RG_API = {"api-version": "2021-04-01"}


class Running:
    """An emulator (a process of its own, or this process's ``Emulator``) and clients of its ARM and query API."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        managing = next(t for t in info["tenants"] if t["role"] == "managing")
        cred = ClientSecretCredential(managing["id"], managing["client_id"], managing["client_secret"],
                                      authority=info["authority_url"], connection_verify=info["ca_path"],
                                      disable_instance_discovery=True)
        verify = ssl.create_default_context(cafile=info["ca_path"])
        self.arm = httpx.Client(base_url=info["arm_url"], verify=verify, timeout=30, headers={
            "Authorization": "Bearer " + cred.get_token("https://management.azure.com/.default").token})
        self.logs = httpx.Client(base_url=info["logs_url"], verify=verify, timeout=30, headers={
            "Authorization": "Bearer " + cred.get_token("https://api.loganalytics.io/.default").token})

    def workspace(self, name: str) -> dict[str, Any]:
        return next(w for w in self.info["workspaces"] if w["name"] == name)

    def incidents(self, workspace: str) -> str:
        return self.workspace(workspace)["id"] + "/providers/Microsoft.SecurityInsights/incidents"

    def kql(self, workspace: str, query: str) -> list[dict[str, Any]]:
        r = self.logs.post(f"/v1/workspaces/{self.workspace(workspace)['customer_id']}/query", json={"query": query})
        assert r.status_code == 200, r.text
        table = r.json()["tables"][0]
        return [dict(zip([c["name"] for c in table["columns"]], row, strict=True)) for row in table["rows"]]

    def close(self) -> None:
        self.arm.close()
        self.logs.close()


def _env(tmp_path: Path) -> dict[str, str]:
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(temp)}


def _start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], Running]:
    proc = subprocess.Popen([sys.executable, "-m", "sentinelkit_emulator", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"the emulator did not start: {proc.communicate(timeout=30)[1]}")
    return proc, Running(json.loads(line))


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Emulator processes a test started: killed at the end if the test left them running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _ok(response: httpx.Response, *codes: int) -> dict[str, Any]:
    assert response.status_code in (codes or (200, 201)), response.text
    return response.json() if response.content else {}


def test_a_killed_emulator_loses_no_acknowledged_change(tmp_path: Path, processes: list[Any]) -> None:
    state = tmp_path / "emulator-state"
    env = _env(tmp_path)
    proc, emu = _start(env, "--state-file", str(state))
    processes.append(proc)
    incidents = emu.incidents("law-fabrikam-prod")
    created = _ok(emu.arm.put(f"{incidents}/3c0f6f2e-0000-4000-8000-00000000cafe", params=SENTINEL_API, json={
        "properties": {"title": "Created before a kill", "severity": "High", "status": "New"}}))
    number = created["properties"]["incidentNumber"]
    seeded = _ok(emu.arm.get(incidents, params={**SENTINEL_API, "$top": "1", "$filter": "properties/status eq 'New'",
                                                "$orderby": "properties/createdTimeUtc asc"}))["value"][0]
    seeded["properties"]["status"] = "Active"
    _ok(emu.arm.put(seeded["id"], params=SENTINEL_API, json={"etag": seeded["etag"], "properties": seeded["properties"]}))
    _ok(emu.arm.put(f"{seeded['id']}/comments/5e1ec7ed-0000-4000-8000-000000000001", params=SENTINEL_API,
                    json={"properties": {"message": "Looked at it before the kill"}}))
    vip = emu.workspace("law-tailspin")["id"] + "/providers/Microsoft.SecurityInsights/watchlists/VIPUsers"
    assert _ok(emu.arm.get(f"{vip}/watchlistItems", params=SENTINEL_API))["value"]
    _ok(emu.arm.delete(vip, params={"api-version": "2021-10-01"}), 200)
    _ok(emu.arm.put(vip, params=SENTINEL_API, json={"properties": {  # again, without items
        "displayName": "VIP users (recreated)", "provider": "Microsoft", "itemsSearchKey": "UserPrincipalName"}}))
    sub = next(t for t in emu.info["tenants"] if t["name"] == "fabrikam")["subscriptions"][0]["id"]
    _ok(emu.arm.put(f"/subscriptions/{sub}/resourcegroups/rg-after-kill", params=RG_API, json={"location": "uksouth"}))
    table = emu.workspace("law-contoso-soc")["id"] + "/tables/SocAutomationAudit_CL"
    lro = emu.arm.patch(table, params=TABLES_API, json={"properties": {"totalRetentionInDays": 400}})
    assert lro.status_code == 202  # acknowledged: the table is Updating when the process dies
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    emu.close()

    files = state.with_name(state.name + "-files")
    assert files.is_dir() and not (files / "server.key").exists()  # a kill leaves it; the server key never stays
    proc, again = _start(env, "--state-file", str(state))
    processes.append(proc)
    try:
        assert again.info["tenants"] == emu.info["tenants"]  # the same principals and secrets
        kept = _ok(again.arm.get(created["id"], params=SENTINEL_API))
        assert kept["properties"]["title"] == "Created before a kill" and kept["properties"]["incidentNumber"] == number
        another = _ok(again.arm.put(f"{incidents}/3c0f6f2e-0000-4000-8000-00000000beef", params=SENTINEL_API, json={
            "properties": {"title": "After the restart", "severity": "Low", "status": "New"}}))
        assert another["properties"]["incidentNumber"] == number + 1  # numbering carries on
        assert _ok(again.arm.get(seeded["id"], params=SENTINEL_API))["properties"]["status"] == "Active"
        comments = _ok(again.arm.get(f"{seeded['id']}/comments", params=SENTINEL_API))["value"]
        assert "Looked at it before the kill" in [c["properties"]["message"] for c in comments]
        assert _ok(again.arm.get(vip, params=SENTINEL_API))["properties"]["displayName"] == "VIP users (recreated)"
        assert _ok(again.arm.get(f"{vip}/watchlistItems", params=SENTINEL_API))["value"] == []  # the old items stay gone
        assert again.arm.get(f"/subscriptions/{sub}/resourcegroups/rg-after-kill", params=RG_API).status_code == 200
        props = _ok(again.arm.get(table, params=TABLES_API))["properties"]
        assert props["totalRetentionInDays"] == 400 and props["provisioningState"] == "Succeeded"
        latest = again.kql("law-fabrikam-prod", f"SecurityIncident | where IncidentName == '{seeded['name']}' "
                                                "| summarize arg_max(TimeGenerated, Status, Comments)")
        assert latest[0]["Status"] == "Active" and "Looked at it before the kill" in str(latest[0]["Comments"])
    finally:
        again.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0

    assert not files.exists()  # removed at a clean stop
    assert not list((tmp_path / "tmp").iterdir())  # with a state file nothing goes to the temporary directory
    assert not list(tmp_path.glob("*.tmp"))
    with closing(sqlite3.connect(state)) as db:  # only the changes: a few resources and rows, not the 75 MB scenario
        assert db.execute("SELECT count(*) FROM log_rows").fetchone()[0] < 20
        assert db.execute("SELECT count(*) FROM resources").fetchone()[0] < 100
    assert state.stat().st_size < 1_000_000
    assert state.stat().st_mode & 0o077 == 0  # it holds client secrets: its owner's only


def _age(state: Path, days: int) -> None:
    """Make ``state`` look as if it had been written ``days`` ago: every time in it moves back."""
    delta = timedelta(days=days)

    def back(m: re.Match[str]) -> str:
        return (datetime.fromisoformat(m[0]) - delta).strftime("%Y-%m-%dT%H:%M:%S")

    def older(text: str) -> str:
        return re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", back, text)

    with closing(sqlite3.connect(state)) as db, db:
        for table, key, column in (("resources", "key", "body"), ("log_rows", "seq", "row"), ("meta", "key", "value")):
            for k, value in db.execute(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL").fetchall():
                db.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (older(value), k))


def test_a_state_reopened_days_later_is_current_and_keeps_its_changes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Emulator(state_file=state) as emu:
        running = Running(emu.info)
        incidents = running.incidents("law-fabrikam-prod")
        incident = _ok(running.arm.get(incidents, params={
            **SENTINEL_API, "$top": "1", "$filter": "properties/status eq 'New'",
            "$orderby": "properties/createdTimeUtc desc"}))["value"][0]  # the newest: seeded rows up to the anchor
        props = incident["properties"]
        props.update(status="Closed", classification="BenignPositive", classificationReason="SuspiciousButExpected",
                     classificationComment="Expected admin work")
        _ok(running.arm.put(incident["id"], params=SENTINEL_API, json={"etag": incident["etag"], "properties": props}))
        _ok(running.arm.put(f"{incident['id']}/comments/5e1ec7ed-0000-4000-8000-000000000002", params=SENTINEL_API,
                            json={"properties": {"message": "Closed last week"}}))
        running.close()
    _age(state, days=6)

    with Emulator(state_file=state) as emu:
        running = Running(emu.info)
        now = datetime.now(UTC)
        # the scenario is as of now: the healthy workspaces' agents still send heartbeats
        last = running.kql("law-fabrikam-prod", "Heartbeat | summarize latest = max(TimeGenerated)")[0]["latest"]
        assert now - datetime.fromisoformat(last) < SQUEEZE + timedelta(minutes=5)
        # the changes came along: ARM and KQL agree on the incident, and its times stay in order, none in the future
        kept = _ok(running.arm.get(incident["id"], params=SENTINEL_API))["properties"]
        assert kept["status"] == "Closed" and kept["classificationComment"] == "Expected admin work"
        latest = running.kql("law-fabrikam-prod", f"SecurityIncident | where IncidentName == '{incident['name']}' "
                                              "| summarize arg_max(TimeGenerated, Status, Classification)")[0]
        assert (latest["Status"], latest["Classification"]) == ("Closed", "BenignPositive")
        comment = next(c["properties"] for c in _ok(running.arm.get(f"{incident['id']}/comments", params=SENTINEL_API))[
            "value"] if c["properties"]["message"] == "Closed last week")
        created, modified = (datetime.fromisoformat(kept[k]) for k in ("createdTimeUtc", "lastModifiedTimeUtc"))
        commented = datetime.fromisoformat(comment["createdTimeUtc"])
        assert created <= modified <= commented <= now
        assert now - commented < SQUEEZE + timedelta(minutes=5)
        newest = running.kql("law-fabrikam-prod", "SecurityIncident | summarize newest = max(TimeGenerated)")[0]["newest"]
        assert datetime.fromisoformat(newest) <= now
        running.close()


def test_reset_drops_the_saved_changes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    sub_path = "/subscriptions/{sub}/resourcegroups/{name}"
    with Emulator(state_file=state) as emu:
        running = Running(emu.info)
        sub = emu.subscription_id("fabrikam")
        _ok(running.arm.put(sub_path.format(sub=sub, name="rg-before-reset"), params=RG_API, json={"location": "uksouth"}))
        emu.reset()
        _ok(running.arm.put(sub_path.format(sub=sub, name="rg-after-reset"), params=RG_API, json={"location": "uksouth"}))
        running.close()
    with Emulator(state_file=state) as emu:
        running = Running(emu.info)
        assert running.arm.get(sub_path.format(sub=sub, name="rg-before-reset"), params=RG_API).status_code == 404
        assert running.arm.get(sub_path.format(sub=sub, name="rg-after-reset"), params=RG_API).status_code == 200
        running.close()


def test_one_emulator_per_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statefile, "LOCK_WAIT_SECONDS", 0.2)
    state = tmp_path / "state"
    with Emulator(state_file=state) as first:
        with pytest.raises(SystemExit, match="in use by another running emulator"):
            Emulator(state_file=state).start()
        assert first.data_dir.is_dir()  # the one that failed did not touch the running one's files
        first.admin.get("/info").raise_for_status()


@pytest.mark.parametrize(("content", "message"), [
    (b'{"format": 1, "now": "2026-11-25T10:00:00+00:00", "world": {}, "resources": []}',
     "looks like a JSON state of an earlier version"),
    (b"\x00\x01 not a database at all", "not a SQLite database"),
    (None, "a SQLite database of another application"),
])
def test_a_file_that_is_no_state_is_refused_and_left_alone(tmp_path: Path, content: bytes | None,
                                                            message: str) -> None:
    state = tmp_path / "state"
    if content is None:
        with closing(sqlite3.connect(state)) as db:
            db.execute("CREATE TABLE notes (text TEXT)")
    else:
        state.write_bytes(content)
    before = state.read_bytes()
    with pytest.raises(SystemExit, match=message):
        Emulator(state_file=state).start()
    assert state.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]  # no -files folder, no SQLite side files


def test_a_folder_beside_the_state_file_that_is_not_the_emulators_is_left_alone(tmp_path: Path) -> None:
    state = tmp_path / "notes"
    theirs = tmp_path / "notes-files"
    theirs.mkdir()
    (theirs / "todo.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="is not the emulator's folder"):
        Emulator(state_file=state).start()
    assert (theirs / "todo.txt").read_text() == "keep me"
    with Emulator(state_file=tmp_path / "other") as emu:  # and what the emulator made, it empties and removes
        assert emu.data_dir == tmp_path / "other-files"
    assert not (tmp_path / "other-files").exists()


def test_the_temp_folder_of_a_killed_emulator_goes_at_the_next_start(tmp_path: Path, processes: list[Any]) -> None:
    env = _env(tmp_path)
    temp = tmp_path / "tmp"
    (temp / "sentinelkit-emulator-unlocked").mkdir()  # an older version's, or one being created: not ours to judge
    killed, running = _start(env)
    processes.append(killed)
    running.close()
    folder = Path(running.info["ca_path"]).parent
    assert folder.parent == temp and (folder / "principals" / "sentinelkit-mssp.pem").exists()
    assert folder.stat().st_mode & 0o077 == 0 and not (folder / "server.key").exists()
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert folder.exists()

    proc, second = _start(env)
    processes.append(proc)
    second.close()
    assert not folder.exists()  # swept: its owner is dead
    assert Path(second.info["ca_path"]).parent.exists()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert [p.name for p in temp.iterdir()] == ["sentinelkit-emulator-unlocked"]


def test_retime_keeps_order_moves_seeded_times_with_the_scenario_and_nothing_into_the_future() -> None:
    anchor = datetime(2026, 11, 1, 12, 0, 0, 500000, tzinfo=UTC)
    clock = anchor + timedelta(hours=3)  # changes were made over three hours: squeezed into the last minutes
    now = anchor + timedelta(days=9, seconds=1.25) + SQUEEZE
    retime = Retime(anchor, clock, now)
    assert retime.new_anchor - anchor == timedelta(days=9, seconds=1)  # the scenario moves by whole seconds
    assert now - SQUEEZE - timedelta(seconds=1) <= retime.new_anchor <= now - SQUEEZE
    seeded = "2026-10-30T08:15:00.1234567Z"
    assert retime.text(seeded) == "2026-11-08T08:15:01.1234567Z"  # as the re-derived scenario moved
    changes = [anchor + timedelta(minutes=m) for m in (1, 2, 90, 180)]
    moved = [retime.moved(t) for t in changes]
    assert moved == sorted(moved) and retime.new_anchor < moved[0] and moved[-1] == now
    later = clock + timedelta(days=30)  # e.g. an expiry: moves as the last change did
    assert retime.moved(later) - later == now - clock
    assert retime.value({"a": ["2026-11-01T12:00:00+00:00", "not a time", 5], "b": "2026-13-01T00:00:00Z"}) == {
        "a": ["2026-11-10T12:00:01+00:00", "not a time", 5], "b": "2026-13-01T00:00:00Z"}


def test_log_rows_made_at_their_first_read_are_the_scenarios() -> None:
    """A start defers the scenario's log rows (most of its work); once read, they are exactly the ones an
    eager build makes, followed by the rows appended before the first read."""
    eager = build_store("mssp")
    lazy = build_store("mssp", now=eager.now, world=eager.world, lazy_logs=True)
    cid = next(r for r in lazy.all() if r["type"] == "Microsoft.OperationalInsights/workspaces")["properties"]["customerId"]
    incident = next(r for r in lazy.all() if r["type"].lower() == "microsoft.securityinsights/incidents")
    changed = {**incident, "properties": {**incident["properties"], "title": "changed before the logs were read"}}
    lazy.put(changed)  # the rows describe the scenario as seeded, not as changed since
    lazy.append_logs(cid, "SecurityIncident", [{"TimeGenerated": "2026-12-01T00:00:00Z", "Title": "appended early"}])
    expected = json.loads(json.dumps(eager.logs))
    expected[cid.lower()]["SecurityIncident"].append({"TimeGenerated": "2026-12-01T00:00:00Z", "Title": "appended early"})
    assert json.loads(json.dumps(lazy.logs)) == expected
