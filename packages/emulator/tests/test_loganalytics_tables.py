"""Log Analytics tables through Microsoft's own SDK (azure-mgmt-loganalytics) over HTTPS: the seeded
scenario, the long-running create/update, and the rules the service enforces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.loganalytics import LogAnalyticsManagementClient
from azure.mgmt.loganalytics.models import Column, Schema, Table
from azure.monitor.query import LogsQueryClient, LogsQueryStatus
from spec_conformance import requires_specs, validate_response

from sentinelkit_emulator import Emulator

SPEC = "operationalinsights/stable/2026-03-01/Tables.json"
API = {"api-version": "2025-07-01"}


def _rg(workspace_id: str) -> str:
    return workspace_id.split("/")[4]


@pytest.fixture(scope="module")
def la(emulator: Emulator, sdk_client: Callable[..., Any]) -> Callable[..., Any]:
    """LogAnalyticsManagementClient for a workspace's subscription, as the given principal."""

    def make(workspace: str, principal: str = "sentinelkit-mssp") -> LogAnalyticsManagementClient:
        sub = emulator.workspace(workspace)["id"].split("/")[2]
        return sdk_client(LogAnalyticsManagementClient, sub, principal)

    return make


def test_seeded_tables_follow_the_scenario(la: Callable[..., Any]) -> None:
    fab = {t.name: t for t in la("law-fabrikam-prod").tables.list_by_workspace("rg-sentinel", "law-fabrikam-prod")}
    assert {"SecurityIncident", "SecurityAlert", "SentinelHealth", "Heartbeat", "Usage", "SigninLogs",
            "AzureActivity", "SecurityEvent", "Syslog", "CommonSecurityLog", "AuditLogs", "OfficeActivity"} <= set(fab)
    audit = fab["AppAudit_CL"]
    assert (audit.plan, audit.retention_in_days, audit.total_retention_in_days) == ("Basic", 8, 8)
    assert audit.schema.table_type == "CustomLog" and audit.schema.table_sub_type == "DataCollectionRuleBased"
    assert audit.schema.columns[0].name == "TimeGenerated"
    assert fab["SecurityIncident"].retention_in_days >= 90 and fab["Heartbeat"].retention_in_days_as_default
    nw = la("law-northwind").tables.get("rg-security", "law-northwind", "SecurityEvent")
    assert (nw.retention_in_days, nw.total_retention_in_days) == (30, 30)
    ops = {t.name for t in la("law-fabrikam-ops").tables.list_by_workspace("rg-sentinel", "law-fabrikam-ops")}
    assert "Heartbeat" in ops and "SecurityIncident" not in ops  # Sentinel's tables need Sentinel


@requires_specs
def test_list_and_get_conform_to_the_spec(emulator: Emulator, arm: httpx.Client) -> None:
    ws = emulator.workspace("law-fabrikam-prod")["id"]
    r = arm.get(f"{ws}/tables", params=API)
    assert r.status_code == 200 and "nextLink" not in r.json()
    validate_response(SPEC, "Tables_ListByWorkspace", 200, r.json())
    for name in ("AppAudit_CL", "SecurityEvent"):
        r = arm.get(f"{ws}/tables/{name}", params=API)
        validate_response(SPEC, "Tables_Get", 200, r.json())


def test_custom_table_lifecycle_with_the_sdk(la: Callable[..., Any]) -> None:
    client = la("law-contoso-soc")
    rg, ws = "rg-soc", "law-contoso-soc"
    table = Table(schema=Schema(name="SdkLifecycle_CL", columns=[
        Column(name="TimeGenerated", type="dateTime"), Column(name="Message", type="string"),
        Column(name="Count", type="int")]), retention_in_days=60, total_retention_in_days=365)
    created = client.tables.begin_create_or_update(rg, ws, "SdkLifecycle_CL", table).result()
    assert created.provisioning_state == "Succeeded"
    got = client.tables.get(rg, ws, "SdkLifecycle_CL")
    assert (got.retention_in_days, got.total_retention_in_days, got.archive_retention_in_days) == (60, 365, 305)
    assert got.plan == "Analytics" and got.provisioning_state == "Succeeded"

    defaults = client.tables.begin_update(rg, ws, "SdkLifecycle_CL", Table(retention_in_days=-1,
                                                                               total_retention_in_days=-1)).result()
    assert (defaults.retention_in_days, defaults.retention_in_days_as_default, defaults.total_retention_in_days,
            defaults.total_retention_in_days_as_default) == (90, True, 90, True)
    updated = client.tables.begin_update(rg, ws, "SdkLifecycle_CL", Table(plan="Basic")).result()
    # a plan switch keeps the total retention: days 31-90 become long-term retention
    assert (updated.plan, updated.retention_in_days, updated.total_retention_in_days) == ("Basic", 30, 90)
    assert updated.archive_retention_in_days == 60
    with pytest.raises(HttpResponseError) as err:  # one plan switch per table per week
        client.tables.begin_update(rg, ws, "SdkLifecycle_CL", Table(plan="Analytics")).result()
    assert err.value.status_code == 400 and "once a week" in str(err.value)
    assert client.tables.get(rg, ws, "SdkLifecycle_CL").plan == "Basic"

    client.tables.begin_delete(rg, ws, "SdkLifecycle_CL").result()
    with pytest.raises(ResourceNotFoundError):
        client.tables.get(rg, ws, "SdkLifecycle_CL")


def test_retention_update_of_an_azure_table(la: Callable[..., Any]) -> None:
    client = la("law-woodgrove", principal="sentinelkit-woodgrove")
    t = client.tables.begin_update("rg-secops", "law-woodgrove", "Syslog", Table(retention_in_days=120)).result()
    assert (t.retention_in_days, t.retention_in_days_as_default, t.total_retention_in_days) == (120, False, 120)
    with pytest.raises(HttpResponseError) as err:
        client.tables.begin_update("rg-secops", "law-woodgrove", "Syslog", Table(plan="Basic")).result()
    assert err.value.status_code == 400 and "doesn't support the Basic plan" in str(err.value)


@pytest.mark.parametrize(
    ("name", "body", "needle"),
    [
        ("NoSuffix", {"schema": {"columns": [{"name": "TimeGenerated", "type": "datetime"}]}}, "must end with '_CL'"),
        ("NoTime_CL", {"schema": {"columns": [{"name": "Message", "type": "string"}]}}, "TimeGenerated"),
        ("BadType_CL", {"schema": {"columns": [{"name": "TimeGenerated", "type": "datetime"},
                                               {"name": "X", "type": "text"}]}}, "invalid type 'text'"),
        ("Reserved_CL", {"schema": {"columns": [{"name": "TimeGenerated", "type": "datetime"},
                                                {"name": "TenantId", "type": "string"}]}}, "reserved"),
        ("TooLong_CL", {"retentionInDays": 731, "schema": {"columns": [{"name": "TimeGenerated",
                                                                         "type": "datetime"}]}}, "between 4 and 730"),
        ("Total_CL", {"retentionInDays": 90, "totalRetentionInDays": 30,
                      "schema": {"columns": [{"name": "TimeGenerated", "type": "datetime"}]}}, "greater than or equal"),
        ("SecurityEvent", {"plan": "Basic"}, "doesn't support the Basic plan"),
    ],
)
def test_invalid_table_writes_are_refused(emulator: Emulator, arm: httpx.Client, name: str, body: dict[str, Any],
                                          needle: str) -> None:
    ws = emulator.workspace("law-tailspin")["id"]
    r = arm.put(f"{ws}/tables/{name}", params=API, json={"properties": body})
    assert r.status_code == 400, r.text
    assert needle in r.json()["error"]["message"]


def test_azure_tables_cannot_be_deleted_and_unknown_tables_are_404(emulator: Emulator, arm: httpx.Client) -> None:
    ws = emulator.workspace("law-tailspin")["id"]
    r = arm.delete(f"{ws}/tables/Heartbeat", params=API)
    assert r.status_code == 400 and "can't be deleted" in r.json()["error"]["message"]
    assert arm.get(f"{ws}/tables/Heartbeat", params=API).status_code == 200
    r = arm.get(f"{ws}/tables/Nope_CL", params=API)
    assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound"
    assert arm.get(f"{ws}/tables", params={"api-version": "2019-01-01"}).status_code == 400


def test_malformed_body_is_400_and_the_server_keeps_serving(emulator: Emulator, arm: httpx.Client) -> None:
    ws = emulator.workspace("law-tailspin")["id"]
    r = arm.put(f"{ws}/tables/Broken_CL", params=API, content=b'{"properties": {', headers={
        "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRequestContent"
    r = arm.put(f"{ws}/tables/Broken_CL", params=API, json={"properties": {"schema": "nope"}})
    assert r.status_code == 400
    assert arm.get(f"{ws}/tables/Syslog", params=API).status_code == 200


def test_reader_cannot_write_tables(la: Callable[..., Any]) -> None:
    client = la("law-northwind", principal="sentinelkit-reader")
    assert client.tables.get("rg-security", "law-northwind", "SecurityEvent").retention_in_days == 30
    with pytest.raises(HttpResponseError) as err:
        client.tables.begin_update("rg-security", "law-northwind", "SecurityEvent", Table(retention_in_days=90))
    assert err.value.status_code == 403 and err.value.error.code == "AuthorizationFailed"


def test_classic_table_migrates_then_may_use_basic(emulator: Emulator, arm: httpx.Client) -> None:
    ws = emulator.workspace("law-northwind")["id"]
    r = arm.patch(f"{ws}/tables/LegacyInventory_CL", params=API, json={"properties": {"plan": "Basic"}})
    assert r.status_code == 400 and "Migrate" in r.json()["error"]["message"]
    assert arm.post(f"{ws}/tables/LegacyInventory_CL/migrate", params=API).status_code == 200
    r = arm.get(f"{ws}/tables/LegacyInventory_CL", params=API).json()
    assert r["properties"]["schema"]["tableSubType"] == "DataCollectionRuleBased"
    r = arm.post(f"{ws}/tables/LegacyInventory_CL/migrate", params=API)
    assert r.status_code == 400


def test_table_patch_is_long_running(emulator: Emulator, arm: httpx.Client) -> None:
    ws = emulator.workspace("law-contoso-soc")["id"]
    r = arm.patch(f"{ws}/tables/SocAutomationAudit_CL", params=API, json={"properties": {"totalRetentionInDays": 400}})
    assert r.status_code == 202
    status = arm.get(r.headers["Azure-AsyncOperation"])
    assert status.status_code == 200 and status.json()["status"] in ("InProgress", "Succeeded")
    for _ in range(3):
        if arm.get(r.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded":
            break
    table = arm.get(f"{ws}/tables/SocAutomationAudit_CL", params=API).json()["properties"]
    assert table["provisioningState"] == "Succeeded" and table["totalRetentionInDays"] == 400


def test_the_plan_chosen_at_creation_is_not_a_switch(la: Callable[..., Any]) -> None:
    client = la("law-contoso-soc")
    rg, ws = "rg-soc", "law-contoso-soc"
    table = Table(plan="Basic", schema=Schema(name="CreatedBasic_CL", columns=[
        Column(name="TimeGenerated", type="dateTime"), Column(name="Message", type="string")]))
    try:
        assert client.tables.begin_create_or_update(rg, ws, "CreatedBasic_CL", table).result().plan == "Basic"
        switched = client.tables.begin_update(rg, ws, "CreatedBasic_CL", Table(plan="Analytics")).result()
        assert (switched.plan, switched.retention_in_days, switched.retention_in_days_as_default) == ("Analytics", 90,
                                                                                                       True)
    finally:
        client.tables.begin_delete(rg, ws, "CreatedBasic_CL").result()


def test_a_table_still_updating_refuses_the_next_write(emulator: Emulator, arm: httpx.Client) -> None:
    ws = emulator.workspace("law-tailspin")["id"]
    path = f"{ws}/tables/CheckoutEvents_CL"
    before = arm.get(path, params=API).json()["properties"]["totalRetentionInDays"]
    first = arm.patch(path, params=API, json={"properties": {"totalRetentionInDays": before + 10}})
    assert first.status_code == 202
    assert arm.get(path, params=API).json()["properties"]["provisioningState"] == "Updating"
    second = arm.patch(path, params=API, json={"properties": {"totalRetentionInDays": before + 20}})
    assert second.status_code == 409 and second.json()["error"]["code"] == "Conflict"
    assert "Updating" in second.json()["error"]["message"]
    assert arm.delete(path, params=API).status_code == 409
    while arm.get(first.headers["Azure-AsyncOperation"]).json()["status"] != "Succeeded":
        pass
    done = arm.get(path, params=API).json()["properties"]
    assert (done["provisioningState"], done["totalRetentionInDays"]) == ("Succeeded", before + 10)
    restored = arm.patch(path, params=API, json={"properties": {"totalRetentionInDays": before}})
    assert restored.status_code == 202
    while arm.get(restored.headers["Azure-AsyncOperation"]).json()["status"] != "Succeeded":
        pass


def test_rows_appended_through_the_admin_api_are_queried(emulator: Emulator,
                                                         credential_for: Callable[..., Any]) -> None:
    ws = emulator.workspace("law-fabrikam-prod")
    logs_client = LogsQueryClient(credential_for(), endpoint=emulator.info["logs_url"],
                                  audience="https://api.loganalytics.io", connection_verify=emulator.info["ca_path"])
    rows = [{"TimeGenerated": f"2024-03-01T00:00:0{i}Z", "Action": f"admin-{i}", "UserPrincipalName": "ops@fabrikam.com"}
            for i in range(5)]
    try:
        done = emulator.append_logs("law-fabrikam-prod", "AppAudit_CL", rows)
        assert done["appended"] == 5 and done["rows"] >= 5
        result = logs_client.query_workspace(ws["customer_id"], "AppAudit_CL | where Action startswith 'admin-' "
                                             "| sort by TimeGenerated asc | project Action", timespan=None)
        assert [r[0] for r in result.tables[0].rows] == [f"admin-{i}" for i in range(5)]
        emulator.set_query_limits(max_rows=3)  # the service's 500,000-row limit, lowered: a partial answer
        cut = logs_client.query_workspace(ws["customer_id"], "AppAudit_CL | where Action startswith 'admin-'",
                                          timespan=None)
        assert cut.status == LogsQueryStatus.PARTIAL and len(cut.partial_data[0].rows) == 3
        assert "exceed the set limit of 3 records" in str(cut.partial_error)
        with pytest.raises(ValueError, match="'Nope'.*its columns: .*Action"):
            emulator.append_logs("law-fabrikam-prod", "AppAudit_CL", [{"Nope": 1}])
        with pytest.raises(ValueError, match="no table 'Missing_CL'.*create a custom table"):
            emulator.append_logs("law-fabrikam-prod", "Missing_CL", [{"Message": "x"}])
    finally:
        logs_client.close()
        emulator.reset()
