"""Workbooks as Microsoft Sentinel stores them, over HTTPS: raw requests for exact statuses and bodies,
and Microsoft's azure-mgmt-applicationinsights when it is installed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import httpx
import pytest
from azure.identity import ClientSecretCredential
from spec_conformance import requires_specs, validate_response

from sentinelkit_emulator import Emulator

SPEC = "applicationinsights/stable/2023-06-01/workbooks_API.json"
API = {"api-version": "2023-06-01"}
SENTINEL = {**API, "category": "sentinel"}


def _rg_url(emulator: Emulator, tenant: str, rg: str) -> str:
    return f"/subscriptions/{emulator.subscription_id(tenant)}/resourceGroups/{rg}/providers/Microsoft.Insights/workbooks"


def test_lists_need_a_category_and_hide_content_by_default(emulator: Emulator, arm: httpx.Client) -> None:
    url = _rg_url(emulator, "fabrikam", "rg-sentinel")
    r = arm.get(url, params=API)
    assert r.status_code == 400 and "category" in r.json()["error"]["message"]
    listed = arm.get(url, params=SENTINEL).json()["value"]
    assert sorted(w["properties"]["displayName"] for w in listed) == [
        "Azure Activity", "Data collection health monitoring", "Identity & Access"]
    assert all("serializedData" not in w["properties"] for w in listed)
    assert all(w["kind"] == "shared" and w["properties"]["sourceId"] == emulator.workspace("law-fabrikam-prod")["id"]
               for w in listed)
    full = arm.get(url, params={**SENTINEL, "canFetchContent": "true"}).json()["value"]
    assert all(json.loads(w["properties"]["serializedData"])["version"] == "Notebook/1.0" for w in full)
    assert arm.get(url, params={**API, "category": "workbook"}).json()["value"] == []
    other = arm.get(url, params={**SENTINEL, "sourceId": emulator.workspace("law-fabrikam-ops")["id"]}).json()["value"]
    assert other == []  # law-fabrikam-ops has no Sentinel, so no Sentinel workbooks
    by_sub = arm.get(f"/subscriptions/{emulator.subscription_id('contoso-mssp')}/providers/Microsoft.Insights/workbooks",
                     params=SENTINEL).json()["value"]
    assert len(by_sub) == 4


@requires_specs
def test_responses_conform_to_the_spec(emulator: Emulator, arm: httpx.Client) -> None:
    url = _rg_url(emulator, "northwind", "rg-security")
    # the spec marks serializedData required, so only the full-content list can conform
    listed = arm.get(url, params={**SENTINEL, "canFetchContent": "true"}).json()
    validate_response(SPEC, "Workbooks_ListByResourceGroup", 200, listed)
    one = arm.get(listed["value"][0]["id"], params=API).json()
    validate_response(SPEC, "Workbooks_Get", 200, one)
    assert "serializedData" in one["properties"]
    revisions = arm.get(f"{one['id']}/revisions", params=API).json()
    validate_response(SPEC, "Workbooks_RevisionsList", 200, revisions)


def test_workbook_lifecycle_with_revisions(emulator: Emulator, arm: httpx.Client) -> None:
    name = str(uuid.uuid4())
    url = f"{_rg_url(emulator, 'tailspin', 'rg-sentinel-weu')}/{name}"
    ws = emulator.workspace("law-tailspin")["id"]
    body = {"location": "westeurope", "kind": "shared", "tags": {"hidden-title": "Tests"},
            "properties": {"displayName": "Tests", "category": "sentinel", "sourceId": ws,
                           "serializedData": json.dumps({"version": "Notebook/1.0", "items": []})}}
    r = arm.put(url, params=API, json=body)
    assert r.status_code == 201, r.text
    first = r.json()["properties"]["revision"]
    r = arm.patch(url, params=API, json={"properties": {"displayName": "Tests v2"}})
    assert r.status_code == 200 and r.json()["properties"]["displayName"] == "Tests v2"
    revisions = arm.get(f"{url}/revisions", params=API).json()["value"]
    assert len(revisions) == 2 and first in {rv["name"] for rv in revisions}
    old = arm.get(f"{url}/revisions/{first}", params=API).json()
    assert old["properties"]["displayName"] == "Tests" and "serializedData" in old["properties"]
    assert arm.delete(url, params=API).status_code == 200
    assert arm.get(url, params=API).status_code == 404
    assert arm.get(f"{url}/revisions", params=API).status_code == 404
    assert arm.delete(url, params=API).status_code == 204


@pytest.mark.parametrize(
    ("name", "patch", "needle"),
    [
        ("not-a-guid", {}, "GUID"),
        (None, {"kind": "user"}, "kind 'user'"),
        (None, {"properties": {"displayName": "x", "category": "sentinel", "serializedData": "{nope"}}, "valid JSON"),
        (None, {"properties": {"category": "sentinel", "serializedData": "{}"}}, "displayName"),
        (None, {"location": None}, "location"),
    ],
)
def test_invalid_workbooks_are_refused(emulator: Emulator, arm: httpx.Client, name: str | None, patch: dict,
                                       needle: str) -> None:
    body = {"location": "westeurope", "kind": "shared",
            "properties": {"displayName": "x", "category": "sentinel", "serializedData": "{}"}}
    body.update(patch)
    body = {k: v for k, v in body.items() if v is not None}
    url = f"{_rg_url(emulator, 'contoso-mssp', 'rg-soc')}/{name or uuid.uuid4()}"
    r = arm.put(url, params=API, json=body)
    assert r.status_code == 400 and needle in r.json()["error"]["message"], r.text


def test_content_above_the_service_limit_is_refused_with_413(emulator: Emulator, arm: httpx.Client) -> None:
    from sentinelkit_emulator.arm.resources.workbooks import MAX_SERIALIZED_BYTES

    url = f"{_rg_url(emulator, 'tailspin', 'rg-sentinel-weu')}/{uuid.uuid4()}"
    filler = "x" * (MAX_SERIALIZED_BYTES - 40)
    body = {"location": "westeurope", "kind": "shared",
            "properties": {"displayName": "Big", "category": "sentinel", "serializedData": json.dumps(
                {"version": "Notebook/1.0", "items": [{"type": 1, "content": {"json": filler}}]})}}
    r = arm.put(url, params=API, json=body)
    assert r.status_code == 413, r.status_code
    assert r.json()["error"] == {"code": "RequestEntityTooLarge", "message": "The workbook length is too large."}
    assert arm.get(url, params=API).status_code == 404
    body["properties"]["serializedData"] = json.dumps({"version": "Notebook/1.0", "items": []})
    assert arm.put(url, params=API, json=body).status_code == 201  # the same name is free: nothing was kept
    assert arm.delete(url, params=API).status_code == 200


def test_reader_cannot_write_workbooks(emulator: Emulator, arm_client: Callable[..., httpx.Client]) -> None:
    reader = arm_client("sentinelkit-reader")
    url = _rg_url(emulator, "northwind", "rg-security")
    assert len(reader.get(url, params=SENTINEL).json()["value"]) == 2
    r = reader.put(f"{url}/{uuid.uuid4()}", params=API, json={"location": "northeurope", "properties": {
        "displayName": "x", "category": "sentinel", "serializedData": "{}"}})
    assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed"


def test_with_the_applicationinsights_sdk(emulator: Emulator, credential_for: Callable[..., ClientSecretCredential]
                                          ) -> None:
    sdk = pytest.importorskip("azure.mgmt.applicationinsights", reason="azure-mgmt-applicationinsights not installed")
    from azure.mgmt.applicationinsights.v2023_06_01.models import Workbook

    client = sdk.ApplicationInsightsManagementClient(
        credential_for("sentinelkit-woodgrove"), emulator.subscription_id("woodgrove"), base_url=emulator.info["arm_url"],
        credential_scopes=["https://management.azure.com/.default"], connection_verify=emulator.info["ca_path"])
    with client:
        listed = list(client.workbooks.list_by_resource_group("rg-secops", category="sentinel"))
        assert {w.display_name for w in listed} == {"Data collection health monitoring", "Azure Activity"}
        got = client.workbooks.get("rg-secops", listed[0].name)
        assert got.serialized_data and got.kind == "shared"
        name = str(uuid.uuid4())
        created = client.workbooks.create_or_update("rg-secops", name, Workbook(
            location="eastus", kind="shared", display_name="SDK", category="sentinel", serialized_data="{}",
            source_id=emulator.workspace("law-woodgrove")["id"]))
        assert created.revision and created.source_id.endswith("law-woodgrove")
        assert [r.name for r in client.workbooks.revisions_list("rg-secops", name)] == [created.revision]
        client.workbooks.delete("rg-secops", name)
