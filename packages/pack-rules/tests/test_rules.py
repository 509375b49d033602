"""Analytics rules through a real MCP client: listing with failing runs flagged, one rule with its template,
enable/disable/delete with etags and confirmation — cross-checked with azure-mgmt-securityinsight."""

from __future__ import annotations

from rules_testkit import failure, out


async def test_list_matches_the_sdk_and_flags_the_rules_whose_last_runs_failed(call, si) -> None:
    listed = out(await call("rule_list", workspace="law-fabrikam-prod", fields=["*"], limit=100))
    client, rg, ws = si("fabrikam")
    sdk = {r.name: r for r in client.alert_rules.list(rg, ws)}
    assert {r["name"] for r in listed["rules"]} == set(sdk)
    for row in listed["rules"]:
        assert row["kind"] == sdk[row["name"]].kind
        assert row["enabled"] == sdk[row["name"]].properties.get("enabled")
    failing = [r for r in listed["rules"] if r["failing"]]
    assert [r["display_name"] for r in failing] == ["Suspicious PowerShell download cradle"]
    assert failing[0]["last_run"]["last_status"] == "Failure" and failing[0]["last_run"]["failures_24h"] >= 1
    assert "DeviceProcessEvents" in failing[0]["last_run"]["last_message"]
    assert listed["failing"] == 1


async def test_list_across_tenants_with_filters(call) -> None:
    failing = out(await call("rule_list", failing=True))
    assert {(r["workspace"], r["display_name"]) for r in failing["rules"]} == {
        ("law-fabrikam-prod", "Suspicious PowerShell download cradle"),
        ("law-tailspin", "AUTO DISABLED Brute force against Azure Portal")}
    disabled = out(await call("rule_list", workspace="law-fabrikam-prod", enabled=False))
    assert {r["display_name"] for r in disabled["rules"]} == {"Rare RDP connections", "Mass download from SharePoint"}
    fusion = out(await call("rule_list", kind="Fusion", fields=["workspace", "name"]))
    assert {r["name"] for r in fusion["rules"]} == {"BuiltInFusion"} and fusion["workspaces"] == fusion["count"]
    creds = out(await call("rule_list", workspace="law-northwind", technique="T1110", tactic="CredentialAccess",
                           fields=["techniques", "tactics"]))
    assert creds["rules"] and all("CredentialAccess" in r["tactics"] and "T1110" in r["techniques"]
                                  for r in creds["rules"])


async def test_get_shows_the_query_and_its_template(call, si) -> None:
    rule = out(await call("rule_get", workspace="law-tailspin", rule="AUTO DISABLED Brute force against Azure Portal"))
    client, rg, ws = si("tailspin")
    sdk = client.alert_rules.get(rg, ws, rule["name"])
    assert rule["query"] == sdk.properties["query"] and rule["etag"] == sdk.etag
    assert rule["failing"] is True and "auto_disabled" in rule
    assert rule["template"]["display_name"] == "Brute force attack against Azure Portal"
    missing = failure(await call("rule_get", workspace="law-tailspin", rule="Brute forse against the portal"))
    assert "no analytics rule 'Brute forse against the portal'" in missing and "law-tailspin" in missing


async def test_disable_asks_first_then_enable_validates_and_both_use_the_etag(call, si, audit, restore) -> None:
    client, rg, ws = si("northwind")
    before = next(r for r in client.alert_rules.list(rg, ws) if r.properties.get("displayName") == "Rare RDP connections")
    preview = out(await call("rule_disable", workspace="law-northwind", rule="Rare RDP connections"))
    assert preview["confirmation_required"] is True
    assert client.alert_rules.get(rg, ws, before.name).properties["enabled"] is True
    done = out(await call("rule_disable", workspace="law-northwind", rule=before.name, confirm=True))
    after = client.alert_rules.get(rg, ws, before.name)
    assert done["changed"] is True and after.properties["enabled"] is False and after.etag != before.etag
    assert audit()[-1]["tool"] == "rule_disable" and audit()[-1]["outcome"] == "applied"
    stale = failure(await call("rule_enable", workspace="law-northwind", rule=before.name, etag=before.etag))
    assert "changed since you read it" in stale and client.alert_rules.get(rg, ws, before.name).properties["enabled"] is False
    enabled = out(await call("rule_enable", workspace="law-northwind", rule=before.name, etag=after.etag))
    assert enabled["changed"] is True and enabled["validation"]["engine"] == "microsoft"
    assert client.alert_rules.get(rg, ws, before.name).properties["enabled"] is True
    again = out(await call("rule_enable", workspace="law-northwind", rule=before.name))
    assert again["changed"] is False and "already enabled" in again["message"]


async def test_enabling_the_auto_disabled_rule_restores_its_name(call, si, restore) -> None:
    done = out(await call("rule_enable", workspace="law-tailspin", rule="AUTO DISABLED Brute force against Azure Portal"))
    client, rg, ws = si("tailspin")
    rule = client.alert_rules.get(rg, ws, done["rule"]["name"])
    assert rule.properties["enabled"] is True and rule.properties["displayName"] == "Brute force against Azure Portal"
    assert "AUTO DISABLED" in done["notes"][0]


async def test_delete_previews_the_rule_then_removes_it(call, si, restore) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    client, rg, ws = si("tailspin")
    target = next(r for r in client.alert_rules.list(rg, ws) if r.kind == "Scheduled")
    preview = out(await call("rule_delete", workspace="law-tailspin", rule=target.name))
    kept = preview["would_change"]["changes"]["body"]["properties"]
    assert preview["confirmation_required"] is True and kept["query"] == target.properties["query"]
    done = out(await call("rule_delete", workspace="law-tailspin", rule=target.name, confirm=True))
    assert done["deleted"] == target.name
    try:
        client.alert_rules.get(rg, ws, target.name)
        raise AssertionError("the rule is still there")
    except ResourceNotFoundError:
        pass
