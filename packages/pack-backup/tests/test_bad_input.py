"""Backups that cannot be used as they are, through a real MCP client: a tampered manifest, a manifest that is not
JSON or comes from a newer version, a file that is not JSON, a kind whose pack is not installed, a kind written by
a newer version of its pack, a file path leading out of the backup, a misspelled kind — each refused or skipped
with a message that says what and what to do, and nothing else lost; and what backup_list shows of them."""

from __future__ import annotations

import hashlib
import json
import types
from pathlib import Path
from typing import Any

from backup_testkit import data, error, manifest
from fastmcp import Client

from sentinelkit import ContentKindRegistrar, hookimpl


def _rewrite(folder: Path, change: Any) -> None:
    """Change a manifest the way a newer writer would (its checksum recomputed), not the way a person would."""
    m = manifest(folder)
    change(m)
    m.pop("checksum")
    m["checksum"] = hashlib.sha256(json.dumps(m, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(m, indent=2))


async def test_a_tampered_manifest_is_refused_before_anything_is_read(call, export_dir, emulator, si) -> None:
    data(await call("backup_export", workspace="law-northwind", kinds=["automation_rule"], path="nw"))
    file = export_dir / "nw" / "manifest.json"
    tailspin = next(w for w in emulator.info["workspaces"] if w["name"] == "law-tailspin")
    m = manifest(export_dir / "nw")
    m["workspaces"][0]["id"] = tailspin["id"]  # send northwind's rules to tailspin
    file.write_text(json.dumps(m, indent=2))
    client, rg, ws = si("law-tailspin")
    before = {r.name: r.etag for r in client.automation_rules.list(rg, ws)}
    for tool, args in (("backup_restore", {}), ("backup_diff", {"workspace": "law-northwind"}),
                       ("drift_check", {"workspaces": ["law-tailspin"]})):
        text = error(await call(tool, **{"backup" if tool != "drift_check" else "baseline": "nw", **args}))
        assert f"{file} is not a usable backup manifest: its content was changed after sentinelkit wrote it" in text
        assert "nothing was read or changed" in text and "git checkout -- manifest.json" in text
    assert {r.name: r.etag for r in client.automation_rules.list(rg, ws)} == before
    listed = data(await call("backup_list"))["backups"]
    assert listed == [{"backup": "nw", "status": "unusable", "started": None, "workspaces": None, "objects": None,
                       "kinds": None, "failures": None, "error": listed[0]["error"]}]
    assert "checksum does not match" in listed[0]["error"]


async def test_manifests_that_are_not_json_or_come_from_a_newer_version_are_refused(call, export_dir) -> None:
    data(await call("backup_export", workspace="law-northwind", kinds=["automation_rule"], path="a"))
    data(await call("backup_export", workspace="law-northwind", kinds=["automation_rule"], path="b"))
    data(await call("backup_export", workspace="law-northwind", kinds=["automation_rule"], path="c"))
    (export_dir / "a" / "manifest.json").write_text('{"format": "sentinelkit-backup", "status": ')
    assert "is not JSON (line 1, column" in error(await call("backup_restore", backup="a", dry_run=True))
    _rewrite(export_dir / "b", lambda m: m.update(format_version=2))
    newer = error(await call("backup_restore", backup="b", dry_run=True))
    assert "written by a newer sentinelkit-backup (manifest format 2; this version reads up to 1)" in newer
    assert "pip install -U sentinelkit-backup" in newer
    _rewrite(export_dir / "c", lambda m: m["objects"][0].update(file="../../../etc/passwd.json"))
    escaping = error(await call("backup_restore", backup="c", dry_run=True))
    assert "has file '../../../etc/passwd.json', which is not northwind/law-northwind/automation_rule/<name>.json" in escaping
    assert "no backup folder 'missing'" in error(await call("backup_restore", backup="missing"))
    assert "leads out of the export directory" in error(await call("backup_restore", backup="../a"))


async def test_a_file_that_is_not_json_is_skipped_and_the_rest_restored(call, export_dir, si, restore) -> None:
    data(await call("backup_export", workspace="law-northwind", kinds=["automation_rule", "watchlist"], path="nw"))
    client, rg, ws = si("law-northwind")
    gone = next(iter(client.watchlists.list(rg, ws))).watchlist_alias
    client.watchlists.begin_delete(rg, ws, gone).result()
    broken = next((export_dir / "nw" / "northwind" / "law-northwind" / "automation_rule").glob("*.json"))
    broken.write_text("{ this is not json\n")

    done = data(await call("backup_restore", backup="nw"))
    result = done["results"]["law-northwind"]
    assert result["results"] == {"created": 1} and result["objects"][0]["name"] == gone
    (unusable,) = result["unusable_files"]
    assert unusable["file"] == f"northwind/law-northwind/automation_rule/{broken.name}"
    assert "is not JSON (line 1, column 3" in unusable["error"] and "fix it or restore it from git; skipped" in unusable["error"]
    assert gone in {w.watchlist_alias for w in client.watchlists.list(rg, ws)}


async def test_a_kind_whose_pack_is_not_installed_is_reported_and_skipped(server, export_dir, sentinelkit_env,
                                                                         tmp_path) -> None:
    async with Client(server()) as client:
        data(await client.call_tool("backup_export", {"workspace": "law-tailspin", "kinds": ["watchlist", "automation_rule"],
                                                      "path": "ts"}))
    config = tmp_path / "no-hunting.toml"
    config.write_text(Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text() + '\n[packs]\ndisable = ["hunting"]\n')
    async with Client(server(config=config)) as client:
        plan = data(await client.call_tool("backup_restore", {"backup": "ts", "dry_run": True}))
        notes = plan["would_change"]["changes"]["plans"]["law-tailspin"]["skipped_kinds"]
        assert notes == {"watchlist": "kind 'watchlist' is not installed: pack hunting 0.1.0 wrote its 2 object(s) in "
                                      "this backup; install that pack to use them. Skipped"}
        diffed = data(await client.call_tool("backup_diff", {"backup": "ts", "workspace": "law-tailspin"}))
        assert diffed["summary"] == "no differences" and "watchlist" in diffed["notes"]["ts: law-tailspin"]["skipped_kinds"]
        misspelled = await client.call_tool("backup_export", {"kinds": ["watchlists"]}, raise_on_error=False)
        assert misspelled.is_error and "no installed content kind is called 'watchlists'" in misspelled.content[0].text
        # a kind the backup holds is not a typo even when its pack is missing; one neither knows is refused up front
        for tool, args in (("backup_restore", {"dry_run": True}), ("backup_diff", {"workspace": "law-tailspin"}),
                           ("drift_check", {"workspaces": "law-tailspin"})):
            named = "baseline" if tool == "drift_check" else "backup"
            typo = await client.call_tool(tool, {named: "ts", **args, "kinds": ["watchlist", "automation_rules"]},
                                          raise_on_error=False)
            assert typo.is_error, tool
            assert ("no installed or backed-up content kind is called 'automation_rules' (did you mean "
                    "'automation_rule'?)") in typo.content[0].text, (tool, typo.content[0].text)


async def test_a_kind_written_by_a_newer_version_of_its_pack_is_refused(make_server, sample_pack, export_dir) -> None:
    def pack(version: int) -> Any:
        class ProbeTag(sample_pack.ResourceGroupTag):  # the sample kind under another name, at a chosen version
            name = "probe_tag"
            title = "probe tags"

        ProbeTag.version = version

        @hookimpl
        def register_content_kinds(register: ContentKindRegistrar) -> None:
            register(ProbeTag())

        return types.SimpleNamespace(register_content_kinds=register_content_kinds, __name__="tests.probe")

    async with Client(make_server(plugins={"probe": pack(2)})) as client:
        data(await client.call_tool("backup_export", {"workspace": "law-tailspin", "kinds": ["probe_tag"],
                                                      "path": "v2"}))
    assert manifest(export_dir / "v2")["kinds"]["probe_tag"]["version"] == 2
    async with Client(make_server(plugins={"probe": pack(1)})) as client:
        plan = data(await client.call_tool("backup_restore", {"backup": "v2", "dry_run": True}))
        skipped = plan["would_change"]["changes"]["plans"]["law-tailspin"]["skipped_kinds"]["probe_tag"]
        assert skipped == ("the backup's probe tags were written by version 2 of kind 'probe_tag' (pack probe), newer than "
                           "the installed version 1, which cannot read them safely; upgrade the pack (probe). Skipped")
        drift = data(await client.call_tool("drift_check", {"baseline": "v2", "workspaces": ["law-northwind"]}))
        assert "probe_tag" in drift["notes"]["skipped_kinds"]


async def test_backup_list_shows_every_backup_with_its_state(call, export_dir, emulator_faults) -> None:
    data(await call("backup_export", workspace="law-northwind", kinds=["automation_rule"], path="backups/good"))
    emulator_faults.add_fault(match={"path": "/automationRules$", "tenant": "tailspin", "method": "GET"}, status=403)
    data(await call("backup_export", tenant="tailspin", kinds=["automation_rule"], path="backups/partial"))
    (export_dir / "backups" / "junk").mkdir()
    (export_dir / "backups" / "junk" / "manifest.json").write_text('{"format": "sentinelkit-backup"')
    (export_dir / "tables" / "x").mkdir(parents=True)
    (export_dir / "tables" / "x" / "manifest.json").write_text('{"workspace": "a table export, not a backup"}')
    listed = data(await call("backup_list", fields=["backup", "status", "workspaces", "kinds", "failures", "tenants"]))
    by_name = {b["backup"]: b for b in listed["backups"]}
    assert set(by_name) == {"backups/good", "backups/partial", "backups/junk"}
    assert by_name["backups/good"]["status"] == "complete" and by_name["backups/good"]["tenants"] == ["northwind"]
    assert by_name["backups/good"]["kinds"] == {"automation_rule": 2}
    assert by_name["backups/partial"]["status"] == "partial" and by_name["backups/partial"]["failures"] == 1
    assert by_name["backups/junk"]["status"] == "unusable"
