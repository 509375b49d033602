"""Writes through a real MCP client: validation before sending, dry runs with the exact body and a diff,
etags, confirmation of destructive changes, the audit log, clear errors — cross-checked with
azure-mgmt-monitor reading the emulator's state."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from dcr_testkit import data, error_text
from fastmcp import Client

SYSLOG = {"workspace": "law-tailspin", "name": "dcr-tailspin-auth", "kind": "Linux", "syslog_facilities": ["auth"],
          "syslog_min_level": "Error", "endpoint": "dce-tailspin", "description": "auth errors"}


async def test_create_dry_run_shows_the_exact_body_and_changes_nothing(call, monitor, audit) -> None:
    out = data(await call("dcr_create", **SYSLOG, dry_run=True))
    body = out["would_change"]["changes"]["body"]
    assert out["dry_run"] is True and body["kind"] == "Linux" and body["location"] == "westeurope"
    assert body["properties"]["dataSources"]["syslog"][0]["logLevels"] == ["Error", "Critical", "Alert", "Emergency"]
    assert body["properties"]["dataFlows"] == [{"streams": ["Microsoft-Syslog"], "destinations": ["lawtailspin"]}]
    assert body["properties"]["dataCollectionEndpointId"].endswith("/dataCollectionEndpoints/dce-tailspin")
    with pytest.raises(ResourceNotFoundError):
        monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-auth")
    assert audit()[-1]["outcome"] == "dry_run" and audit()[-1]["tool"] == "dcr_create"


async def test_create_then_conflict_on_the_same_name(call, monitor, audit, restore) -> None:
    assert "dcr-tailspin-auth" not in {r["name"] for r in data(await call("dcr_list", workspace="law-tailspin"))["rules"]}
    out = data(await call("dcr_create", **SYSLOG))
    assert out["created"] is True and out["destinations"] == ["law-tailspin"] and out["tables"] == ["Syslog"]
    sdk = monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-auth")
    assert sdk.data_sources.syslog[0].facility_names == ["auth"] and sdk.description == "auth errors"
    entry = audit()[-1]
    assert entry["outcome"] == "applied" and entry["tenant"] == "tailspin" and entry["correlation_ids"]
    listed = data(await call("dcr_list", workspace="law-tailspin", fields=["name", "endpoint"]))
    assert {"name": "dcr-tailspin-auth", "endpoint": "dce-tailspin"} in listed["rules"]  # no stale cached list
    again = error_text(await call("dcr_create", **SYSLOG))
    assert "already exists" in again and "dcr_update" in again and "nothing was changed" in again


async def test_a_flow_naming_a_missing_stream_or_destination_is_refused_before_sending(call, monitor) -> None:
    text = error_text(await call(
        "dcr_create", workspace="law-tailspin", name="dcr-tailspin-bad", kind="Direct", endpoint="dce-tailspin",
        custom_streams={"Custom-OrdersRaw": ["TimeGenerated:datetime", "OrderId"]},
        data_flows=[{"streams": ["Custom-OrderRaw"], "output_stream": "Custom-CheckoutEvents_CL"},
                    {"streams": ["Custom-OrdersRaw"], "destinations": ["archive"],
                     "output_stream": "Custom-CheckoutEvents_CL"}]))
    assert "data flow 1 names stream 'Custom-OrderRaw'" in text and "Custom-OrdersRaw" in text
    assert "data flow 2 names destination 'archive'" in text and "lawtailspin" in text
    assert "nothing was sent" in text
    with pytest.raises(ResourceNotFoundError):
        monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-bad")


async def test_an_endpoint_in_another_region_is_refused(call) -> None:
    text = error_text(await call("dcr_create", workspace="law-northwind", name="dcr-northwind-weu", kind="Linux",
                                 location="westeurope", syslog_facilities=["auth"], endpoint="dce-northwind"))
    assert "dce-northwind" in text and "northeurope" in text and "westeurope" in text and "same region" not in text
    assert "own region" in text


async def test_invalid_transformation_is_reported_with_the_services_answer(call, monitor) -> None:
    before = monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-logs-ingestion")
    text = error_text(await call("dcr_update", workspace="law-tailspin", rule="dcr-tailspin-logs-ingestion",
                                 data_flows=[{"streams": ["Custom-CheckoutEventsRaw"],
                                              "transform_kql": "where Result != 'test'",
                                              "output_stream": "Custom-CheckoutEvents_CL"}]))
    assert "HTTP 400" in text and "InvalidPayload" in text and "dcr-tailspin-logs-ingestion" in text
    assert "tailspin" in text
    # Azure Monitor's own reason (error.details[]), with the field it names
    assert ("InvalidTransformQuery: Transform query \"where Result != 'test'\" is invalid: a transformation must "
            "start with 'source' (after any 'let' statements).") in text and "TransformKql" in text
    after = monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-logs-ingestion")
    assert after.etag == before.etag


async def test_update_previews_a_diff_and_refuses_a_stale_etag(call, monitor, restore) -> None:
    rule = data(await call("dcr_get", workspace="law-tailspin", rule="dcr-tailspin-logs-ingestion"))
    flows = [{"streams": ["Custom-CheckoutEventsRaw"], "transform_kql": "source | where Result !in ('test', 'demo')",
              "output_stream": "Custom-CheckoutEvents_CL"}]
    preview = data(await call("dcr_update", workspace="law-tailspin", rule="dcr-tailspin-logs-ingestion",
                              data_flows=flows, dry_run=True))
    diff = preview["would_change"]["changes"]["diff"]
    assert diff == [{"path": "properties.dataFlows[0].transformKql", "before": "source | where Result != 'test'",
                     "after": "source | where Result !in ('test', 'demo')"}]
    assert preview["would_change"]["changes"]["etag"] == rule["etag"]
    done = data(await call("dcr_update", workspace="law-tailspin", rule="dcr-tailspin-logs-ingestion",
                           data_flows=flows, etag=rule["etag"]))
    assert done["changed_paths"] == ["properties.dataFlows[0].transformKql"]
    sdk = monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-logs-ingestion")
    assert sdk.data_flows[0].transform_kql == "source | where Result !in ('test', 'demo')"
    stale = error_text(await call("dcr_update", workspace="law-tailspin", rule="dcr-tailspin-logs-ingestion",
                                  description="changed by someone else", etag=rule["etag"]))
    assert "412" in stale and "changed since it was read" in stale
    assert monitor("tailspin").data_collection_rules.get(
        "rg-sentinel-weu", "dcr-tailspin-logs-ingestion").description == sdk.description


async def test_stream_add_declares_a_custom_stream_with_its_transformation_and_remove_takes_it_out(
        call, monitor, restore) -> None:
    added = data(await call(
        "dcr_stream_add", workspace="law-tailspin", rule="dcr-tailspin-logs-ingestion", stream="Custom-RefundsRaw",
        stream_columns=["TimeGenerated:datetime", "StoreId", "OrderId", "Amount:real"],
        transform_kql="source | extend Result = 'refund'", output_stream="Custom-CheckoutEvents_CL"))
    assert added["added"] == "Custom-RefundsRaw" and "Custom-RefundsRaw" in added["stream_declarations"]
    sdk = monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-logs-ingestion")
    assert [c.name for c in sdk.stream_declarations["Custom-RefundsRaw"].columns] == [
        "TimeGenerated", "StoreId", "OrderId", "Amount"]
    new_flow = sdk.data_flows[-1]
    assert new_flow.streams == ["Custom-RefundsRaw"] and new_flow.transform_kql == "source | extend Result = 'refund'"
    preview = data(await call("dcr_stream_remove", workspace="law-tailspin", rule="dcr-tailspin-logs-ingestion",
                              stream="Custom-RefundsRaw"))
    assert preview["confirmation_required"] is True and "Custom-RefundsRaw" in preview["would_change"]["summary"]
    removed = data(await call("dcr_stream_remove", workspace="law-tailspin", rule="dcr-tailspin-logs-ingestion",
                              stream="Custom-RefundsRaw", confirm=True))
    assert removed["removed"] == "Custom-RefundsRaw"
    sdk = monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-logs-ingestion")
    assert "Custom-RefundsRaw" not in sdk.stream_declarations and len(sdk.data_flows) == 1
    only = error_text(await call("dcr_stream_remove", workspace="law-tailspin", rule="dcr-tailspin-syslog",
                                 stream="Microsoft-Syslog", confirm=True))
    assert "only stream" in only and "dcr_delete" in only


async def test_delete_rule_asks_first_and_lists_what_stops(call, monitor, audit, restore) -> None:
    preview = data(await call("dcr_delete", workspace="law-tailspin", rule="dcr-tailspin-syslog"))
    assert preview["confirmation_required"] is True
    assert preview["would_change"]["changes"]["associated_resources"] == ["ts-web-01", "ts-web-02"]
    assert monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-syslog")
    done = data(await call("dcr_delete", workspace="law-tailspin", rule="dcr-tailspin-syslog", confirm=True))
    assert done["deleted"] == "dcr-tailspin-syslog"
    with pytest.raises(ResourceNotFoundError):
        monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-syslog")
    assert [e["outcome"] for e in audit() if e["tool"] == "dcr_delete"] == ["preview", "applied"]


async def test_associate_the_unused_rule_then_remove_it_with_elicitation(make_server, monitor, restore) -> None:
    asked: list[str] = []

    async def accept(message: str, response_type: Any, params: Any, context: Any) -> dict[str, bool]:
        asked.append(message)
        return {"confirm": True}

    async with Client(make_server(), elicitation_handler=accept) as client:
        primed = data(await client.call_tool("dcr_get", {"workspace": "law-fabrikam-prod",
                                                          "rule": "dcr-fabrikam-windows-unused"}))
        assert primed["associations"] == 0
        made = data(await client.call_tool("dcr_association_create", {
            "workspace": "law-fabrikam-prod", "resource": "fab-dc-01", "rule": "dcr-fabrikam-windows-unused"}))
        assert made["created"] is True and made["name"] == "dcr-fabrikam-windows-unused-association"
        sdk = list(monitor("fabrikam").data_collection_rule_associations.list_by_rule(
            "rg-sentinel", "dcr-fabrikam-windows-unused"))
        assert [a.id.split("/")[8] for a in sdk] == ["fab-dc-01"]
        before = data(await client.call_tool("dcr_get", {"workspace": "law-fabrikam-prod",
                                                          "rule": "dcr-fabrikam-windows-unused"}))
        assert before["associations"] == 1 and "warning" not in before
        status = data(await client.call_tool("dcr_status", {"workspace": "law-fabrikam-prod"}))
        assert not [p for p in status["problems"] if p["type"] == "no_association"]
        again = data(await client.call_tool("dcr_association_create", {
            "workspace": "law-fabrikam-prod", "resource": "fab-dc-01", "rule": "dcr-fabrikam-windows-unused"}))
        assert again["created"] is False and "already associated" in again["message"]
        gone = data(await client.call_tool("dcr_association_delete", {
            "workspace": "law-fabrikam-prod", "resource": "fab-dc-01", "rule": "dcr-fabrikam-windows-unused"}))
        assert gone["deleted"] == "dcr-fabrikam-windows-unused-association"
    assert len(asked) == 1 and "fab-dc-01" in asked[0]
    assert list(monitor("fabrikam").data_collection_rule_associations.list_by_rule(
        "rg-sentinel", "dcr-fabrikam-windows-unused")) == []


async def test_endpoint_create_conflict_and_delete(call, monitor, restore) -> None:
    made = data(await call("dce_create", workspace="law-northwind", name="dce-northwind-weu", location="westeurope",
                           public_network_access="Disabled"))
    assert made["created"] is True and made["location"] == "westeurope"
    sdk = monitor("northwind").data_collection_endpoints.get("rg-security", "dce-northwind-weu")
    assert sdk.network_acls.public_network_access == "Disabled"
    conflict = error_text(await call("dce_create", workspace="law-northwind", name="dce-northwind-weu"))
    assert "already exists" in conflict
    in_use = error_text(await call("dce_delete", workspace="law-northwind", endpoint="dce-northwind", confirm=True))
    assert "dcr-northwind-linux-syslog" in in_use and "nothing was deleted" in in_use
    done = data(await call("dce_delete", workspace="law-northwind", endpoint="dce-northwind-legacy", confirm=True))
    assert done["deleted"] == "dce-northwind-legacy"
    assert {e.name for e in monitor("northwind").data_collection_endpoints.list_by_subscription()} == {
        "dce-northwind", "dce-northwind-weu"}


async def test_reader_is_told_to_get_monitoring_contributor(make_server, emulator, monkeypatch, monitor) -> None:
    reader = emulator.principal("sentinelkit-reader")
    monkeypatch.setenv("AZURE_CLIENT_ID", reader["client_id"])
    monkeypatch.setenv("AZURE_CLIENT_SECRET", reader["client_secret"])
    async with Client(make_server()) as client:
        listed = await client.call_tool("dcr_list", {"workspace": "law-tailspin"})
        assert not listed.is_error  # reading is allowed
        result = await client.call_tool("dcr_create", SYSLOG, raise_on_error=False)
    text = error_text(result)
    assert "403" in text and "AuthorizationFailed" in text and "Monitoring Contributor" in text
    assert "tailspin" in text and reader["client_secret"] not in text
    with pytest.raises(ResourceNotFoundError):
        monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-auth")


async def test_an_exported_rule_deploys_to_another_customer(call, monitor, restore) -> None:
    exported = data(await call("dcr_export", workspace="law-tailspin", rule="dcr-tailspin-windows-security"))
    resource = exported["template"]["resources"][0]
    northwind = data(await call("workspace_get", workspace="law-northwind"))
    resource["properties"]["destinations"]["logAnalytics"][0]["workspaceResourceId"] = northwind["id"]
    resource.pop("location")  # takes the target workspace's region
    made = data(await call("dcr_create", workspace="law-northwind", name="dcr-northwind-from-tailspin", body=resource))
    assert made["created"] is True and made["destinations"] == ["law-northwind"]
    sdk = monitor("northwind").data_collection_rules.get("rg-security", "dcr-northwind-from-tailspin")
    source = monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-windows-security")
    assert sdk.location == "northeurope" and sdk.kind == "Windows"
    assert sdk.data_sources.windows_event_logs[0].x_path_queries == source.data_sources.windows_event_logs[0].x_path_queries


async def test_a_logs_ingestion_rule_from_the_compact_description(call, monitor, restore) -> None:
    made = data(await call(
        "dcr_create", workspace="law-tailspin", name="dcr-tailspin-orders", kind="Direct", endpoint="dce-tailspin",
        custom_streams={"Custom-OrdersRaw": ["TimeGenerated:datetime", "StoreId", "OrderId", "Amount:real"]},
        data_flows=[{"streams": ["Custom-OrdersRaw"], "transform_kql": "source | extend Result = 'order'",
                     "output_stream": "Custom-CheckoutEvents_CL"}]))
    assert made["tables"] == ["CheckoutEvents_CL"] and made["needs_association"] is False
    assert made["logs_ingestion_endpoint"].startswith("https://")
    sdk = monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-orders")
    assert sdk.data_flows[0].output_stream == "Custom-CheckoutEvents_CL"
    assert sdk.data_collection_endpoint_id.endswith("/dce-tailspin")
    status = data(await call("dcr_status", workspace="law-tailspin", rule="dcr-tailspin-orders"))
    assert status["problems"] == []  # a Direct rule needs no association; its table receives data


async def test_stream_add_dry_run_shows_the_diff_and_changes_nothing(call, monitor) -> None:
    before = monitor("contoso-mssp").data_collection_rules.get("rg-soc", "dcr-contoso-windows-security")
    out = data(await call("dcr_stream_add", workspace="law-contoso-soc", rule="dcr-contoso-windows-security",
                          stream="Microsoft-Event", dry_run=True,
                          data_source={"type": "windowsEventLogs", "name": "appErrors",
                                       "xPathQueries": ["Application!*[System[(Level=2)]]"]}))
    paths = [d["path"] for d in out["would_change"]["changes"]["diff"]]
    assert paths == ["properties.dataSources.windowsEventLogs[1]", "properties.dataFlows[1]"]
    assert out["would_change"]["changes"]["body"]["properties"]["dataFlows"][-1]["streams"] == ["Microsoft-Event"]
    after = monitor("contoso-mssp").data_collection_rules.get("rg-soc", "dcr-contoso-windows-security")
    assert after.etag == before.etag


async def test_an_unknown_kind_is_refused_before_sending(call) -> None:
    text = error_text(await call("dcr_create", workspace="law-tailspin", name="dcr-tailspin-x", kind="Linx",
                                 syslog_facilities=["auth"]))
    assert "kind 'Linx'" in text and "Linux" in text and "nothing was sent" in text


async def test_stream_add_with_a_stale_etag_changes_nothing(call, monitor, restore) -> None:
    read = data(await call("dcr_get", workspace="law-woodgrove", rule="dcr-woodgrove-linux-syslog"))
    exported = data(await call("dcr_export", workspace="law-woodgrove", rule="dcr-woodgrove-linux-syslog"))
    resource = exported["template"]["resources"][0]  # export, edit, update: the source-control round trip
    resource["properties"]["description"] = "Syslog from the core banking hosts"
    updated = data(await call("dcr_update", workspace="law-woodgrove", rule="dcr-woodgrove-linux-syslog",
                              body=resource))
    assert updated["changed_paths"] == ["properties.description"]  # the whole body, reached with woodgrove's own credential
    stale = error_text(await call("dcr_stream_add", workspace="law-woodgrove", rule="dcr-woodgrove-linux-syslog",
                                  stream="Microsoft-CommonSecurityLog", etag=read["etag"],
                                  data_source={"type": "syslog", "name": "cef", "facilityNames": ["local4"],
                                               "logLevels": ["*"]}))
    assert "412" in stale and "woodgrove" in stale
    sdk = monitor("woodgrove").data_collection_rules.get("rg-secops", "dcr-woodgrove-linux-syslog")
    assert [f.streams for f in sdk.data_flows] == [["Microsoft-Syslog"]]
    assert sdk.description == "Syslog from the core banking hosts"


async def test_a_body_that_is_not_a_rule_or_keeps_placeholders_is_refused_saying_which(call, monitor) -> None:
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "resources": [{"type": "Microsoft.Insights/dataCollectionRules"}]}
    text = error_text(await call("dcr_create", workspace="law-tailspin", name="dcr-tailspin-tpl", body=template))
    assert "ARM template, not a data collection rule" in text and "resources" in text
    text = error_text(await call("dcr_create", workspace="law-tailspin", name="dcr-tailspin-tpl",
                                 body={"location": "westeurope", "properties": {"description": "no rule here"}}))
    assert "not a data collection rule" in text and "dataFlows" in text
    body = {"location": "{{location}}", "kind": "Linux", "properties": {
        "dataSources": {"syslog": [{"name": "s", "streams": ["Microsoft-Syslog"], "facilityNames": ["auth"],
                                    "logLevels": ["Error"]}]},
        "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": "[parameters('workspaceId')]"}]},
        "dataFlows": [{"streams": ["Microsoft-Syslog"], "destinations": ["la"]}]}}
    text = error_text(await call("dcr_create", workspace="law-tailspin", name="dcr-tailspin-tpl", body=body))
    assert "placeholders" in text and "location: {{location}}" in text
    assert "properties.destinations.logAnalytics[0].workspaceResourceId: [parameters('workspaceId')]" in text
    with pytest.raises(ResourceNotFoundError):
        monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-tpl")
