"""Templates with newer versions, and deploying one rule to many workspaces and tenants: a plan per workspace,
one confirmation, per-workspace results — cross-checked with azure-mgmt-securityinsight in every tenant."""

from __future__ import annotations

from rules_testkit import out

CHECKOUT_RULE = """id: 6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b
name: Checkout failures burst
version: 1.0.0
kind: Scheduled
description: Many failed checkouts from one client in an hour.
severity: Medium
queryFrequency: 1h
queryPeriod: 1h
triggerOperator: gt
triggerThreshold: 0
tactics:
  - Impact
relevantTechniques:
  - T1499
query: |
  CheckoutEvents_CL
  | summarize Events = count() by bin(TimeGenerated, 1h)
  | where Events > 1000
"""
TENANT_OF = {"law-contoso-soc": "contoso-mssp", "law-fabrikam-prod": "fabrikam", "law-northwind": "northwind",
             "law-tailspin": "tailspin"}


async def test_template_updates_say_what_the_new_version_changes(call, si, restore) -> None:
    from azure.mgmt.securityinsight import models

    created = out(await call("rule_create", workspace="law-tailspin", template="Rare and potentially high-risk "
                             "Office operations", enabled=False))
    client, rg, ws = si("tailspin")
    old = client.alert_rules.get(rg, ws, created["rule"]["name"]).as_dict()
    old["properties"].update({"templateVersion": "1.0.1", "query": "OfficeActivity | where Operation =~ 'Set-Mailbox'",
                              "severity": "Medium"})
    client.alert_rules.create_or_update(rg, ws, created["rule"]["name"], models.ScheduledAlertRule(old))
    listed = out(await call("rule_template_list", workspace="law-tailspin", status="update_available"))
    assert [t["display_name"] for t in listed["templates"]] == ["Rare and potentially high-risk Office operations"]
    changed = listed["templates"][0]["changes"][created["rule"]["name"]]
    assert {c["field"] for c in changed} == {"query", "severity"}
    assert next(c for c in changed if c["field"] == "severity") == {"field": "severity", "before": "Medium",
                                                                    "after": "Low"}
    shown = out(await call("rule_get", workspace="law-tailspin", rule=created["rule"]["name"]))
    assert shown["template"]["newer_version"] is True and shown["template"]["version"] == "1.0.3"
    for row in listed["templates"]:
        template = client.alert_rule_templates.get(rg, ws, row["name"])
        for rule in row["rules"]:
            sdk = client.alert_rules.get(rg, ws, rule["name"])
            assert sdk.properties["templateVersion"] == rule["version"] != template.properties["version"]
            fields = {c["field"] for c in row["changes"][rule["name"]]}
            differs = {f for f in ("query", "severity", "queryFrequency", "queryPeriod")
                       if sdk.properties.get(f) != template.properties.get(f)}
            assert differs <= fields
    every = out(await call("rule_template_list", workspace="law-tailspin", limit=100))
    gallery = list(client.alert_rule_templates.list(rg, ws))
    assert every["total"] == len(gallery)


async def test_deploy_skips_workspaces_lacking_the_table_and_reports_them(call, si, restore) -> None:
    preview = out(await call("rule_deploy", yaml=CHECKOUT_RULE))
    plan = preview["would_change"]["changes"]["plan"]
    assert plan["law-tailspin"]["action"] == "create"
    others = {k: v for k, v in plan.items() if k != "law-tailspin"}
    assert others and all(v["action"] == "skip" and v["missing_tables"] == ["CheckoutEvents_CL"]
                          for v in others.values())
    done = out(await call("rule_deploy", yaml=CHECKOUT_RULE, confirm=True))
    assert done["deployed"] == 1 and done["results"]["law-tailspin"]["result"] == "created"
    assert done["results"]["law-northwind"]["result"] == "skip"
    for workspace, tenant in TENANT_OF.items():
        client, rg, ws = si(tenant)
        names = {r.properties.get("displayName") for r in client.alert_rules.list(rg, ws)}
        assert ("Checkout failures burst" in names) == (workspace == "law-tailspin"), workspace


async def test_deploy_a_template_everywhere_with_conflicts_and_then_nothing_to_do(call, si, restore) -> None:
    template = "Mass download from SharePoint"
    preview = out(await call("rule_deploy", template=template))
    plan = preview["would_change"]["changes"]["plan"]
    assert preview["confirmation_required"] is True
    assert plan["law-fabrikam-prod"]["action"] == "conflict"  # a rule of that name (disabled) is left alone
    assert "already has the display name" in plan["law-fabrikam-prod"]["reason"]
    created = sorted(k for k, v in plan.items() if v["action"] == "create")
    assert created
    done = out(await call("rule_deploy", template=template, confirm=True))
    assert sorted(k for k, v in done["results"].items() if v["result"] == "created") == created
    for workspace in created:
        client, rg, ws = si(TENANT_OF[workspace])
        rule = client.alert_rules.get(rg, ws, done["rule"])
        assert rule.properties["displayName"] == template and rule.properties["alertRuleTemplateName"]
    again = out(await call("rule_deploy", template=template))
    assert again["deployed"] == 0 and set(again["summary"]) <= {"unchanged", "conflict"}
    out(await call("rule_update", workspace=created[0], rule=done["rule"], severity="Low"))  # someone changed it
    drift = out(await call("rule_deploy", template=template, dry_run=True))
    plan = drift["would_change"]["changes"]["plan"]
    assert plan[created[0]]["action"] == "update"
    assert plan[created[0]]["changes"] == [{"field": "severity", "before": "Low", "after": "Medium"}]


async def test_copy_a_rule_from_one_workspace_to_another_tenant(call, si, restore) -> None:
    client, rg, ws = si("northwind")
    target, trg, tws = si("contoso-mssp")
    taken = {r.properties.get("displayName") for r in target.alert_rules.list(trg, tws)}
    source = next(r for r in client.alert_rules.list(rg, ws) if r.kind == "Scheduled"
                  and r.properties.get("displayName") not in taken)
    done = out(await call("rule_deploy", from_workspace="law-northwind", rule=source.name,
                          workspaces=["law-contoso-soc", "law-northwind"], enabled=False, confirm=True))
    assert done["results"]["law-northwind"]["result"] == "updated"  # the source itself is disabled too
    assert done["results"]["law-contoso-soc"]["result"] == "created"
    copied = target.alert_rules.get(trg, tws, source.name)
    assert copied.properties["query"] == source.properties["query"] and copied.properties["enabled"] is False
