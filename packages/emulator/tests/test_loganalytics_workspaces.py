"""Log Analytics workspaces and saved searches through azure-mgmt-loganalytics over HTTPS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.loganalytics import LogAnalyticsManagementClient
from azure.mgmt.loganalytics.models import SavedSearch, Workspace, WorkspacePatch, WorkspaceSku
from spec_conformance import requires_specs, validate_response

from sentinelkit_emulator import Emulator

WS_SPEC = "operationalinsights/stable/2026-03-01/Workspaces.json"
SS_SPEC = "operationalinsights/stable/2026-03-01/SavedSearches.json"
API = {"api-version": "2025-07-01"}


@pytest.fixture(scope="module")
def la(emulator: Emulator, sdk_client: Callable[..., Any]) -> Callable[..., Any]:
    def make(tenant: str, principal: str = "sentinelkit-mssp") -> LogAnalyticsManagementClient:
        return sdk_client(LogAnalyticsManagementClient, emulator.subscription_id(tenant), principal)

    return make


def test_list_workspaces_by_subscription_and_resource_group(la: Callable[..., Any]) -> None:
    client = la("fabrikam")
    by_sub = sorted(w.name for w in client.workspaces.list())
    assert by_sub == ["law-fabrikam-ops", "law-fabrikam-prod"]
    by_rg = sorted(w.name for w in client.workspaces.list_by_resource_group("rg-sentinel"))
    assert by_rg == by_sub
    ws = client.workspaces.get("rg-sentinel", "law-fabrikam-prod")
    assert ws.retention_in_days == 90 and ws.sku.name == "PerGB2018"
    uuid.UUID(ws.customer_id)


@requires_specs
def test_workspace_responses_conform_to_the_spec(emulator: Emulator, arm: httpx.Client) -> None:
    sub = emulator.subscription_id("northwind")
    r = arm.get(f"/subscriptions/{sub}/providers/Microsoft.OperationalInsights/workspaces", params=API)
    validate_response(WS_SPEC, "Workspaces_List", 200, r.json())
    ws = r.json()["value"][0]["id"]
    validate_response(WS_SPEC, "Workspaces_Get", 200, arm.get(ws, params=API).json())
    r = arm.get(f"{ws}/savedSearches", params=API)
    validate_response(SS_SPEC, "SavedSearches_ListByWorkspace", 200, r.json())
    validate_response(SS_SPEC, "SavedSearches_Get", 200, arm.get(r.json()["value"][0]["id"], params=API).json())


def test_create_update_delete_a_workspace(la: Callable[..., Any]) -> None:
    client = la("contoso-mssp")
    created = client.workspaces.begin_create_or_update(
        "rg-soc", "law-sdk-created", Workspace(location="West Europe", sku=WorkspaceSku(name="PerGB2018"),
                                               retention_in_days=30, tags={"env": "test"})).result()
    assert created.provisioning_state == "Succeeded" and created.location == "westeurope"
    assert created.customer_id != client.workspaces.get("rg-soc", "law-contoso-soc").customer_id
    tables = {t.name: t for t in client.tables.list_by_workspace("rg-soc", "law-sdk-created")}
    assert "Heartbeat" in tables and "SecurityIncident" not in tables and tables["Heartbeat"].retention_in_days == 30

    patched = client.workspaces.update("rg-soc", "law-sdk-created", WorkspacePatch(retention_in_days=120))
    assert patched.retention_in_days == 120 and patched.tags == {"env": "test"}
    assert client.tables.get("rg-soc", "law-sdk-created", "Heartbeat").retention_in_days == 120

    with pytest.raises(HttpResponseError) as err:
        client.workspaces.begin_create_or_update("rg-soc", "law-sdk-created", Workspace(location="eastus")).result()
    assert err.value.error.code == "InvalidResourceLocation"
    client.workspaces.begin_delete("rg-soc", "law-sdk-created").result()
    with pytest.raises(ResourceNotFoundError):
        client.workspaces.get("rg-soc", "law-sdk-created")
    with pytest.raises(ResourceNotFoundError):
        client.tables.get("rg-soc", "law-sdk-created", "Heartbeat")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"properties": {}}, "location"),
        ({"location": "westeurope", "properties": {"retentionInDays": 5000}}, "between 30 and 730"),
        ({"location": "westeurope", "properties": {"sku": {"name": "Free"}}}, "Pricing tier 'Free'"),
        ({"location": "westeurope", "properties": {"sku": {"name": "Bogus"}}}, "Allowed values"),
    ],
)
def test_invalid_workspaces_are_refused(emulator: Emulator, arm: httpx.Client, body: dict[str, Any],
                                        needle: str) -> None:
    sub = emulator.subscription_id("contoso-mssp")
    r = arm.put(f"/subscriptions/{sub}/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/"
                "law-invalid", params=API, json=body)
    assert r.status_code == 400 and needle in r.json()["error"]["message"], r.text


def test_reader_sees_but_cannot_change_workspaces(la: Callable[..., Any]) -> None:
    client = la("tailspin", principal="sentinelkit-reader")
    assert [w.name for w in client.workspaces.list()] == ["law-tailspin"]
    with pytest.raises(HttpResponseError) as err:
        client.workspaces.update("rg-sentinel-weu", "law-tailspin", WorkspacePatch(retention_in_days=120))
    assert err.value.status_code == 403


def test_saved_searches_and_functions(la: Callable[..., Any]) -> None:
    client = la("northwind")
    rg, ws = "rg-security", "law-northwind"
    listed = client.saved_searches.list_by_workspace(rg, ws).value
    aliases = {s.function_alias for s in listed if s.function_alias}
    assert {"FailedSignins", "HeartbeatGaps", "VpnSessions"} <= aliases
    assert any(s.category == "Hunting Queries" for s in listed)

    fn = client.saved_searches.create_or_update(rg, ws, "sdk-fn", SavedSearch(
        category="Tests", display_name="Signins for a user", query="SigninLogs | where UserPrincipalName == upn",
        function_alias="SigninsFor", function_parameters='upn:string = "alice@contoso.com"'))
    assert fn.etag.startswith('W/"datetime') and fn.version == 2
    got = client.saved_searches.get(rg, ws, "sdk-fn")
    assert got.function_alias == "SigninsFor" and got.function_parameters.startswith("upn:string")

    with pytest.raises(HttpResponseError) as err:  # function aliases are unique per workspace
        client.saved_searches.create_or_update(rg, ws, "sdk-fn-2", SavedSearch(
            category="Tests", display_name="dup", query="print 1", function_alias="SigninsFor"))
    assert err.value.status_code == 409
    with pytest.raises(HttpResponseError) as err:  # a stale etag is refused
        client.saved_searches.create_or_update(rg, ws, "sdk-fn", SavedSearch(
            category="Tests", display_name="x", query="print 1", etag='W/"datetime\'2001-01-01T00%3A00%3A00Z\'"'))
    assert err.value.status_code == 412
    client.saved_searches.create_or_update(rg, ws, "sdk-fn", SavedSearch(
        category="Tests", display_name="overwritten", query="print 2", etag="*"))
    assert client.saved_searches.get(rg, ws, "sdk-fn").display_name == "overwritten"

    client.saved_searches.delete(rg, ws, "sdk-fn")
    client.saved_searches.delete(rg, ws, "sdk-fn")  # deleting again is not an error
    with pytest.raises(ResourceNotFoundError):
        client.saved_searches.get(rg, ws, "sdk-fn")


@pytest.mark.parametrize(
    ("props", "needle"),
    [
        ({"displayName": "x", "query": "print 1"}, "'category'"),
        ({"category": "c", "displayName": "x", "query": "print 1", "functionAlias": "1bad"}, "Function alias"),
        ({"category": "c", "displayName": "x", "query": "print 1", "functionAlias": "f",
          "functionParameters": "nope"}, "Function parameter"),
    ],
)
def test_invalid_saved_searches_are_refused(emulator: Emulator, arm: httpx.Client, props: dict[str, Any],
                                            needle: str) -> None:
    ws = next(w for w in emulator.info["workspaces"] if w["name"] == "law-tailspin")["id"]
    r = arm.put(f"{ws}/savedSearches/bad", params=API, json={"properties": props})
    assert r.status_code == 400 and needle in r.json()["error"]["message"], r.text
