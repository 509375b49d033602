"""backup_restore through a real MCP client against the emulator, cross-checked with Microsoft's SDKs: a backup of
one tenant's workspace restored into a fresh workspace of another tenant reproduces its content (the sample
third-party kind too); a restore into the workspace it came from plans create / update / conflict / extra,
deletes only with prune and overwrites a change only when asked (both confirmed like a delete); per-object
failures in the answer and in the audit record; a tenant's content never goes to the wrong workspace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from backup_testkit import data, error, manifest
from fastmcp import Client

FRESH = "law-restored"


@pytest.fixture
def fresh_workspace(emulator: Any, sdk: Any) -> Iterator[str]:
    """A new Sentinel workspace in fabrikam's subscription (another tenant than northwind's); the scenario after."""
    from azure.mgmt.loganalytics import LogAnalyticsManagementClient
    from azure.mgmt.loganalytics.models import Workspace
    from azure.mgmt.securityinsight import SecurityInsightsMgmtClient

    created = sdk(LogAnalyticsManagementClient, "fabrikam").workspaces.begin_create_or_update(
        "rg-sentinel", FRESH, Workspace(location="westeurope")).result()
    sdk(SecurityInsightsMgmtClient, "fabrikam").sentinel_onboarding_states.create("rg-sentinel", FRESH, "default",
                                                                                 {"properties": {}})
    try:
        yield str(created.id)
    finally:
        emulator.reset()


def _rules(client: Any, rg: str, ws: str) -> dict[str, dict[str, Any]]:
    """Analytics rules by display name, as Microsoft's SDK reads them (what a restore must reproduce)."""
    out = {}
    for r in client.alert_rules.list(rg, ws):
        d = r.as_dict()
        out[d.get("display_name") or d["properties"]["displayName"]] = {
            k: d.get(k) for k in ("kind", "query", "severity", "enabled", "tactics", "query_frequency",
                                  "query_period", "trigger_operator", "trigger_threshold", "description",
                                  "product_filter", "alert_rule_template_name")}
    return out


async def test_a_fresh_workspace_of_another_tenant_gets_the_content_of_the_backup(server, export_dir, fresh_workspace,
                                                                                  sdk, emulator) -> None:
    from azure.mgmt.loganalytics import LogAnalyticsManagementClient
    from azure.mgmt.monitor import MonitorManagementClient
    from azure.mgmt.securityinsight import SecurityInsightsMgmtClient

    async with Client(server()) as client:
        async def call(tool: str, **args: Any) -> Any:
            return data(await client.call_tool(tool, args, raise_on_error=False))

        await call("sample_tag_set", workspace="law-northwind", tag="owner", value="northwind-soc")
        exported = await call("backup_export", workspace="law-northwind", path="nw")
        assert {"workbook", "sample_tag", "data_collection_rule"} <= set(exported["kinds"])
        preview = await call("backup_restore", backup="nw", workspace=FRESH, dry_run=True)
        plan = preview["would_change"]["changes"]["plans"][FRESH]
        assert plan["from"] == "law-northwind (tenant northwind)" and plan["cross_tenant"] is True
        assert plan["counts"]["create"] > 20
        assert not [r for r in plan["objects"] if r.get("removes")]  # the fresh workspace keeps 30 days: raised only
        done = await call("backup_restore", backup="nw", workspace=FRESH)
        result = done["results"][FRESH]
        failed = {(r["kind"], r["name"]): r["error"] for r in result["failed"]}
        assert set(failed) == {("data_collection_rule", "dcr-northwind-linux-syslog"),
                               ("analytics_rule", "Key Vault secrets accessed by unusual identity")}
        assert "dce-northwind does not exist" in failed["data_collection_rule", "dcr-northwind-linux-syslog"]
        assert "identity_claim_upn_s" in failed["analytics_rule", "Key Vault secrets accessed by unusual identity"]
        again = await call("backup_restore", backup="nw", workspace=FRESH, dry_run=True)
        assert again["would_change"]["changes"]["plans"][FRESH]["counts"] == {"create": 2,
                                                                             "unchanged": exported["objects"] - 2}
        tags = await call("sample_tags_get", workspace=FRESH)
        assert tags["tags"]["owner"] == "northwind-soc"  # the third-party kind, restored by a pack that never heard of it

    nw, fb = sdk(SecurityInsightsMgmtClient, "northwind"), sdk(SecurityInsightsMgmtClient, "fabrikam")
    source, copy = _rules(nw, "rg-security", "law-northwind"), _rules(fb, "rg-sentinel", FRESH)
    source.pop("Key Vault secrets accessed by unusual identity")
    assert copy == source
    fabrikam_rg = f"/subscriptions/{emulator.tenant('fabrikam')['subscriptions'][0]['id']}/resourceGroups/rg-sentinel/"
    notify = next(r for r in fb.automation_rules.list("rg-sentinel", FRESH) if r.display_name == "Notify SOC on high severity")
    action = notify.actions[0]
    assert action.action_configuration.logic_app_resource_id.lower().startswith(fabrikam_rg.lower())
    assert action.action_configuration.tenant_id == emulator.tenant("fabrikam")["id"]
    assert {w.watchlist_alias: sorted(json.dumps(i.items_key_value, sort_keys=True)
                                      for i in nw.watchlist_items.list("rg-security", "law-northwind", w.watchlist_alias))
            for w in nw.watchlists.list("rg-security", "law-northwind")} == {
        w.watchlist_alias: sorted(json.dumps(i.items_key_value, sort_keys=True)
                                  for i in fb.watchlist_items.list("rg-sentinel", FRESH, w.watchlist_alias))
        for w in fb.watchlists.list("rg-sentinel", FRESH)}
    la_nw, la_fb = sdk(LogAnalyticsManagementClient, "northwind"), sdk(LogAnalyticsManagementClient, "fabrikam")

    def searches(client: Any, rg: str, ws: str) -> set[tuple[Any, ...]]:
        return {(s.category, s.display_name, s.query, s.function_alias)
                for s in client.saved_searches.list_by_workspace(rg, ws).value}

    assert searches(la_fb, "rg-sentinel", FRESH) == searches(la_nw, "rg-security", "law-northwind")
    for table in ("VpnSessions_CL", "LegacyInventory_CL"):
        a, b = la_nw.tables.get("rg-security", "law-northwind", table), la_fb.tables.get("rg-sentinel", FRESH, table)
        assert [(c.name, c.type) for c in a.schema.columns] == [(c.name, c.type) for c in b.schema.columns]
        assert a.plan == b.plan and a.retention_in_days_as_default and b.retention_in_days_as_default  # each its default
    assert la_fb.tables.get("rg-sentinel", FRESH, "SecurityEvent").retention_in_days == 30
    from azure.mgmt.applicationinsights import ApplicationInsightsManagementClient

    def workbooks(tenant: str, rg: str, workspace_id: str) -> dict[str, Any]:
        client = sdk(ApplicationInsightsManagementClient, tenant)
        return {w.display_name: client.workbooks.get(rg, w.name, can_fetch_content=True)
                for w in client.workbooks.list_by_resource_group(rg, category="sentinel")
                if w.source_id.lower() == workspace_id.lower()}

    northwind_id = next(w["id"] for w in emulator.info["workspaces"] if w["name"] == "law-northwind")
    books, copies = workbooks("northwind", "rg-security", northwind_id), workbooks("fabrikam", "rg-sentinel", fresh_workspace)
    assert set(copies) == set(books) and books
    for name, book in books.items():
        assert json.loads(copies[name].serialized_data) == json.loads(
            book.serialized_data.replace(northwind_id, fresh_workspace))
    monitor = sdk(MonitorManagementClient, "fabrikam")
    delivering = {r.name: r for r in monitor.data_collection_rules.list_by_resource_group("rg-sentinel")
                  if any(d.workspace_resource_id.lower() == fresh_workspace.lower()
                         for d in r.destinations.log_analytics or [])}
    assert set(delivering) == {"dcr-northwind-windows-security", "dcr-northwind-logs-ingestion"}
    assert delivering["dcr-northwind-windows-security"].data_flows[0].destinations == ["lawrestored"]


async def test_a_restore_into_its_own_workspace_plans_conflicts_and_deletes_only_when_asked(call, export_dir, si,
                                                                                           audit_records, restore) -> None:
    client, rg, ws = si("law-tailspin")
    data(await call("backup_export", workspace="law-tailspin", kinds=["analytics_rule", "automation_rule"], path="ts"))
    rules = list(client.alert_rules.list(rg, ws))
    changed = next(r for r in rules if r.kind == "Scheduled" and r.enabled)
    changed.severity = "Informational" if changed.severity != "Informational" else "Low"
    client.alert_rules.create_or_update(rg, ws, changed.name, changed)
    removed = next(iter(client.automation_rules.list(rg, ws)))
    client.automation_rules.delete(rg, ws, removed.name)
    extra = next(r for r in rules if r.kind == "Scheduled" and r.name != changed.name)
    extra.display_name, extra.etag = "Made after the backup", None
    client.alert_rules.create_or_update(rg, ws, "made-after-the-backup", extra)

    plan = data(await call("backup_restore", backup="ts", dry_run=True))["would_change"]["changes"]["plans"]["law-tailspin"]
    rows = {(r["kind"], r["name"]): r for r in plan["objects"]}
    assert {k: r["action"] for k, r in rows.items()} == {
        ("analytics_rule", changed.display_name): "conflict", ("automation_rule", removed.display_name): "create",
        ("analytics_rule", "Made after the backup"): "extra"}
    assert rows["analytics_rule", changed.display_name]["fields"] == ["properties.severity"]

    applied = data(await call("backup_restore", backup="ts"))  # additive: no confirmation asked
    assert applied["results"]["law-tailspin"]["results"] == {"created": 1}
    assert removed.display_name in {r.display_name for r in client.automation_rules.list(rg, ws)}
    assert client.alert_rules.get(rg, ws, changed.name).severity == changed.severity  # the conflict was left alone
    assert audit_records()[-1]["outcome"] == "applied"

    asked = data(await call("backup_restore", backup="ts", overwrite_changed=True))
    assert asked["confirmation_required"] is True and "overwrites changes made since the backup" in asked["would_change"]["summary"]
    data(await call("backup_restore", backup="ts", overwrite_changed=True, confirm=True))
    assert client.alert_rules.get(rg, ws, changed.name).severity != changed.severity

    asked = data(await call("backup_restore", backup="ts", prune=True))
    assert asked["confirmation_required"] is True and "1 delete" in asked["would_change"]["summary"]
    pruned = data(await call("backup_restore", backup="ts", prune=True, confirm=True))
    assert pruned["results"]["law-tailspin"]["objects"] == [
        {"kind": "analytics_rule", "name": "Made after the backup", "action": "delete", "result": "deleted"}]
    assert "Made after the backup" not in {r.display_name for r in client.alert_rules.list(rg, ws)}
    record = audit_records()[-1]
    assert record["tool"] == "backup_restore" and record["outcome"] == "applied" and record["confirmed_by"] == "confirm_flag"


async def test_a_restore_that_lowers_retention_asks_first(call, export_dir) -> None:
    data(await call("backup_export", workspace="law-northwind", kinds=["table"], path="nw"))
    asked = data(await call("backup_restore", backup="nw", workspace="law-woodgrove", names=["SecurityEvent"]))
    assert asked["confirmation_required"] is True
    (row,) = asked["would_change"]["changes"]["plans"]["law-woodgrove"]["objects"]
    assert row["action"] == "update" and row["removes"] == [
        "table SecurityEvent: interactive retention 365 → 30 days",
        "table SecurityEvent: total retention 2556 days → the workspace's default (lower, if it is below 2556)"]
    assert "removes or lowers table SecurityEvent: interactive retention 365 → 30 days" in asked["would_change"]["summary"]


async def test_objects_that_fail_are_reported_one_by_one_and_in_the_audit_record(call, export_dir, si, audit_records,
                                                                                  restore) -> None:
    data(await call("backup_export", workspace="law-tailspin", kinds=["analytics_rule"], path="ts"))
    folder = export_dir / "ts" / "tailspin" / "law-tailspin" / "analytics_rule"
    scheduled = [f for f in sorted(folder.glob("*.json")) if json.loads(f.read_text()).get("kind") == "Scheduled"
                 and "Key Vault" not in f.name]  # that rule's query reads a column law-tailspin lacks: never saved
    victim = scheduled[0]
    broken = json.loads(victim.read_text())
    broken["properties"]["severity"] = "Catastrophic"  # a person edits the file: the service refuses it
    victim.write_text(json.dumps(broken, indent=2, sort_keys=True) + "\n")
    other = scheduled[1]
    edited = json.loads(other.read_text())
    edited["properties"]["description"] = "Reviewed by the SOC."
    other.write_text(json.dumps(edited, indent=2, sort_keys=True) + "\n")

    done = data(await call("backup_restore", backup="ts"))
    result = done["results"]["law-tailspin"]
    assert result["results"] == {"updated": 1, "failed": 1}
    (failure,) = result["failed"]
    assert failure["name"] == broken["properties"]["displayName"] and "Catastrophic" in failure["error"]
    record = audit_records()[-1]
    assert record["outcome"] == "partial" and broken["properties"]["displayName"] in record["error"]
    client, rg, ws = si("law-tailspin")
    assert {r.display_name: r.description for r in client.alert_rules.list(rg, ws)}[
        edited["properties"]["displayName"]] == "Reviewed by the SOC."


async def test_each_workspace_of_a_backup_goes_back_to_its_own_workspace_only(call, export_dir, emulator,
                                                                               restore) -> None:
    untouched = data(await call("sample_tags_get", workspace="law-fabrikam-prod"))["tags"]
    for ws, value in (("law-northwind", "nw"), ("law-tailspin", "ts")):
        data(await call("sample_tag_set", workspace=ws, tag="owner", value=value))
    data(await call("backup_export", workspaces=["law-northwind", "law-tailspin"], kinds=["sample_tag"], path="two"))
    for ws in ("law-northwind", "law-tailspin"):
        data(await call("sample_tag_remove", workspace=ws, tag="owner", confirm=True))

    ambiguous = error(await call("backup_restore", backup="two", workspace="law-fabrikam-prod"))
    assert "holds 2 workspaces: name the one to use as `source`" in ambiguous
    assert "northwind/law-northwind" in ambiguous and "tailspin/law-tailspin" in ambiguous

    done = data(await call("backup_restore", backup="two"))
    assert set(done["results"]) == {"law-northwind", "law-tailspin"}
    assert data(await call("sample_tags_get", workspace="law-northwind"))["tags"]["owner"] == "nw"
    assert data(await call("sample_tags_get", workspace="law-tailspin"))["tags"]["owner"] == "ts"
    assert data(await call("sample_tags_get", workspace="law-fabrikam-prod"))["tags"] == untouched


async def test_what_would_carry_a_tenants_ids_into_another_tenant_is_blocked(call, export_dir, emulator, si,
                                                                             restore) -> None:
    northwind = emulator.tenant("northwind")
    elsewhere = (f"/subscriptions/{northwind['subscriptions'][0]['id']}/resourceGroups/rg-playbooks/providers/"
                 "Microsoft.Logic/workflows/Escalate")
    data(await call("automation_rule_create", workspace="law-northwind", display_name="Escalate via the shared playbook",
                    severity=["High"], run_playbook=elsewhere, playbook_tenant=northwind["id"]))
    data(await call("backup_export", workspace="law-northwind", kinds=["automation_rule"], path="nw"))
    plan = data(await call("backup_restore", backup="nw", workspace="law-fabrikam-prod", dry_run=True))
    rows = {r["name"]: r for r in plan["would_change"]["changes"]["plans"]["law-fabrikam-prod"]["objects"]}
    blocked = rows["Escalate via the shared playbook"]
    assert blocked["action"] == "blocked"
    assert f"subscription {northwind['subscriptions'][0]['id']} of tenant northwind" in blocked["reason"]
    assert "would hand one tenant's ids to another" in blocked["reason"]
    assert all(r["action"] != "blocked" for name, r in rows.items() if name != "Escalate via the shared playbook")
    data(await call("backup_restore", backup="nw", workspace="law-fabrikam-prod"))
    client, rg, ws = si("law-fabrikam-prod")
    rules = {r.display_name: r for r in client.automation_rules.list(rg, ws)}
    assert "Escalate via the shared playbook" not in rules
    playbook = rules["Notify SOC on high severity"].actions[0].action_configuration  # beside the workspace: rewritten
    assert emulator.tenant("fabrikam")["subscriptions"][0]["id"] in playbook.logic_app_resource_id


async def test_a_read_only_tenant_is_never_written(server, export_dir, sentinelkit_env, tmp_path, si, restore) -> None:
    text = open(sentinelkit_env["SENTINELKIT_CONFIG"]).read().replace("[tenants.fabrikam]\n",
                                                                        '[tenants.fabrikam]\nallow = "read_only"\n')
    config = tmp_path / "policy.toml"
    config.write_text(text)
    fabrikam, rg, ws = si("law-fabrikam-prod")
    before = {r.name: r.etag for r in fabrikam.automation_rules.list(rg, ws)}
    async with Client(server(config=config)) as client:
        async def call(tool: str, **args: Any) -> Any:
            return await client.call_tool(tool, args, raise_on_error=False)

        data(await call("backup_export", workspace="law-northwind", kinds=["automation_rule"], path="nw"))
        refused = error(await call("backup_restore", backup="nw", workspace="law-fabrikam-prod"))
        assert "read-only by policy ([tenants.fabrikam] allow = \"read_only\"" in refused and "nothing was changed" in refused
        fixed = data(await call("drift_fix", golden="law-northwind", kinds=["automation_rule"],
                                workspaces=["law-fabrikam-prod", "law-tailspin"]))
        assert "read-only by policy" in fixed["errors"]["law-fabrikam-prod"]
        assert set(fixed["results"]) == {"law-tailspin"}
    assert {r.name: r.etag for r in fabrikam.automation_rules.list(rg, ws)} == before
    northwind, nrg, nws = si("law-northwind")
    tailspin, trg, tws = si("law-tailspin")
    assert {r.display_name for r in northwind.automation_rules.list(nrg, nws)} <= {
        r.display_name for r in tailspin.automation_rules.list(trg, tws)}


async def test_the_manifest_records_what_a_restore_needs(call, export_dir) -> None:
    data(await call("backup_export", workspace="law-northwind", kinds=["sample_tag"], path="nw"))
    (entry,) = manifest(export_dir / "nw")["workspaces"]
    assert entry["folder"] == "northwind/law-northwind" and entry["tenant"] == "northwind"
    assert entry["customer_id"] and entry["location"] == "northeurope" and entry["resource_group"] == "rg-security"
