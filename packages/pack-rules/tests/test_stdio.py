"""The real `sentinelkit serve` process over stdio, driven by the mcp SDK client (2025-11-25 handshake, ctx.elicit
confirmation), with the emulator over HTTPS and real azure-identity credentials."""

from __future__ import annotations

from typing import Any

import mcp.types as t
from sentinelkit_devkit.process import result_json as _json
from sentinelkit_devkit.process import stdio_session as serve

RULE_FILE = """name: Burst of failed Azure portal sign-ins
kind: Scheduled
severity: Low
queryFrequency: 1h
queryPeriod: 1h
triggerOperator: gt
triggerThreshold: 10
tactics:
  - CredentialAccess
relevantTechniques:
  - T1110
query: |
  SigninLogs
  | where AppDisplayName =~ "Azure Portal" and ResultType != "0"
  | summarize Failures = count() by UserPrincipalName
"""


async def test_serve_deploys_a_rule_file_to_two_tenants_after_one_confirmation(sentinelkit_env, si, restore) -> None:
    asked: list[str] = []

    async def elicit(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        asked.append(params.message)
        return t.ElicitResult(action="accept", content={"value": True})

    async with serve(sentinelkit_env, elicit=elicit) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        done = _json(await session.call_tool("rule_deploy", {"yaml": RULE_FILE,
                                                             "workspaces": ["law-tailspin", "law-northwind"]}))
        failing = _json(await session.call_tool("rule_list", {"failing": True, "fields": ["workspace", "display_name"]}))
    assert tools["rule_list"].annotations.read_only_hint is True
    assert tools["rule_deploy"].annotations.destructive_hint is True and "confirm" in tools["rule_deploy"].input_schema["properties"]
    assert tools["rule_enable"].annotations.destructive_hint is False
    assert len(asked) == 1 and "2 workspace(s)" in asked[0]
    assert {k: v["result"] for k, v in done["results"].items()} == {"law-tailspin": "created", "law-northwind": "created"}
    for tenant in ("tailspin", "northwind"):
        client, rg, ws = si(tenant)
        rule = client.alert_rules.get(rg, ws, done["rule"])
        assert rule.properties["triggerThreshold"] == 10 and rule.properties["subTechniques"] == []
    assert {(r["workspace"], r["display_name"]) for r in failing["rules"]} >= {
        ("law-fabrikam-prod", "Suspicious PowerShell download cradle")}


async def test_serve_read_only_hides_every_rule_write(sentinelkit_env) -> None:
    async with serve(sentinelkit_env, "--read-only") as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
    assert {"rule_list", "rule_get", "rule_template_list", "rule_test", "rule_coverage", "kql_validate",
            "automation_rule_list", "automation_rule_get"} <= names
    assert not names & {"rule_create", "rule_update", "rule_enable", "rule_disable", "rule_delete", "rule_deploy",
                        "automation_rule_create", "automation_rule_update", "automation_rule_delete",
                        "automation_rule_enable", "automation_rule_disable"}
