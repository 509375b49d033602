"""drift_check and drift_fix through a real MCP client against the emulator: after a backup of every kind of
every workspace, a changed, an added and a deleted object (and a third-party kind's object) are exactly what
drift finds; drift_fix puts them back through the restore path; against a golden workspace, the summary says
which customers lack what — checked against Microsoft's SDK."""

from __future__ import annotations

from backup_testkit import WORKSPACES, data


async def test_drift_finds_exactly_what_changed_since_the_backup_and_drift_fix_puts_it_back(call, export_dir, si,
                                                                                           restore) -> None:
    data(await call("backup_export", path="baseline"))
    northwind, nrg, nws = si("law-northwind")
    rule = next(r for r in northwind.alert_rules.list(nrg, nws) if r.kind == "Scheduled" and r.enabled)
    severity = rule.severity
    rule.severity = "Informational" if severity != "Informational" else "Low"
    northwind.alert_rules.create_or_update(nrg, nws, rule.name, rule)
    tailspin, trg, tws = si("law-tailspin")
    added = next(r for r in tailspin.alert_rules.list(trg, tws) if r.kind == "Scheduled")
    added.display_name, added.etag = "Added after the baseline", None
    tailspin.alert_rules.create_or_update(trg, tws, "added-after-the-baseline", added)
    fabrikam, frg, fws = si("law-fabrikam-prod")
    gone = next(iter(fabrikam.watchlists.list(frg, fws))).watchlist_alias
    fabrikam.watchlists.begin_delete(frg, fws, gone).result()
    data(await call("sample_tag_set", workspace="law-woodgrove", tag="added", value="after the baseline"))

    found = data(await call("drift_check", baseline="baseline", limit=200))
    rows = {(r["workspace"], r["kind"], r["name"], r["state"]) for r in found["drift"]}
    assert rows == {("law-northwind", "analytics_rule", rule.display_name, "different"),
                    ("law-tailspin", "analytics_rule", "Added after the baseline", "extra"),
                    ("law-fabrikam-prod", "watchlist", gone, "missing"),
                    ("law-woodgrove", "sample_tag", "added", "extra")}
    different = next(r for r in found["drift"] if r["state"] == "different")
    assert different["fields"] == ["properties.severity"]
    assert "errors" not in found and found["workspaces"]["law-contoso-soc"] == {
        "missing": 0, "extra": 0, "different": 0, "same": found["workspaces"]["law-contoso-soc"]["same"]}
    assert f"watchlists: 1 customer (law-fabrikam-prod) lack {gone!r}" in found["summary"]
    assert (f"analytics rules: {rule.display_name!r} differs from the baseline in 1 customer (law-northwind): "
            "properties.severity") in found["summary"]

    asked = data(await call("drift_fix", baseline="baseline", prune=True))
    assert asked["confirmation_required"] is True and "2 delete" in asked["would_change"]["summary"]
    fixed = data(await call("drift_fix", baseline="baseline", prune=True, confirm=True))
    assert fixed["counts"]["create"] == 1 and fixed["counts"]["update"] == 1 and fixed["counts"]["delete"] == 2
    assert "errors" not in fixed
    assert data(await call("drift_check", baseline="baseline"))["drift"] == []
    assert northwind.alert_rules.get(nrg, nws, rule.name).severity == severity
    assert "Added after the baseline" not in {r.display_name for r in tailspin.alert_rules.list(trg, tws)}
    assert gone in {w.watchlist_alias for w in fabrikam.watchlists.list(frg, fws)}


async def test_drift_against_a_golden_workspace_says_which_customers_lack_what(call, si) -> None:
    found = data(await call("drift_check", golden="law-contoso-soc", kinds=["analytics_rule"], limit=500))
    assert found["baseline"] == "workspace law-contoso-soc" and "law-contoso-soc" not in found["workspaces"]

    def names(workspace: str) -> set[str]:
        client, rg, ws = si(workspace)
        return {r.as_dict().get("display_name") or r.properties["displayName"] for r in client.alert_rules.list(rg, ws)}

    golden = names("law-contoso-soc")
    lacking: dict[str, list[str]] = {}
    for workspace in sorted(w for w in WORKSPACES if w != "law-contoso-soc"):
        for name in sorted(golden - names(workspace)):
            lacking.setdefault(name, []).append(workspace)
    assert lacking, "the scenario's golden workspace has rules some customers lack"
    for name, where in lacking.items():
        noun = "customer" if len(where) == 1 else "customers"
        assert f"analytics rules: {len(where)} {noun} ({', '.join(where)}) lack {name!r}" in found["summary"]
    missing_rows = {(r["workspace"], r["name"]) for r in found["drift"] if r["state"] == "missing"}
    assert missing_rows == {(w, name) for name, where in lacking.items() for w in where}


async def test_drift_fix_from_a_golden_workspace_creates_what_a_customer_lacks(call, si, restore) -> None:
    preview = data(await call("drift_fix", golden="law-contoso-soc", kinds=["automation_rule"],
                              workspaces=["law-woodgrove"], dry_run=True))
    plan = preview["would_change"]["changes"]["plans"]["law-woodgrove"]
    creates = sorted(r["name"] for r in plan["objects"] if r["action"] == "create")
    assert creates and plan["from"] == "law-contoso-soc (tenant contoso-mssp)"
    data(await call("drift_fix", golden="law-contoso-soc", kinds=["automation_rule"], workspaces=["law-woodgrove"]))
    client, rg, ws = si("law-woodgrove")
    assert set(creates) <= {r.display_name for r in client.automation_rules.list(rg, ws)}
    again = data(await call("drift_check", golden="law-contoso-soc", kinds=["automation_rule"],
                            workspaces=["law-woodgrove"]))
    assert [r for r in again["drift"] if r["state"] != "extra"] == []
