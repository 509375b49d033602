"""Fault injection and the admin API: what later fan-out and retry tests rely on."""

from __future__ import annotations

import time

import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline import Pipeline
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest

from sentinelkit_emulator import Emulator

SUBS = {"api-version": "2022-12-01"}


def test_429_with_retry_after_for_one_tenant_only(emulator_faults: Emulator, arm: httpx.Client) -> None:
    emu = emulator_faults
    emu.add_fault(match={"tenant": "northwind", "service": "arm"}, status=429, retry_after=7, count=1)
    r = arm.get(f"/subscriptions/{emu.subscription_id('fabrikam')}", params=SUBS)
    assert r.status_code == 200  # another tenant is untouched
    r = arm.get(f"/subscriptions/{emu.subscription_id('northwind')}", params=SUBS)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "7"
    assert r.json()["error"]["code"] == "TooManyRequests"
    assert arm.get(f"/subscriptions/{emu.subscription_id('northwind')}", params=SUBS).status_code == 200  # count used up


def test_503_until_removed_and_fault_listing(emulator_faults: Emulator, arm: httpx.Client) -> None:
    emu = emulator_faults
    fault = emu.add_fault(match={"path": r"^/tenants$"}, status=503)
    for _ in range(3):
        r = arm.get("/tenants", params=SUBS)
        assert r.status_code == 503 and r.json()["error"]["code"] == "ServiceUnavailable"
    listed = emu.admin.get("/faults").json()["value"]
    assert [(f["id"], f["hits"]) for f in listed] == [(fault["id"], 3)]
    assert emu.admin.delete(f"/faults/{fault['id']}").status_code == 204
    assert arm.get("/tenants", params=SUBS).status_code == 200


def test_latency_is_added(emulator_faults: Emulator, arm: httpx.Client) -> None:
    emulator_faults.add_fault(match={"path": "^/tenants$"}, latency_ms=300, count=1)
    start = time.perf_counter()
    assert arm.get("/tenants", params=SUBS).status_code == 200
    assert time.perf_counter() - start >= 0.3


def test_hang_then_gateway_timeout_and_client_timeout(emulator_faults: Emulator, arm: httpx.Client) -> None:
    emulator_faults.add_fault(match={"path": "^/tenants$"}, hang_seconds=2, count=1)
    with pytest.raises(httpx.ReadTimeout):
        arm.get("/tenants", params=SUBS, timeout=0.5)
    emulator_faults.add_fault(match={"path": "^/tenants$"}, hang_seconds=0.2, count=1)
    assert arm.get("/tenants", params=SUBS).status_code == 504


def test_azure_core_retry_policy_honours_injected_retry_after(
    emulator_faults: Emulator, credential_for
) -> None:
    """Microsoft's own retry policy waits as told by Retry-After and then succeeds."""
    emulator_faults.add_fault(match={"path": "^/tenants$"}, status=429, retry_after=1, count=2)
    pipeline = Pipeline(
        transport=RequestsTransport(connection_verify=emulator_faults.info["ca_path"]),
        policies=[
            RetryPolicy(retry_total=3),
            BearerTokenCredentialPolicy(credential_for(), "https://management.azure.com/.default"),
        ],
    )
    start = time.perf_counter()
    with pipeline:
        response = pipeline.run(
            HttpRequest("GET", f"{emulator_faults.info['arm_url']}/tenants?api-version=2022-12-01")
        ).http_response
    assert response.status_code == 200
    assert time.perf_counter() - start >= 2.0  # two waits of Retry-After: 1


def test_identity_faults_reach_azure_identity(emulator_faults: Emulator, credential_for) -> None:
    emulator_faults.add_fault(match={"service": "identity", "tenant": "tailspin"}, status=503)
    from azure.core.exceptions import ClientAuthenticationError

    with pytest.raises((ClientAuthenticationError, HttpResponseError)):
        credential_for("sentinelkit-tailspin").get_token("https://management.azure.com/.default")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"match": {"path": "("}, "status": 500}, "not a valid regular expression"),
        ({"status": 200}, "HTTP error status"),
        ({"match": {"service": "dns"}, "status": 500}, "service must be one of arm, logs, identity"),
        ({"match": {"path": "x"}}, "a fault needs an effect"),
        ({"match": {"nonsense": 1}, "status": 500}, "unknown match field(s) nonsense"),
        ({"status": 500, "hits": 3}, "unknown field(s) hits"),  # statistics are not input
        ({"match": {"tenant": "nortwind"}, "status": 503}, "no tenant 'nortwind'"),  # a typo never matches silently
        ({"status": "429"}, "status must be an HTTP error status (400-599), not '429'"),
        ({"status": 429, "fraction": 0}, "fraction must be above 0"),
        ({"status": 429, "fraction": 1.5}, "fraction must be above 0"),
        ({"status": 429, "fraction": 0.5, "seed": 1.5}, "seed must be an integer"),
        ({"status": 429, "count": 0}, "count must be at least 1"),
        ({"status": 503, "duration_seconds": 0}, "duration_seconds must be above 0"),
        ({"drop_response": "yes"}, "drop_response must be true or false"),
        ({"drop_response": True, "status": 500}, "one or the other"),
        ({"drop_response": True, "delay_response_seconds": 1}, "exclude each other"),
        ({"match": "northwind", "status": 503}, "match must be an object"),
    ],
)
def test_bad_fault_definitions_are_rejected_clearly(emulator: Emulator, body: dict, says: str) -> None:
    r = emulator.admin.post("/faults", json=body)
    message = r.json()["error"]["message"]
    assert r.status_code == 400 and message.startswith("invalid fault") and says in message
    assert emulator.admin.get("/faults").json()["value"] == []


def test_reset_restores_the_scenario_and_keeps_credentials(fresh_emulator: Emulator, credential_for) -> None:
    emu = fresh_emulator
    p = emu.principal("sentinelkit-mssp")
    from azure.identity import ClientSecretCredential

    cred = ClientSecretCredential(
        p["tenant_id"], p["client_id"], p["client_secret"], authority=emu.info["authority_url"],
        connection_verify=emu.info["ca_path"], disable_instance_discovery=True,
    )
    headers = {"Authorization": "Bearer " + cred.get_token("https://management.azure.com/.default").token}
    sub = emu.subscription_id("fabrikam")
    url = f"{emu.info['arm_url']}/subscriptions/{sub}/resourcegroups/rg-temp?api-version=2021-04-01"
    assert httpx.put(url, json={"location": "westeurope"}, headers=headers, verify=emu.ssl_context()).status_code == 201
    emu.add_fault(match={"path": "nothing-matches-this"}, status=500)
    emu.reset()
    assert httpx.get(url, headers=headers, verify=emu.ssl_context()).status_code == 404
    assert emu.admin.get("/faults").json()["value"] == []


def test_traffic_counts_requests_and_peak_concurrency_per_target_tenant(emulator_faults: Emulator, arm) -> None:
    """What a client's test uses to check it bounds concurrency per tenant, without timing anything."""
    import asyncio

    emu = emulator_faults
    emu.add_fault(match={"tenant": "northwind", "service": "arm"}, latency_ms=500)
    emu.reset_traffic()
    url = f"{emu.info['arm_url']}/subscriptions/{emu.subscription_id('northwind')}"
    other = f"{emu.info['arm_url']}/subscriptions/{emu.subscription_id('fabrikam')}"

    async def burst() -> None:
        async with httpx.AsyncClient(verify=emu.ssl_context(), headers=dict(arm.headers)) as client:
            await asyncio.gather(*(client.get(url, params=SUBS) for _ in range(6)), client.get(other, params=SUBS))

    asyncio.run(burst())
    traffic = emu.traffic()
    assert traffic["requests"]["arm:northwind"] == 6 and traffic["requests"]["arm:fabrikam"] == 1
    assert traffic["max_in_flight"]["arm:northwind"] == 6  # all six were held by the latency together
    emu.reset_traffic()
    after = emu.traffic()
    assert after["requests"] == {} and after["max_in_flight"] == {} and after["api_versions"] == {}
