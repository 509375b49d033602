"""The whole Application Insights path (issue 21): a tool call in a `sentinelkit call` process configured only
by APPLICATIONINSIGHTS_CONNECTION_STRING → Microsoft's azure-monitor-opentelemetry-exporter → the emulator's
ingestion endpoint → the workspace → `logs_query` finds the call's request and its dependencies under one
operation id, and the metrics in AppMetrics; the KPI query and the alert rule's query of docs/observability.md
give what `sentinelkit stats` would."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastmcp import Client
from sentinelkit_devkit.process import run_cli

pytest.importorskip("azure.monitor.opentelemetry.exporter", reason="sentinelkit[otel] is not installed")

#: the exporter's own reports to Microsoft (statsbeat, remote configuration): off, the machine is offline
DOCS = Path(__file__).resolve().parents[1] / "docs" / "observability.md"
OFFLINE = {"APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true", "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
           "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true"}


@pytest.fixture
def connection_string(emulator: Any) -> Iterator[str]:
    """A workspace-based Application Insights component of the MSSP (storing into law-contoso-soc)."""
    import ssl

    from azure.identity import ClientSecretCredential

    info = emulator.info
    mssp = emulator.tenant(info["managing_tenant_id"])
    token = ClientSecretCredential(mssp["id"], mssp["client_id"], mssp["client_secret"], authority=info["authority_url"],
                                   connection_verify=info["ca_path"], disable_instance_discovery=True
                                   ).get_token("https://management.azure.com/.default").token
    url = (f"{info['arm_url']}/subscriptions/{emulator.subscription_id('contoso-mssp')}/resourceGroups/rg-soc/"
           f"providers/Microsoft.Insights/components/appi-sentinelkit-{uuid.uuid4().hex[:6]}?api-version=2020-02-02")
    with httpx.Client(verify=ssl.create_default_context(cafile=info["ca_path"]),
                      headers={"Authorization": f"Bearer {token}"}) as arm:
        created = arm.put(url, json={"location": "westeurope", "kind": "web", "properties": {
            "Application_Type": "web", "WorkspaceResourceId": emulator.workspace("law-contoso-soc")["id"]}})
        assert created.status_code == 200, created.text
        yield created.json()["properties"]["ConnectionString"]
        arm.delete(url)


def rows(answer: Any) -> list[dict[str, Any]]:
    assert not answer.is_error, answer.content[0].text
    return answer.structured_content["rows"]  # type: ignore[no-any-return]


async def test_a_tool_call_reaches_application_insights(connection_string: str, sentinelkit_env: dict[str, str],
                                                        mcp_client: Client, emulator: Any) -> None:
    env = {**sentinelkit_env, **OFFLINE, "APPLICATIONINSIGHTS_CONNECTION_STRING": connection_string,
           "OTEL_SERVICE_NAME": f"sentinelkit-e2e-{uuid.uuid4().hex[:6]}"}
    done = run_cli("call", "incident_list", "--args", '{"workspace": "law-fabrikam-prod", "limit": 2}', env=env)
    assert done.returncode == 0, done.stderr
    role = env["OTEL_SERVICE_NAME"]
    query = {"workspaces": ["law-contoso-soc"], "timespan": "PT1H"}
    requests = rows(await mcp_client.call_tool("logs_query", {**query, "query": (
        f"AppRequests | where AppRoleName == '{role}' | project OperationId, Id, Name, Success")}))
    # FastMCP's SERVER span per MCP request (server/discover, tools/list, tools/call ...) is a request
    calls = [r for r in requests if r["Name"].startswith("tools/call")]
    assert [(r["Name"], r["Success"]) for r in calls] == [("tools/call incident_list", True)]
    requests = calls
    operation = requests[0]["OperationId"]
    dependencies = rows(await mcp_client.call_tool("logs_query", {**query, "query": (
        f"AppDependencies | where OperationId == '{operation}' | project Id, ParentId, Name, DependencyType, "
        "ResultCode, Properties")}))
    tool = [d for d in dependencies if d["Name"] == "execute_tool incident_list"]
    assert len(tool) == 1 and tool[0]["ParentId"] == requests[0]["Id"]  # the MCP request → the tool call
    http = [d for d in dependencies if d["DependencyType"] == "HTTP"]
    subscription = emulator.subscription_id("fabrikam")
    assert http and all(d["Name"].startswith("GET /") and subscription not in d["Name"] for d in http)
    branch = [d for d in dependencies if d["Name"] == "workspace law-fabrikam-prod"]
    assert len(branch) == 1 and branch[0]["ParentId"] == tool[0]["Id"]  # the fan-out's one workspace
    assert any(d["ParentId"] == branch[0]["Id"] and d["Name"].endswith("/incidents") and d["ResultCode"] == "200"
               for d in http)
    properties = tool[0]["Properties"]
    properties = json.loads(properties) if isinstance(properties, str) else properties
    assert properties["sentinelkit.outcome"] == "ok" and properties["gen_ai.tool.name"] == "incident_list"
    metrics = rows(await mcp_client.call_tool("logs_query", {**query, "query": (
        f"AppMetrics | where AppRoleName == '{role}' and Name == 'sentinelkit.tool.calls' "
        "| extend tool = tostring(Properties['gen_ai.tool.name']) | project tool, Sum")}))
    assert [(m["tool"], m["Sum"]) for m in metrics] == [("incident_list", 1.0)]


def documented_queries() -> tuple[str, str]:
    """The KPI query (the first KQL block) and the alert rule's condition query of docs/observability.md."""
    text = DOCS.read_text(encoding="utf-8")
    kpi = re.search(r"```kusto\n(.*?)```", text, re.DOTALL)
    alert = re.search(r'--condition-query Breaches="(.*?)"', text)
    assert kpi and alert, "docs/observability.md lost its KPI query or its alert rule"
    return kpi.group(1), alert.group(1)


async def test_the_documented_kpi_query_and_alert_see_a_breach(connection_string: str, sentinelkit_env: dict[str, str],
                                                              mcp_client: Client) -> None:
    env = {**sentinelkit_env, **OFFLINE, "APPLICATIONINSIGHTS_CONNECTION_STRING": connection_string,
           "OTEL_SERVICE_NAME": f"sentinelkit-kpi-{uuid.uuid4().hex[:6]}"}
    for incident in ("does-not-exist", None):  # one call that fails (no such incident), one that succeeds
        arguments = {"workspace": "law-fabrikam-prod", **({"incident_id": incident} if incident else {"limit": 1})}
        done = run_cli("call", "incident_get" if incident else "incident_list", "--args", json.dumps(arguments), env=env)
        assert (done.returncode == 0) is (incident is None), done.stderr
    kpi, alert = documented_queries()
    role = f"| where AppRoleName == '{env['OTEL_SERVICE_NAME']}'"
    query = {"workspaces": ["law-contoso-soc"], "timespan": "PT1H"}
    found = {r["tool"]: r for r in rows(await mcp_client.call_tool("logs_query", {**query, "query": f"{kpi}{role}"}))}
    assert {tool: (r["calls"], r["success_rate"], r["error_rate"]) for tool, r in found.items()} == {
        "incident_get": (1, 0.0, 1.0), "incident_list": (1, 1.0, 0.0)}
    assert found["incident_get"]["breached"] is True  # 100 % errors > 5 %
    # the successful call breaches only by its time (> 3 s: a cold process on a busy machine can take that long)
    assert found["incident_list"]["breached"] is (found["incident_list"]["avg_ms"] > 3000)
    breaches = rows(await mcp_client.call_tool("logs_query", {**query, "query": f"{alert}{role}"}))
    # the alert rule fires for exactly the tools the KPI query marks
    assert sorted(r["tool"] for r in breaches) == sorted(tool for tool, r in found.items() if r["breached"])
