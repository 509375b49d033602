"""Reading tables through a real MCP client: one workspace and every workspace of every tenant, the filters,
one table in full — cross-checked with azure-mgmt-loganalytics and Microsoft's LogsQueryClient reading the
same emulator."""

from __future__ import annotations

from typing import Any

TYPES = {"Microsoft": "microsoft", "CustomLog": "custom", "RestoredLogs": "restored", "SearchResults": "search_results"}


def sdk_tables(la: Any, workspace: str) -> dict[str, Any]:
    tables, rg, name = la(workspace)
    return {t.name: t for t in tables.list_by_workspace(rg, name)}


async def test_one_workspace_lists_every_table_as_the_sdk_sees_it_with_usage_volumes(tool, la, logs) -> None:
    out = await tool("table_list", workspace="law-fabrikam-prod", fields=["*"], limit=200)
    sdk = sdk_tables(la, "law-fabrikam-prod")
    assert out["total"] == len(sdk) and {t["name"] for t in out["tables"]} == set(sdk)
    for row in out["tables"]:
        t = sdk[row["name"]]
        assert (row["plan"], row["retention_days"], row["total_retention_days"]) == (
            t.plan, t.retention_in_days, t.total_retention_in_days), row["name"]
        assert row["retention_default"] is bool(t.retention_in_days_as_default)
        assert row["total_default"] is bool(t.total_retention_in_days_as_default)
        assert row["type"] == TYPES[t.schema.table_type] and row["long_term_days"] == t.archive_retention_in_days
    usage = {r["DataType"]: r for r in logs("law-fabrikam-prod", "Usage | where TimeGenerated > ago(30d) | summarize "
                                            "MB = sum(Quantity), Billed = sumif(Quantity, IsBillable) by DataType", None)}
    by_name = {r["name"]: r for r in out["tables"]}
    assert usage and all((by_name[name]["volume_30d_gb"], by_name[name]["billable_30d_gb"]) == (
        round(u["MB"] / 1000, 3), round(u["Billed"] / 1000, 3)) for name, u in usage.items() if name in by_name)
    assert by_name["SecurityAlert"]["volume_30d_gb"] > 0 == by_name["SecurityAlert"]["billable_30d_gb"]  # free
    volumes = [r["volume_30d_gb"] for r in out["tables"]]
    assert volumes == sorted(volumes, reverse=True)  # the largest tables first
    assert by_name["AppAudit_CL"]["type"] == "custom" and by_name["AppAudit_CL"]["plan"] == "Basic"


async def test_filters_by_plan_type_name_and_retention(tool) -> None:
    basic = await tool("table_list", workspaces="all", plan="basic")
    assert [(t["workspace"], t["name"]) for t in basic["tables"]] == [("law-fabrikam-prod", "AppAudit_CL")]
    custom = await tool("table_list", workspace="law-fabrikam-prod", type="custom")
    assert {t["name"] for t in custom["tables"]} == {"AppAudit_CL", "FirewallTraffic_CL"}
    named = await tool("table_list", workspace="law-northwind", name="sec*")
    assert named["tables"] and all(t["name"].lower().startswith("sec") for t in named["tables"])
    short = await tool("table_list", workspaces="all", total_retention_below=90, with_data=True)
    assert {(t["workspace"], t["name"]) for t in short["tables"]} == {("law-northwind", "SecurityEvent"),
                                                                      ("law-fabrikam-prod", "AppAudit_CL")}
    interactive = await tool("table_list", workspace="law-woodgrove", retention_below=365, name="S*")
    assert "SecurityEvent" not in {t["name"] for t in interactive["tables"]}  # 365 days is not below 365


async def test_every_workspace_of_every_tenant_in_one_call(tool, la, emulator) -> None:
    out = await tool("table_list", workspaces="all", name="SecurityEvent", limit=50)
    every = [w["name"] for w in emulator.info["workspaces"]]
    assert out["workspaces"] == len(every) and "errors" not in out
    sentinel = sorted(w["name"] for w in emulator.info["workspaces"] if w["sentinel"])
    assert sorted(t["workspace"] for t in out["tables"]) == sentinel  # law-woodgrove too: its own credential
    for row in out["tables"]:
        tables, rg, name = la(row["workspace"])
        t = tables.get(rg, name, "SecurityEvent")
        assert (row["retention_days"], row["total_retention_days"]) == (t.retention_in_days,
                                                                        t.total_retention_in_days), row
    by_ws = {t["workspace"]: t for t in out["tables"]}
    assert (by_ws["law-northwind"]["retention_days"], by_ws["law-northwind"]["total_retention_days"]) == (30, 30)
    assert (by_ws["law-woodgrove"]["retention_days"], by_ws["law-woodgrove"]["total_retention_days"]) == (365, 2556)
    one_tenant = await tool("table_list", tenant="fabrikam", name="Heartbeat")
    assert sorted(t["workspace"] for t in one_tenant["tables"]) == ["law-fabrikam-ops", "law-fabrikam-prod"]


async def test_get_shows_the_schema_state_and_volume(tool, refused, la) -> None:
    out = await tool("table_get", workspace="law-fabrikam-prod", table="FirewallTraffic_CL")
    tables, rg, name = la("law-fabrikam-prod")
    sdk = tables.get(rg, name, "FirewallTraffic_CL")
    own = [(c["name"], c["type"]) for c in out["columns"] if c["source"] == "custom"]
    assert own == [(c.name, c.type) for c in sdk.schema.columns]
    assert ("DestinationPort", "int") in own and own[0] == ("TimeGenerated", "dateTime")
    assert out["provisioning_state"] == "Succeeded" and out["type"] == "custom" and out["retention_days"] == 180
    assert out["description"] == sdk.schema.description and out["volume_30d_gb"] is not None
    azure = await tool("table_get", workspace="law-northwind", table="SecurityEvent")
    standard = {c["name"]: c["type"] for c in azure["columns"] if c["source"] == "standard"}
    assert standard["EventID"] == "int" and standard["Account"] == "string" and azure["type"] == "microsoft"
    text = await refused("table_get", workspace="law-northwind", table="SecurityEvents")
    assert "law-northwind" in text and "no table 'SecurityEvents'" in text and "table_list" in text


async def test_unknown_filter_values_are_refused_with_the_choices(refused) -> None:
    text = await refused("table_list", workspace="law-tailspin", plan="Premium")
    assert "Analytics, Basic, Auxiliary" in text
    text = await refused("table_list", workspace="law-tailspin", type="system")
    assert "microsoft, custom, restored, search_results" in text
