"""backup_diff through a real MCP client against the emulator: two backups, and a backup against the live
workspace, give per kind the objects added, removed and changed, with field-level differences."""

from __future__ import annotations

from backup_testkit import data, error


async def test_two_backups_and_a_backup_against_live_show_field_level_changes(call, export_dir, si, restore) -> None:
    data(await call("backup_export", workspace="law-northwind", kinds=["analytics_rule", "watchlist"], path="one"))
    client, rg, ws = si("law-northwind")
    rule = next(r for r in client.alert_rules.list(rg, ws) if r.kind == "Scheduled")
    old_query, old_severity = rule.query, rule.severity
    rule.query = old_query + "\n| where isnotempty(Computer)"
    rule.severity = "High" if old_severity != "High" else "Medium"
    client.alert_rules.create_or_update(rg, ws, rule.name, rule)
    gone = next(iter(client.watchlists.list(rg, ws))).watchlist_alias
    client.watchlists.begin_delete(rg, ws, gone).result()
    data(await call("backup_export", workspace="law-northwind", kinds=["analytics_rule", "watchlist"], path="two"))

    between = data(await call("backup_diff", backup="one", other="two"))
    live = data(await call("backup_diff", backup="one", workspace="law-northwind"))
    for answer, label in ((between, "northwind/law-northwind"), (live, "law-northwind")):
        rows = {(r["kind"], r["name"], r["change"]): r for r in answer["differences"]}
        assert set(rows) == {("analytics_rule", rule.display_name, "changed"), ("watchlist", gone, "removed")}
        changed = rows["analytics_rule", rule.display_name, "changed"]["differences"]
        assert {d["path"]: (d["before"], d["after"]) for d in changed} == {
            "properties.query": (old_query, rule.query), "properties.severity": (old_severity, rule.severity)}
        assert answer["summary"][label]["analytics_rule"]["changed"] == 1
        assert answer["summary"][label]["watchlist"] == {"added": 0, "removed": 1, "changed": 0,
                                                         "unchanged": answer["summary"][label]["watchlist"]["unchanged"]}

    same = data(await call("backup_diff", backup="two", workspace="law-northwind"))
    assert same["differences"] == [] and same["summary"] == "no differences"
    narrowed = data(await call("backup_diff", backup="one", workspace="law-northwind", names=[gone]))
    assert [(r["name"], r["change"]) for r in narrowed["differences"]] == [(gone, "removed")]


async def test_a_backup_compared_with_another_workspace_is_pointed_at_it_first(call, export_dir) -> None:
    data(await call("backup_export", workspace="law-northwind", kinds=["data_collection_rule"], path="nw"))
    other = data(await call("backup_diff", backup="nw", workspace="law-tailspin"))
    rows = {(r["name"], r["change"]) for r in other["differences"]}
    assert ("dcr-northwind-windows-security", "removed") in rows and ("dcr-tailspin-syslog", "added") in rows
    assert "give either `other`" in error(await call("backup_diff", backup="nw"))
