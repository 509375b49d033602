"""Application Insights: workspace-based components through ARM (Microsoft's azure-mgmt-applicationinsights),
telemetry posted by Microsoft's azure-monitor-opentelemetry-exporter to the connection string's
IngestionEndpoint, and the rows it becomes, read back with azure-monitor-query's LogsQueryClient."""

from __future__ import annotations

import gzip
import json
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from azure.identity import ClientSecretCredential

from sentinelkit_emulator import Emulator

API = {"api-version": "2020-02-02"}
OFFLINE = {"APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true", "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
           "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true"}


def _component_url(emulator: Emulator, name: str) -> str:
    return (f"/subscriptions/{emulator.subscription_id('contoso-mssp')}/resourceGroups/rg-soc/providers/"
            f"Microsoft.Insights/components/{name}")


@pytest.fixture
def component(emulator: Emulator, arm: httpx.Client) -> Iterator[dict[str, Any]]:
    """A workspace-based component of the MSSP, storing into law-contoso-soc; deleted afterwards."""
    url = _component_url(emulator, f"appi-{uuid.uuid4().hex[:8]}")
    body = {"location": "westeurope", "kind": "web", "properties": {
        "Application_Type": "web", "WorkspaceResourceId": emulator.workspace("law-contoso-soc")["id"]}}
    created = arm.put(url, params=API, json=body)
    assert created.status_code == 200, created.text
    yield created.json()
    assert arm.delete(url, params=API).status_code in (200, 204)


def _query(emulator: Emulator, credential: ClientSecretCredential, kql: str) -> list[dict[str, Any]]:
    from azure.monitor.query import LogsQueryClient

    client = LogsQueryClient(credential, endpoint=emulator.info["logs_url"], audience="https://api.loganalytics.io",
                             connection_verify=emulator.info["ca_path"])
    with client:
        result = client.query_workspace(emulator.workspace("law-contoso-soc")["customer_id"], kql, timespan=None)
    table = result.tables[0]
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def _track(emulator: Emulator, envelopes: Any = None, **kwargs: Any) -> httpx.Response:
    """POST to the ingestion endpoint: ``envelopes`` as JSON, or ``content=`` as given."""
    if envelopes is not None:
        kwargs["json"] = envelopes
    trust = ssl.create_default_context(cafile=emulator.info["ca_path"])
    with httpx.Client(base_url=emulator.info["arm_url"], verify=trust) as client:
        return client.post("/v2.1/track", **kwargs)


def _envelope(key: str, base_type: str, base: dict[str, Any], operation: str) -> dict[str, Any]:
    return {"name": f"Microsoft.ApplicationInsights.{base_type.removesuffix('Data')}", "time": "2026-01-05T10:00:00.5Z",
            "iKey": key, "tags": {"ai.operation.id": operation, "ai.cloud.role": "sentinelkit"},
            "data": {"baseType": base_type, "baseData": {"ver": 2, **base}}}


def test_a_component_is_workspace_based_and_has_a_connection_string(component: dict[str, Any],
                                                                       emulator: Emulator) -> None:
    props = component["properties"]
    key = props["InstrumentationKey"]
    assert props["IngestionMode"] == "LogAnalytics" and props["WorkspaceResourceId"].endswith("law-contoso-soc")
    assert props["ConnectionString"] == (f"InstrumentationKey={key};IngestionEndpoint={emulator.info['arm_url']}/;"
                                         f"LiveEndpoint={emulator.info['arm_url']}/;ApplicationId={props['AppId']}")


def test_classic_components_and_unknown_workspaces_are_refused(emulator: Emulator, arm: httpx.Client) -> None:
    url = _component_url(emulator, "appi-classic")
    classic = arm.put(url, params=API, json={"location": "westeurope", "kind": "web",
                                              "properties": {"Application_Type": "web"}})
    assert classic.status_code == 400 and "WorkspaceResourceId" in classic.json()["error"]["message"]
    missing = arm.put(url, params=API, json={"location": "westeurope", "kind": "web", "properties": {
        "Application_Type": "web", "WorkspaceResourceId": emulator.workspace("law-contoso-soc")["id"] + "-gone"}})
    assert missing.status_code == 400 and "was not found" in missing.json()["error"]["message"]
    assert arm.get(url, params=API).status_code == 404


def test_envelopes_become_rows_of_the_app_tables(component: dict[str, Any], emulator: Emulator,
                                                 credential_for: Callable[..., ClientSecretCredential]) -> None:
    key, operation = component["properties"]["InstrumentationKey"], uuid.uuid4().hex
    envelopes = [
        _envelope(key, "RequestData", {"id": "a1", "name": "tools/call incident_list", "duration": "0.00:00:01.250",
                                       "responseCode": "0", "success": True, "properties": {"tool": "x"}}, operation),
        _envelope(key, "RemoteDependencyData", {"id": "b2", "name": "GET /subscriptions", "type": "HTTP",
                                                "target": "management.azure.com", "resultCode": "429",
                                                "duration": "00:00:00.020", "success": False}, operation),
        _envelope(key, "MessageData", {"message": "retrying", "severityLevel": "Warning"}, operation),
        _envelope(key, "ExceptionData", {"exceptions": [{"typeName": "ToolError", "message": "boom"}],
                                         "severityLevel": "Error"}, operation),
        _envelope(key, "MetricData", {"metrics": [{"name": "sentinelkit.tool.calls", "value": 3, "count": 1}],
                                      "properties": {"gen_ai.tool.name": "incident_list"}}, operation),
    ]
    answer = _track(emulator, content=gzip.compress(json.dumps(envelopes).encode()),
                    headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert answer.status_code == 200 and answer.json() == {"itemsReceived": 5, "itemsAccepted": 5, "errors": []}
    credential = credential_for("sentinelkit-mssp")
    where = f"| where OperationId == '{operation}'"
    request = _query(emulator, credential, f"AppRequests {where} | project Name, DurationMs, Success, AppRoleName")
    assert request == [{"Name": "tools/call incident_list", "DurationMs": 1250.0, "Success": True,
                        "AppRoleName": "sentinelkit"}]
    dependency = _query(emulator, credential, f"AppDependencies {where} | project DependencyType, ResultCode, Success")
    assert dependency == [{"DependencyType": "HTTP", "ResultCode": "429", "Success": False}]
    assert _query(emulator, credential, f"AppTraces {where} | project Message, SeverityLevel") == [
        {"Message": "retrying", "SeverityLevel": 2}]
    assert _query(emulator, credential, f"AppExceptions {where} | project ExceptionType, Message") == [
        {"ExceptionType": "ToolError", "Message": "boom"}]
    metric = _query(emulator, credential, f"AppMetrics {where} | extend tool = tostring(Properties['gen_ai.tool.name'])"
                                          " | project Name, Sum, tool")
    assert metric == [{"Name": "sentinelkit.tool.calls", "Sum": 3.0, "tool": "incident_list"}]


def test_refused_items_are_named_by_index(component: dict[str, Any], emulator: Emulator) -> None:
    key = component["properties"]["InstrumentationKey"]
    good = _envelope(key, "MessageData", {"message": "kept"}, uuid.uuid4().hex)
    answer = _track(emulator, [good, _envelope(str(uuid.uuid4()), "MessageData", {"message": "x"}, "o"),
                               _envelope(key, "PageViewData", {"name": "home"}, "o")])
    assert answer.status_code == 206
    body = answer.json()
    assert (body["itemsReceived"], body["itemsAccepted"]) == (3, 1)
    assert [(e["index"], e["statusCode"]) for e in body["errors"]] == [(1, 400), (2, 400)]
    assert body["errors"][0]["message"] == "Invalid instrumentation key"
    assert "PageViewData" in body["errors"][1]["message"]
    nothing = _track(emulator, content=b"not json")
    assert nothing.status_code == 400 and nothing.json()["itemsAccepted"] == 0


def test_microsofts_exporter_and_sdk(emulator: Emulator, credential_for: Callable[..., ClientSecretCredential],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The component created with azure-mgmt-applicationinsights; spans sent by the real exporter."""
    sdk = pytest.importorskip("azure.mgmt.applicationinsights", reason="azure-mgmt-applicationinsights not installed")
    exporter_module = pytest.importorskip("azure.monitor.opentelemetry.exporter",
                                          reason="azure-monitor-opentelemetry-exporter not installed")
    from azure.mgmt.applicationinsights.v2020_02_02.models import ApplicationInsightsComponent
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind

    for name, value in OFFLINE.items():  # the exporter's own reports to Microsoft: off (offline)
        monkeypatch.setenv(name, value)
    credential = credential_for("sentinelkit-mssp")
    client = sdk.ApplicationInsightsManagementClient(
        credential, emulator.subscription_id("contoso-mssp"), base_url=emulator.info["arm_url"],
        credential_scopes=["https://management.azure.com/.default"], connection_verify=emulator.info["ca_path"])
    name = f"appi-sdk-{uuid.uuid4().hex[:6]}"
    with client:
        created = client.components.create_or_update("rg-soc", name, ApplicationInsightsComponent(
            location="westeurope", kind="web", application_type="web",
            workspace_resource_id=emulator.workspace("law-contoso-soc")["id"]))
        assert created.connection_string and created.instrumentation_key
        assert name in {c.name for c in client.components.list_by_resource_group("rg-soc")}
        exporter = exporter_module.AzureMonitorTraceExporter(connection_string=created.connection_string,
                                                             connection_verify=emulator.info["ca_path"],
                                                             disable_offline_storage=True)
        provider = TracerProvider(resource=Resource.create({"service.name": "exporter-test"}))  # not global: the
        # exporter logs that it cannot read the cloud role from the global provider, and sends without it
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("test")
        with tracer.start_as_current_span("tools/call workspace_list", kind=SpanKind.SERVER) as server:
            with tracer.start_as_current_span("GET /subscriptions", kind=SpanKind.CLIENT,
                                              attributes={"http.request.method": "GET",
                                                          "url.full": "https://management.azure.com/subscriptions",
                                                          "http.response.status_code": 200}):
                time.sleep(0.001)
        provider.shutdown()
        operation = format(server.get_span_context().trace_id, "032x")
        requests = _query(emulator, credential, f"AppRequests | where OperationId == '{operation}' | project Name, Id")
        assert [r["Name"] for r in requests] == ["tools/call workspace_list"]
        dependencies = _query(emulator, credential, f"AppDependencies | where OperationId == '{operation}' | project "
                                                    "DependencyType, ResultCode, ParentId, Target")
        assert len(dependencies) == 1 and dependencies[0]["DependencyType"] == "HTTP"
        assert dependencies[0]["ParentId"] == requests[0]["Id"] and dependencies[0]["ResultCode"] == "200"
        client.components.delete("rg-soc", name)
