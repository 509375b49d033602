"""backup_export through a real MCP client against the emulator: every kind of every workspace (the sample
third-party pack's too) in the <tenant>/<workspace>/<kind>/<name>.json layout, cross-checked with Microsoft's
SDKs; byte-identical files for unchanged objects; a refresh in place; no overwrite unasked; paths confined to
the export directory; progress per workspace and kind; a kind failing in one workspace; table data through
the tables pack."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from backup_testkit import FOLDERS, WORKSPACES, data, error, files, manifest
from fastmcp import Client


async def test_exports_every_kind_of_every_workspace_in_a_layout_for_git(call, export_dir, si, restore) -> None:
    data(await call("sample_tag_set", workspace="law-northwind", tag="costcenter", value="soc-42"))
    answer = data(await call("backup_export", path="estate"))
    assert answer["status"] == "complete" and answer["failures"] == 0 and answer["workspaces"] == 5
    folder = export_dir / "estate"
    m = manifest(folder)
    assert m["status"] == "complete" and m["finished"] and m["created_by"]["backup"] == "0.1.0"
    assert {"analytics_rule", "automation_rule", "watchlist", "saved_search", "table", "data_collection_rule",
            "sample_tag"} <= set(m["kinds"])
    assert m["kinds"]["sample_tag"]["pack"] == "sample" and m["kinds"]["analytics_rule"]["pack"] == "rules"
    assert m["kinds"]["analytics_rule"]["pack_version"] == "0.1.0"
    assert {w["folder"] for w in m["workspaces"]} == set(FOLDERS.values())
    assert all(set(w["complete"]) == set(m["kinds"]) for w in m["workspaces"])
    on_disk = files(folder)
    assert set(on_disk) == {o["file"] for o in m["objects"]}
    for o in m["objects"]:
        assert hashlib.sha256(on_disk[o["file"]]).hexdigest() == o["sha256"]
        assert o["file"].startswith(f"{o['workspace']}/{o['kind']}/")

    for name in WORKSPACES:  # what Microsoft's SDK lists is what the backup holds
        client, rg, ws = si(name)
        rules = {r.properties["displayName"] if isinstance(r.properties, dict) else r.display_name
                 for r in client.alert_rules.list(rg, ws)}
        kept = {o["identity"] for o in m["objects"] if o["workspace"] == FOLDERS[name] and o["kind"] == "analytics_rule"}
        assert kept == rules, name
        watchlists = {w.watchlist_alias for w in client.watchlists.list(rg, ws)}
        assert watchlists == {o["identity"] for o in m["objects"]
                              if o["workspace"] == FOLDERS[name] and o["kind"] == "watchlist"}, name
    tag = json.loads(on_disk["northwind/law-northwind/sample_tag/costcenter.json"])
    assert tag == {"name": "costcenter", "value": "soc-42"}
    rule = json.loads(on_disk["tailspin/law-tailspin/analytics_rule/AUTO DISABLED Brute force against Azure Portal.json"])
    assert "etag" not in rule and "lastModifiedUtc" not in rule["properties"] and rule["properties"]["enabled"] is False


async def test_unchanged_objects_keep_their_bytes_and_a_refresh_shows_only_real_changes(call, export_dir, si,
                                                                                       restore) -> None:
    data(await call("backup_export", workspace="law-northwind", path="nw"))
    folder = export_dir / "nw"
    before = files(folder)
    stamps = {name: (folder / name).stat().st_mtime_ns for name in before}

    refused = error(await call("backup_export", workspace="law-northwind", path="nw"))
    assert "already holds a backup; nothing was written" in refused and "overwrite=true" in refused
    assert files(folder) == before

    again = data(await call("backup_export", workspace="law-northwind", path="nw", overwrite=True))
    assert again["files"] == {"written": 0, "unchanged": len(before), "removed": 0}
    assert files(folder) == before and all((folder / n).stat().st_mtime_ns == t for n, t in stamps.items())

    client, rg, ws = si("law-northwind")
    rule = next(r for r in client.alert_rules.list(rg, ws) if r.kind == "Scheduled")
    rule.severity = "Informational" if rule.severity != "Informational" else "Low"
    client.alert_rules.create_or_update(rg, ws, rule.name, rule)
    gone = next(iter(client.watchlists.list(rg, ws))).watchlist_alias
    client.watchlists.begin_delete(rg, ws, gone).result()
    (folder / ".git").mkdir()  # a person's own files in the backup folder are left alone
    (folder / "README.md").write_text("our estate\n")

    refreshed = data(await call("backup_export", workspace="law-northwind", path="nw", overwrite=True))
    assert refreshed["files"] == {"written": 1, "unchanged": len(before) - 2, "removed": 1}
    after = files(folder)
    changed = {n for n in before if n in after and before[n] != after[n]}
    assert changed == {f"northwind/law-northwind/analytics_rule/{rule.display_name}.json"}
    assert set(before) - set(after) == {f"northwind/law-northwind/watchlist/{gone}.json"}
    assert (folder / "README.md").read_text() == "our estate\n" and (folder / ".git").is_dir()


async def test_backup_paths_stay_in_the_export_directory(call, export_dir, tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    for path in ("../outside", str(outside), "~/backups"):
        text = error(await call("backup_export", workspace="law-tailspin", path=path))
        assert "export directory" in text, text
    (export_dir / "link").symlink_to(outside)
    assert "through a symbolic link" in error(await call("backup_export", workspace="law-tailspin", path="link/b"))
    assert list(outside.iterdir()) == []


async def test_progress_is_reported_per_workspace_and_kind(server, export_dir) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    async with Client(server(), progress_handler=progress) as client:
        result = await client.call_tool("backup_export", {"tenant": "northwind", "kinds": ["watchlist", "table"]})
    assert result.structured_content["status"] == "complete"
    assert [d for d, _, _ in seen] == [1, 2] and {t for _, t, _ in seen} == {2}
    messages = " | ".join(m or "" for _, _, m in seen)
    assert "law-northwind: watchlists" in messages and "law-northwind: Log Analytics tables" in messages


async def test_a_kind_failing_in_one_workspace_makes_a_partial_backup_that_says_what(call, export_dir,
                                                                                     emulator_faults) -> None:
    emulator_faults.add_fault(match={"path": "/watchlists$", "tenant": "tailspin", "method": "GET"}, status=403)
    answer = data(await call("backup_export", tenant="tailspin", kinds=["watchlist", "automation_rule"], path="p"))
    assert answer["status"] == "partial" and answer["failures"] == 1
    failure = answer["failed"][0]
    assert failure["workspace"] == "tailspin/law-tailspin" and failure["kind"] == "watchlist"
    assert "403" in failure["error"]
    m = manifest(export_dir / "p")
    assert m["status"] == "partial" and m["workspaces"][0]["complete"] == ["automation_rule"]
    assert {o["kind"] for o in m["objects"]} == {"automation_rule"}


async def test_table_data_is_exported_through_the_tables_pack(call, export_dir, emulator) -> None:
    from azure.identity import ClientSecretCredential
    from azure.monitor.query import LogsQueryClient

    answer = data(await call("backup_export", workspace="law-tailspin", kinds=["table"], path="with-data",
                             data_since="P1D", data_objects=["Heartbeat", "AppAudit_CL"]))
    assert answer["status"] == "complete" and answer["data_exports"] == 1
    m = manifest(export_dir / "with-data")
    (entry,) = m["data"]
    assert entry["identity"] == "Heartbeat" and entry["folder"] == "data/tailspin/law-tailspin/table/Heartbeat"
    assert entry["summary"]["complete"] is True and entry["summary"]["rows"] > 0
    rows = [json.loads(line) for f in sorted((export_dir / "with-data" / entry["folder"]).glob("*.jsonl"))
            for line in f.read_text().splitlines()]
    assert len(rows) == entry["summary"]["rows"] and {r["Computer"].split(".")[0] for r in rows} >= {"ts-web-01", "ts-app-01"}

    principal = emulator.principal("sentinelkit-mssp")
    cred = ClientSecretCredential(principal["tenant_id"], principal["client_id"], principal["client_secret"],
                                  authority=emulator.info["authority_url"], connection_verify=emulator.info["ca_path"],
                                  disable_instance_discovery=True)
    logs = LogsQueryClient(cred, endpoint=emulator.info["logs_url"], connection_verify=emulator.info["ca_path"],
                           audience="https://api.loganalytics.io")
    customer = next(w for w in emulator.info["workspaces"] if w["name"] == "law-tailspin")["customer_id"]
    start, end = m["scope"]["data"]["since"], m["scope"]["data"]["until"]
    counted = logs.query_workspace(customer, "Heartbeat | count",
                                   timespan=(dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end)))
    assert counted.tables[0].rows[0][0] == len(rows)
