"""Reading data collection through a real MCP client (in-process FastMCP client, 2026-07-28) against the
emulator over HTTPS, cross-checked with azure-mgmt-monitor reading the same state."""

from __future__ import annotations

from dcr_testkit import data, error_text


async def test_dcr_list_across_tenants_shows_kind_streams_destinations_and_associations(call, monitor) -> None:
    out = data(await call("dcr_list", workspaces=["law-fabrikam-prod", "law-tailspin", "law-northwind"]))
    rules = {(r["workspace"], r["name"]): r for r in out["rules"]}
    unused = rules[("law-fabrikam-prod", "dcr-fabrikam-windows-unused")]
    assert unused["kind"] == "Windows" and unused["streams"] == ["Microsoft-Event"]
    assert unused["destinations"] == ["law-fabrikam-prod"] and unused["associations"] == 0
    syslog = rules[("law-tailspin", "dcr-tailspin-syslog")]
    assert syslog["tables"] == ["Syslog"] and syslog["endpoint"] == "dce-tailspin" and syslog["associations"] == 2
    assert rules[("law-fabrikam-prod", "dcr-fabrikam-windows-security")]["associations"] == 2
    assert set(out["rules"][0]) == {"name", "workspace", "kind", "streams", "tables", "destinations", "endpoint",
                                    "associations", "resource_group"}
    # the same rules azure-mgmt-monitor sees delivering to law-tailspin
    sdk = {r.name for r in monitor("tailspin").data_collection_rules.list_by_subscription()
           if any(d.workspace_resource_id.endswith("/law-tailspin") for d in r.destinations.log_analytics or [])}
    assert {name for ws, name in rules if ws == "law-tailspin"} == sdk


async def test_dcr_list_by_tenant_pages_with_a_cursor(call) -> None:
    first = data(await call("dcr_list", tenant="northwind", limit=2))
    assert first["count"] == 2 and first["total"] == 3 and "cursor=" in first["truncated"]
    rest = data(await call("dcr_list", tenant="northwind", limit=2, cursor=first["next_cursor"]))
    names = [r["name"] for r in first["rules"] + rest["rules"]]
    assert sorted(names) == ["dcr-northwind-linux-syslog", "dcr-northwind-logs-ingestion",
                             "dcr-northwind-windows-security"]


async def test_dcr_list_keeps_going_when_one_tenant_fails(call, emulator_faults) -> None:
    emulator_faults.add_fault(match={"tenant": "northwind", "service": "arm", "path": "dataCollectionRules"},
                              status=403)
    out = data(await call("dcr_list", workspaces=["law-northwind", "law-tailspin"]))
    assert {r["workspace"] for r in out["rules"]} == {"law-tailspin"}
    assert "403" in out["errors"]["law-northwind"] and "northwind" in out["errors"]["law-northwind"]


async def test_dcr_get_shows_flows_with_transformations_and_the_tables_they_write(call, monitor) -> None:
    rule = data(await call("dcr_get", workspace="law-fabrikam-prod", rule="dcr-fabrikam-logs-ingestion"))
    assert rule["kind"] == "Direct" and rule["needs_association"] is False
    flows = {f["output_stream"]: f for f in rule["data_flows"]}
    fw = flows["Custom-FirewallTraffic_CL"]
    assert fw["streams"] == ["Custom-FirewallTrafficRaw"] and fw["tables"] == ["FirewallTraffic_CL"]
    assert "where Action != 'heartbeat'" in fw["transform_kql"]
    sdk = monitor("fabrikam").data_collection_rules.get("rg-sentinel", "dcr-fabrikam-logs-ingestion")
    assert rule["etag"] == sdk.etag and rule["immutable_id"] == sdk.immutable_id
    assert sorted(rule["stream_declarations"]) == sorted(sdk.stream_declarations)
    assert rule["stream_declarations"]["Custom-FirewallTrafficRaw"][:2] == ["Time:datetime", "DeviceName:string"]


async def test_dcr_get_warns_about_a_rule_nobody_uses(call) -> None:
    rule = data(await call("dcr_get", workspace="law-fabrikam-prod", rule="dcr-fabrikam-windows-unused"))
    assert rule["associations"] == 0 and "collects nothing" in rule["warning"]
    [source] = rule["data_sources"]
    assert source["type"] == "windowsEventLogs" and source["streams"] == ["Microsoft-Event"]
    assert source["xPathQueries"] == ["Application!*[System[(Level=1 or Level=2)]]",
                                      "System!*[System[(Level=1 or Level=2)]]"]


async def test_unknown_rule_names_the_closest_ones(call) -> None:
    text = error_text(await call("dcr_get", workspace="law-tailspin", rule="dcr-tailspin-syslg"))
    assert "dcr-tailspin-syslg" in text and "dcr-tailspin-syslog" in text and "tailspin" in text


async def test_dcr_export_is_a_clean_template(call, monitor) -> None:
    out = data(await call("dcr_export", workspace="law-tailspin", rule="dcr-tailspin-syslog",
                          parameterize_workspace=True))
    resource = out["template"]["resources"][0]
    assert resource["type"] == "Microsoft.Insights/dataCollectionRules" and resource["name"] == "dcr-tailspin-syslog"
    props = resource["properties"]
    assert not {"immutableId", "provisioningState", "endpoints"} & set(props)
    assert props["destinations"]["logAnalytics"][0]["workspaceResourceId"] == "[parameters('workspaceResourceId')]"
    assert "workspaceId" not in props["destinations"]["logAnalytics"][0]
    assert out["template"]["parameters"]["workspaceResourceId"]["defaultValue"].endswith("/law-tailspin")
    sdk = monitor("tailspin").data_collection_rules.get("rg-sentinel-weu", "dcr-tailspin-syslog")
    assert props["dataSources"]["syslog"][0]["facilityNames"] == sdk.data_sources.syslog[0].facility_names


async def test_dce_list_and_get_show_the_unused_endpoint(call, monitor) -> None:
    out = data(await call("dce_list", workspace="law-northwind"))
    by_name = {e["name"]: e for e in out["endpoints"]}
    assert set(by_name) == {e.name for e in monitor("northwind").data_collection_endpoints.list_by_subscription()}
    assert by_name["dce-northwind-legacy"]["associations"] == 0 and by_name["dce-northwind"]["associations"] == 1
    legacy = data(await call("dce_get", workspace="law-northwind", endpoint="dce-northwind-legacy"))
    assert legacy["used_by_rules"] == [] and "nothing uses" in legacy["warning"]
    used = data(await call("dce_get", workspace="law-northwind", endpoint="dce-northwind"))
    assert used["used_by_rules"] == ["dcr-northwind-linux-syslog"]
    assert used["logs_ingestion"].startswith("https://dce-northwind-")


async def test_association_list_by_rule_endpoint_and_machine(call, monitor) -> None:
    by_rule = data(await call("dcr_association_list", workspace="law-tailspin", rule="dcr-tailspin-syslog"))
    assert sorted(a["target"] for a in by_rule["associations"]) == ["ts-web-01", "ts-web-02"]
    by_dce = data(await call("dcr_association_list", workspace="law-tailspin", endpoint="dce-tailspin"))
    assert {a["name"] for a in by_dce["associations"]} == {"configurationAccessEndpoint"}
    by_vm = data(await call("dcr_association_list", workspace="law-tailspin", resource="ts-web-01"))
    assert {(a["rule"], a["endpoint"]) for a in by_vm["associations"]} == {("dcr-tailspin-syslog", None),
                                                                         (None, "dce-tailspin")}
    sdk = list(monitor("tailspin").data_collection_rule_associations.list_by_rule("rg-sentinel-weu",
                                                                                    "dcr-tailspin-syslog"))
    assert sorted(a.id for a in sdk) == sorted(a["id"] for a in data(await call(
        "dcr_association_list", workspace="law-tailspin", rule="dcr-tailspin-syslog", fields=["*"]))["associations"])
    bad = error_text(await call("dcr_association_list", workspace="law-tailspin"))
    assert "exactly one of rule, endpoint or resource" in bad
