"""The faults reliability tests need: a share of calls failing, lost answers to applied writes, and a
tenant whose discovery fails for a while and then recovers, seen through Microsoft's own clients.

The module has an emulator of its own: lost answers change incidents.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from azure.core import AsyncPipelineClient
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline import Pipeline
from azure.core.pipeline.policies import (
    AsyncBearerTokenCredentialPolicy,
    AsyncRetryPolicy,
    BearerTokenCredentialPolicy,
    RetryPolicy,
)
from azure.core.pipeline.transport import AioHttpTransport, RequestsTransport
from azure.core.rest import HttpRequest
from azure.identity.aio import ClientSecretCredential as AsyncClientSecretCredential
from azure.mgmt.securityinsight import SecurityInsightsMgmtClient
from test_sentinel_support import API, ARM_SCOPE, WORKSPACES, credential, raw, sentinel_emulator, sentinel_path, si

from sentinelkit_emulator import Emulator

__all__ = ["raw", "sentinel_emulator", "si"]  # fixtures used by this module
FAB_RG, FAB_WS = WORKSPACES["fabrikam"]
SUBS = {"api-version": "2022-12-01"}
INCIDENT_PUT = r"/incidents/[^/]+$"


@pytest.fixture
def emu(sentinel_emulator: Emulator) -> Iterator[Emulator]:
    """This module's emulator, with every fault removed when the test ends."""
    yield sentinel_emulator
    sentinel_emulator.clear_faults()


def _fault(emu: Emulator, fault_id: str) -> dict[str, Any]:
    return next(f for f in emu.faults() if f["id"] == fault_id)


def _async_credential(emu: Emulator, principal: str, **kwargs: Any) -> AsyncClientSecretCredential:
    """azure-identity's async credential, as the core builds it (no instance discovery, no MSAL)."""
    p = emu.principal(principal)
    return AsyncClientSecretCredential(p["tenant_id"], p["client_id"], p["client_secret"],
                                       authority=emu.info["authority_url"], connection_verify=emu.info["ca_path"],
                                       **kwargs)


def _sync_pipeline(emu: Emulator, retry: RetryPolicy) -> Pipeline[Any, Any]:
    """azure-core's synchronous stack (what Microsoft's sync SDK clients run on)."""
    return Pipeline(
        transport=RequestsTransport(connection_verify=emu.info["ca_path"]),
        policies=[retry, BearerTokenCredentialPolicy(credential(emu), ARM_SCOPE)],
    )


# -- a fraction of matching calls ---------------------------------------------------------------------
def _statuses(client: httpx.Client, calls: int) -> list[int]:
    return [client.get("/tenants", params=SUBS).status_code for _ in range(calls)]


def test_half_of_the_calls_throttled_the_same_way_for_the_same_seed(
    emu: Emulator, raw: Callable[..., httpx.Client]
) -> None:
    client = raw()
    storm = {"match": {"service": "arm", "path": "^/tenants$"}, "status": 429, "retry_after": 1, "fraction": 0.5}
    fault = emu.add_fault(**storm, seed=7)
    first = _statuses(client, 100)
    assert set(first) == {200, 429} and 35 <= first.count(429) <= 65
    stats = _fault(emu, fault["id"])
    assert (stats["matched"], stats["hits"]) == (100, first.count(429))  # the fault counts what it did
    throttled = client.get("/tenants", params=SUBS)
    while throttled.status_code != 429:
        throttled = client.get("/tenants", params=SUBS)
    assert throttled.headers["Retry-After"] == "1" and throttled.json()["error"]["code"] == "TooManyRequests"

    emu.clear_faults()
    emu.add_fault(**storm, seed=7)
    assert _statuses(client, 100) == first  # replayed exactly: tests need not be flaky
    emu.clear_faults()
    emu.add_fault(**storm, seed=8)
    assert _statuses(client, 100) != first


def test_azure_core_retries_through_a_throttling_storm(emu: Emulator) -> None:
    fault = emu.add_fault(match={"path": "^/tenants$"}, status=429, retry_after=0, fraction=0.5, seed=3)
    with _sync_pipeline(emu, RetryPolicy(retry_total=10, retry_backoff_factor=0.01)) as pipeline:
        for _ in range(10):
            request = HttpRequest("GET", f"{emu.info['arm_url']}/tenants?api-version=2022-12-01")
            assert pipeline.run(request).http_response.status_code == 200
    stats = _fault(emu, fault["id"])
    assert stats["hits"] > 0 and stats["matched"] - stats["hits"] == 10  # every call got through, after retries


def test_a_fraction_with_a_count_stops_after_that_many_failures(emu: Emulator, raw: Callable[..., httpx.Client]) -> None:
    emu.add_fault(match={"path": "^/tenants$"}, status=503, fraction=0.5, seed=1, count=3)
    statuses = _statuses(raw(), 40)
    assert statuses.count(503) == 3 and emu.faults() == []


# -- lost answers to applied writes -------------------------------------------------------------------
def _incident_url(emu: Emulator, incident_id: str) -> str:
    return f"{emu.info['arm_url']}{sentinel_path(emu, 'fabrikam')}/incidents/{incident_id}?api-version={API['api-version']}"


def _some_incident(si: Callable[..., SecurityInsightsMgmtClient], title: str) -> Any:
    client = si()
    incident = next(i for i in client.incidents.list(FAB_RG, FAB_WS) if i.properties.status != "Closed")
    incident.properties.title = title
    return client, incident


def test_a_put_whose_answer_is_dropped_is_applied_once_and_its_retry_meets_the_new_etag(
    emu: Emulator, si: Callable[..., SecurityInsightsMgmtClient]
) -> None:
    """Microsoft's SDK (requests + azure-core's RetryPolicy): the defect the core must survive."""
    client, incident = _some_incident(si, "Renamed while the network dropped the answer")
    attempts = emu.add_fault(match={"method": "PUT", "path": INCIDENT_PUT}, latency_ms=1)  # counts the PUTs
    lost = emu.add_fault(match={"method": "PUT", "path": INCIDENT_PUT, "tenant": "fabrikam"}, drop_response=True, count=1)
    with pytest.raises(HttpResponseError) as info:
        client.incidents.create_or_update(FAB_RG, FAB_WS, incident.name, incident)
    assert info.value.status_code == 412 and info.value.error.code == "PreconditionFailed"
    now = client.incidents.get(FAB_RG, FAB_WS, incident.name)
    assert now.properties.title == "Renamed while the network dropped the answer"  # the first PUT took effect
    assert now.etag != incident.etag
    assert _fault(emu, attempts["id"])["matched"] == 2  # the lost PUT and the retry refused with 412
    assert lost["id"] not in {f["id"] for f in emu.faults()}  # used up


async def test_the_same_through_the_async_stack_the_core_uses(emu: Emulator, raw: Callable[..., httpx.Client]) -> None:
    """aiohttp + AsyncRetryPolicy: the retry (aiohttp's own or the policy's) meets the new etag too."""
    first = raw().get(f"{sentinel_path(emu, 'fabrikam')}/incidents", params={**API, "$top": 1}).json()["value"][0]
    body = {"etag": first["etag"], "properties": {**first["properties"], "title": "Renamed over aiohttp"}}
    attempts = emu.add_fault(match={"method": "PUT", "path": INCIDENT_PUT}, latency_ms=1)
    emu.add_fault(match={"method": "PUT", "path": INCIDENT_PUT}, drop_response=True, count=1)
    async with _async_credential(emu, "sentinelkit-mssp") as cred:
        async with AsyncPipelineClient(
            base_url=emu.info["arm_url"],
            policies=[AsyncRetryPolicy(retry_total=3), AsyncBearerTokenCredentialPolicy(cred, ARM_SCOPE)],
            transport=AioHttpTransport(connection_verify=emu.info["ca_path"]),
        ) as client:
            response = await client.send_request(HttpRequest("PUT", _incident_url(emu, first["name"]), json=body))
            assert response.status_code == 412
            now = (await client.send_request(HttpRequest("GET", _incident_url(emu, first["name"])))).json()
    assert now["properties"]["title"] == "Renamed over aiohttp" and now["etag"] != first["etag"]
    assert _fault(emu, attempts["id"])["matched"] == 2


def test_a_late_answer_makes_a_client_with_a_short_timeout_retry(
    emu: Emulator, raw: Callable[..., httpx.Client]
) -> None:
    first = raw().get(f"{sentinel_path(emu, 'fabrikam')}/incidents", params={**API, "$top": 1}).json()["value"][0]
    body = {"etag": first["etag"], "properties": {**first["properties"], "title": "Renamed, answer late"}}
    emu.add_fault(match={"method": "PUT", "path": INCIDENT_PUT}, delay_response_seconds=5, count=1)
    with _sync_pipeline(emu, RetryPolicy(retry_total=3)) as pipeline:
        request = HttpRequest("PUT", _incident_url(emu, first["name"]), json=body)
        assert pipeline.run(request, read_timeout=0.5).http_response.status_code == 412
    now = raw().get(_incident_url(emu, first["name"])).json()
    assert now["properties"]["title"] == "Renamed, answer late"


def test_a_late_answer_still_arrives_for_a_patient_client(emu: Emulator, raw: Callable[..., httpx.Client]) -> None:
    fault = emu.add_fault(match={"method": "GET", "path": "^/tenants$"}, delay_response_seconds=0.2)
    response = raw().get("/tenants", params=SUBS)
    assert response.status_code == 200 and response.json()["value"]
    assert _fault(emu, fault["id"])["hits"] == 1


# -- one tenant's discovery fails for a while, then recovers --------------------------------------------
def _wait_until_gone(emu: Emulator, fault_id: str) -> None:
    deadline = time.monotonic() + 30
    while fault_id in {f["id"] for f in emu.faults()}:
        assert time.monotonic() < deadline, "the outage did not end"
        time.sleep(0.1)


def test_workspace_listing_fails_for_one_tenant_then_recovers(emu: Emulator, raw: Callable[..., httpx.Client]) -> None:
    client = raw()

    def list_workspaces(tenant: str) -> httpx.Response:
        path = f"/subscriptions/{emu.subscription_id(tenant)}/providers/Microsoft.OperationalInsights/workspaces"
        return client.get(path, params={"api-version": "2025-07-01"})

    outage = emu.add_fault(match={"tenant": "northwind", "service": "arm"}, status=503, duration_seconds=1)
    assert list_workspaces("fabrikam").status_code == 200
    assert _fault(emu, outage["id"])["expires_in_seconds"] == 1.0  # the clock starts with northwind's first call
    failed = list_workspaces("northwind")
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "ServiceUnavailable"
    _wait_until_gone(emu, outage["id"])
    assert [w["name"] for w in list_workspaces("northwind").json()["value"]] == [WORKSPACES["northwind"][1]]


async def test_token_endpoint_fails_for_one_tenant_then_recovers(emu: Emulator) -> None:
    """A per-tenant credential (no Lighthouse) cannot get a token during the outage, and can after it."""
    outage = emu.add_fault(match={"service": "identity", "tenant": "tailspin"}, status=503, duration_seconds=1)
    async with (_async_credential(emu, "sentinelkit-tailspin", retry_total=0) as down,
                _async_credential(emu, "sentinelkit-fabrikam", retry_total=0) as up):
        with pytest.raises(ClientAuthenticationError, match="AADSTS90033"):
            await down.get_token(ARM_SCOPE)
        assert (await up.get_token(ARM_SCOPE)).token
        _wait_until_gone(emu, outage["id"])
        assert (await down.get_token(ARM_SCOPE)).token
