"""Data collection rules, endpoints and associations through azure-mgmt-monitor over HTTPS: the seeded
scenario (planted problems included), the full lifecycle, and the validation Azure Monitor applies."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.monitor import MonitorManagementClient
from spec_conformance import requires_specs, validate_response

from sentinelkit_emulator import Emulator

DCR_SPEC = "monitor/stable/2024-03-11/dataCollectionRules_API.json"
DCE_SPEC = "monitor/stable/2024-03-11/dataCollectionEndpoints_API.json"
DCRA_SPEC = "monitor/stable/2024-03-11/dataCollectionRuleAssociations_API.json"
API = {"api-version": "2024-03-11"}


@pytest.fixture(scope="module")
def monitor(emulator: Emulator, sdk_client: Callable[..., Any]) -> Callable[..., Any]:
    def make(tenant: str, principal: str = "sentinelkit-mssp") -> MonitorManagementClient:
        return sdk_client(MonitorManagementClient, emulator.subscription_id(tenant), principal, polling_interval=30)

    return make


def test_seeded_data_collection_holds_the_planted_problems(monitor: Callable[..., Any]) -> None:
    fab = monitor("fabrikam")
    rules = {r.name: r for r in fab.data_collection_rules.list_by_resource_group("rg-sentinel")}
    assert "dcr-fabrikam-windows-unused" in rules
    assert list(fab.data_collection_rule_associations.list_by_rule("rg-sentinel", "dcr-fabrikam-windows-unused")) == []
    used = list(fab.data_collection_rule_associations.list_by_rule("rg-sentinel", "dcr-fabrikam-windows-security"))
    assert sorted(a.id.split("/")[8] for a in used) == ["fab-dc-01", "fab-dc-02"]

    nw = monitor("northwind")
    endpoints = {e.name for e in nw.data_collection_endpoints.list_by_subscription()}
    assert endpoints == {"dce-northwind", "dce-northwind-legacy"}
    assert list(nw.data_collection_rule_associations.list_by_data_collection_endpoint(
        "rg-security", "dce-northwind-legacy")) == []
    assert list(nw.data_collection_rule_associations.list_by_data_collection_endpoint("rg-security", "dce-northwind"))

    ts = monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-syslog")
    assert ts.data_flows[0].streams == ["Microsoft-Syslog"]
    assert ts.destinations.log_analytics[0].workspace_resource_id.endswith("/workspaces/law-tailspin")
    assert ts.destinations.log_analytics[0].workspace_id  # filled by the service


def test_every_other_dce_and_agent_dcr_is_in_use(monitor: Callable[..., Any]) -> None:
    """Only the planted rule and endpoint lack associations (Direct rules are used by the Logs Ingestion API)."""
    unused: list[str] = []
    for tenant in ("contoso-mssp", "fabrikam", "northwind", "tailspin"):
        client = monitor(tenant)
        for rule in client.data_collection_rules.list_by_subscription():
            rg = rule.id.split("/")[4]
            if rule.kind != "Direct" and not list(client.data_collection_rule_associations.list_by_rule(rg, rule.name)):
                unused.append(rule.name)
        for dce in client.data_collection_endpoints.list_by_subscription():
            rg = dce.id.split("/")[4]
            if not list(client.data_collection_rule_associations.list_by_data_collection_endpoint(rg, dce.name)):
                unused.append(dce.name)
    assert sorted(unused) == ["dce-northwind-legacy", "dcr-fabrikam-windows-unused"]


@requires_specs
def test_list_and_get_conform_to_the_spec(emulator: Emulator, arm: httpx.Client) -> None:
    sub = emulator.subscription_id("fabrikam")
    rg = f"/subscriptions/{sub}/resourceGroups/rg-sentinel/providers/Microsoft.Insights"
    for spec, op, path in (
        (DCR_SPEC, "DataCollectionRules_ListBySubscription", f"/subscriptions/{sub}/providers/Microsoft.Insights/"
                                                             "dataCollectionRules"),
        (DCR_SPEC, "DataCollectionRules_ListByResourceGroup", f"{rg}/dataCollectionRules"),
        (DCR_SPEC, "DataCollectionRules_Get", f"{rg}/dataCollectionRules/dcr-fabrikam-logs-ingestion"),
        (DCE_SPEC, "DataCollectionEndpoints_ListByResourceGroup", f"{rg}/dataCollectionEndpoints"),
        (DCE_SPEC, "DataCollectionEndpoints_Get", f"{rg}/dataCollectionEndpoints/dce-fabrikam-prod"),
        (DCRA_SPEC, "DataCollectionRuleAssociations_ListByRule",
         f"{rg}/dataCollectionRules/dcr-fabrikam-windows-security/associations"),
        (DCRA_SPEC, "DataCollectionRuleAssociations_ListByResource",
         f"/subscriptions/{sub}/resourceGroups/rg-sentinel/providers/Microsoft.Compute/virtualMachines/fab-web-01"
         "/providers/Microsoft.Insights/dataCollectionRuleAssociations"),
    ):
        r = arm.get(path, params=API)
        assert r.status_code == 200, (path, r.text)
        validate_response(spec, op, 200, r.json())


def _logs_ingestion_rule(workspace_id: str, location: str = "westeurope") -> dict[str, Any]:
    return {
        "location": location,
        "kind": "Direct",
        "properties": {
            "streamDeclarations": {"Custom-SdkRaw": {"columns": [{"name": "Time", "type": "datetime"},
                                                                 {"name": "Action", "type": "string"}]}},
            "destinations": {"logAnalytics": [{"workspaceResourceId": workspace_id, "name": "soc"}]},
            "dataFlows": [{"streams": ["Custom-SdkRaw"], "destinations": ["soc"],
                           "transformKql": "let clock = \"Time\";\nsource | extend TimeGenerated = Time | project-away Time",
                           "outputStream": "Custom-SocAutomationAudit_CL"}],
        },
    }


def test_rule_endpoint_and_association_lifecycle(emulator: Emulator, monitor: Callable[..., Any]) -> None:
    client = monitor("contoso-mssp")
    rg, ws = "rg-soc", emulator.workspace("law-contoso-soc")["id"]
    dce = client.data_collection_endpoints.create(rg, "dce-sdk", {"location": "westeurope", "properties": {
        "networkAcls": {"publicNetworkAccess": "Disabled"}}})
    assert dce.immutable_id.startswith("dce-") and dce.logs_ingestion.endpoint.startswith("https://dce-sdk-")
    assert dce.network_acls.public_network_access == "Disabled"

    body = _logs_ingestion_rule(ws)
    body["properties"]["dataCollectionEndpointId"] = dce.id
    rule = client.data_collection_rules.create(rg, "dcr-sdk", body)
    assert rule.immutable_id.startswith("dcr-") and rule.provisioning_state == "Succeeded"
    assert rule.destinations.log_analytics[0].workspace_id == next(
        w for w in emulator.info["workspaces"] if w["name"] == "law-contoso-soc")["customer_id"]
    assert "dcr-sdk" in {r.name for r in client.data_collection_rules.list_by_subscription()}
    tagged = client.data_collection_rules.update(rg, "dcr-sdk", {"tags": {"team": "soc"}})
    assert tagged.tags == {"team": "soc"} and tagged.immutable_id == rule.immutable_id

    vm = f"/subscriptions/{emulator.subscription_id('contoso-mssp')}/resourceGroups/rg-soc/providers/Microsoft.Compute/" \
         "virtualMachines/cso-new-01"
    assoc = client.data_collection_rule_associations.create(vm, "dcr-sdk-association", {
        "properties": {"dataCollectionRuleId": rule.id, "description": "test"}})
    assert assoc.data_collection_rule_id == rule.id
    client.data_collection_rule_associations.create(vm, "configurationAccessEndpoint", {
        "properties": {"dataCollectionEndpointId": dce.id}})
    assert {a.name for a in client.data_collection_rule_associations.list_by_resource(vm)} == {
        "dcr-sdk-association", "configurationAccessEndpoint"}
    assert [a.name for a in client.data_collection_rule_associations.list_by_rule(rg, "dcr-sdk")] == [
        "dcr-sdk-association"]
    assert [a.name for a in client.data_collection_rule_associations.list_by_data_collection_endpoint(
        rg, "dce-sdk")] == ["configurationAccessEndpoint"]
    assert client.data_collection_rule_associations.get(vm, "dcr-sdk-association").description == "test"

    client.data_collection_rule_associations.delete(vm, "dcr-sdk-association")
    client.data_collection_rule_associations.delete(vm, "configurationAccessEndpoint")
    client.data_collection_rules.delete(rg, "dcr-sdk")
    client.data_collection_endpoints.delete(rg, "dce-sdk")
    with pytest.raises(ResourceNotFoundError):
        client.data_collection_rules.get(rg, "dcr-sdk")
    assert list(client.data_collection_rule_associations.list_by_resource(vm)) == []


def _expect_400(client: MonitorManagementClient, body: dict[str, Any], *needles: str) -> None:
    with pytest.raises(HttpResponseError) as err:
        client.data_collection_rules.create("rg-soc", "dcr-invalid", body)
    assert err.value.status_code == 400 and err.value.error.code == "InvalidPayload"
    text = str(err.value)
    for needle in needles:
        assert needle in text, text


def test_invalid_rules_are_refused_naming_the_problem(emulator: Emulator, monitor: Callable[..., Any]) -> None:
    client = monitor("contoso-mssp")
    ws = emulator.workspace("law-contoso-soc")["id"]

    body = _logs_ingestion_rule(ws)
    body["properties"]["dataFlows"][0]["streams"] = ["Custom-Undeclared"]
    _expect_400(client, body, "InvalidStream", "Custom-Undeclared", "Properties.DataFlows[0].Streams[0]")

    body = _logs_ingestion_rule(ws)
    body["properties"]["dataFlows"][0]["destinations"] = ["nowhere"]
    _expect_400(client, body, "InvalidDataFlow", "'nowhere'")

    body = _logs_ingestion_rule(ws)
    body["properties"]["dataFlows"][0]["outputStream"] = "Custom-Missing_CL"
    _expect_400(client, body, "InvalidOutputTable", "Custom-Missing_CL")

    body = _logs_ingestion_rule(ws.replace("law-contoso-soc", "law-nope"))
    _expect_400(client, body, "InvalidDestination", "law-nope")

    body = _logs_ingestion_rule(ws)
    body["properties"]["dataFlows"][0]["transformKql"] = "Syslog | take 1"
    _expect_400(client, body, "InvalidTransformQuery", "must start with 'source'")

    body = _logs_ingestion_rule(ws)
    body["properties"]["dataFlows"][0]["transformKql"] = "source | where"
    _expect_400(client, body, "InvalidTransformQuery", "could not be parsed", "Properties.DataFlows[0].TransformKql")

    body = _logs_ingestion_rule(ws)  # the service allows let statements before source
    body["properties"]["dataFlows"][0]["transformKql"] = "let x = Syslog; x | take 1"
    _expect_400(client, body, "InvalidTransformQuery", "must start with 'source' (after any 'let' statements)")

    body = _logs_ingestion_rule(ws)
    body["properties"]["dataFlows"][0]["transformKql"] = "source | summarize count() by Action"
    _expect_400(client, body, "InvalidTransformQuery", "operator 'summarize' is not supported")

    body = _logs_ingestion_rule(ws)
    body["properties"]["dataFlows"][0]["streams"] = ["Microsoft-WindowsEvents"]
    _expect_400(client, body, "must be a custom stream or one of")

    fab_ops = emulator.workspace("law-fabrikam-ops")["id"]
    fab = monitor("fabrikam")
    cef = {"location": "westeurope", "kind": "Linux", "properties": {
        "dataSources": {"syslog": [{"name": "cef", "streams": ["Microsoft-CommonSecurityLog"],
                                    "facilityNames": ["local4"], "logLevels": ["*"]}]},
        "destinations": {"logAnalytics": [{"workspaceResourceId": fab_ops, "name": "ops"}]},
        "dataFlows": [{"streams": ["Microsoft-CommonSecurityLog"], "destinations": ["ops"]}]}}
    with pytest.raises(HttpResponseError) as err:  # CommonSecurityLog needs Sentinel on the workspace
        fab.data_collection_rules.create("rg-sentinel", "dcr-cef", cef)
    assert "Table for output stream 'Microsoft-CommonSecurityLog' is not available" in str(err.value)


def test_endpoint_in_another_region_is_refused(emulator: Emulator, monitor: Callable[..., Any]) -> None:
    client = monitor("northwind")
    dce = client.data_collection_endpoints.get("rg-security", "dce-northwind")
    assert dce.location == "northeurope"
    body = _logs_ingestion_rule(emulator.workspace("law-northwind")["id"], location="westeurope")
    body["properties"]["dataFlows"][0]["outputStream"] = "Custom-VpnSessions_CL"
    body["properties"]["dataCollectionEndpointId"] = dce.id
    with pytest.raises(HttpResponseError) as err:
        client.data_collection_rules.create("rg-security", "dcr-cross-region", body)
    assert err.value.status_code == 400 and "same region" in str(err.value)


def test_association_rules(emulator: Emulator, arm: httpx.Client) -> None:
    sub = emulator.subscription_id("tailspin")
    vm = f"/subscriptions/{sub}/resourceGroups/rg-sentinel-weu/providers/Microsoft.Compute/virtualMachines/ts-web-01"
    rule = f"/subscriptions/{sub}/resourceGroups/rg-sentinel-weu/providers/Microsoft.Insights/dataCollectionRules/"
    url = f"{vm}/providers/Microsoft.Insights/dataCollectionRuleAssociations"
    r = arm.put(f"{url}/a1", params=API, json={"properties": {"dataCollectionRuleId": rule + "missing"}})
    assert r.status_code == 400 and "was not found" in str(r.json())
    r = arm.put(f"{url}/a1", params=API, json={"properties": {}})
    assert r.status_code == 400
    dce = f"/subscriptions/{sub}/resourceGroups/rg-sentinel-weu/providers/Microsoft.Insights/dataCollectionEndpoints/" \
          "dce-tailspin"
    r = arm.put(f"{url}/not-the-right-name", params=API, json={"properties": {"dataCollectionEndpointId": dce}})
    assert r.status_code == 400 and "configurationAccessEndpoint" in r.text
    names = {a["name"] for a in arm.get(url, params=API).json()["value"]}
    assert names == {"dcr-tailspin-syslog-association", "configurationAccessEndpoint"}
    r = arm.get(f"{rule}missing/associations", params=API)
    assert r.status_code == 404


def test_patch_changes_tags_only_and_reader_cannot_write(emulator: Emulator, monitor: Callable[..., Any]) -> None:
    reader = monitor("tailspin", principal="sentinelkit-reader")
    rule = reader.data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-syslog")
    with pytest.raises(HttpResponseError) as err:
        reader.data_collection_rules.update("rg-sentinel-weu", "dcr-tailspin-syslog", {"tags": {"x": "y"}})
    assert err.value.status_code == 403
    with pytest.raises(HttpResponseError) as err:
        reader.data_collection_endpoints.delete("rg-sentinel-weu", "dce-tailspin")
    assert err.value.status_code == 403
    body = copy.deepcopy(rule.as_dict())
    assert body["data_flows"][0]["streams"] == ["Microsoft-Syslog"]


def test_malformed_body_is_400_and_the_server_keeps_serving(emulator: Emulator, arm: httpx.Client) -> None:
    sub = emulator.subscription_id("contoso-mssp")
    url = f"/subscriptions/{sub}/resourceGroups/rg-soc/providers/Microsoft.Insights/dataCollectionRules/dcr-broken"
    r = arm.put(url, params=API, content=b"[1, 2", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = arm.put(url, params=API, json={"location": "westeurope", "kind": "Bogus", "properties": {}})
    assert r.status_code == 400 and "Kind 'Bogus'" in r.text
    r = arm.put(url, params=API, json={"properties": {}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "LocationRequired"
    assert arm.get(url, params=API).status_code == 404
    assert arm.get(url.rsplit("/", 1)[0], params={"api-version": "2023-03-11"}).status_code == 200
