"""Multi-tenancy as an MSSP sees it: Lighthouse delegation, a customer that is not delegated,
per-tenant credentials, and a read-only principal."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from spec_conformance import requires_specs, validate_response

from sentinelkit_emulator import Emulator

SUBS = {"api-version": "2022-12-01"}


def test_managing_principal_sees_own_and_delegated_subscriptions_only(emulator: Emulator, arm: httpx.Client) -> None:
    subs = arm.get("/subscriptions", params=SUBS).json()["value"]
    names = {s["displayName"] for s in subs}
    assert names == {"Contoso MSSP SOC", "Fabrikam Production", "Northwind Security", "Tailspin Shared Services"}
    managing = emulator.tenant("contoso-mssp")["id"]
    for sub in subs:
        if sub["displayName"] == "Contoso MSSP SOC":
            assert sub["managedByTenants"] == [] and sub["tenantId"] == managing
        else:
            assert sub["managedByTenants"] == [{"tenantId": managing}]
            assert sub["tenantId"] != managing


def test_undelegated_customer_stays_invisible_to_the_managing_tenant(emulator: Emulator, arm: httpx.Client) -> None:
    woodgrove_sub = emulator.subscription_id("woodgrove")
    r = arm.get(f"/subscriptions/{woodgrove_sub}", params=SUBS)
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationTokenTenant"
    r = arm.get(f"/subscriptions/{woodgrove_sub}/resourcegroups", params={"api-version": "2021-04-01"})
    assert r.status_code == 401
    tenants = arm.get("/tenants", params=SUBS).json()["value"]
    assert "Woodgrove Bank" not in {t["displayName"] for t in tenants}


def test_per_tenant_credential_reaches_the_undelegated_customer(
    emulator: Emulator, arm_client: Callable[..., httpx.Client]
) -> None:
    """The MSSP's multi-tenant app signs in to woodgrove's directory and sees woodgrove only."""
    client = arm_client("sentinelkit-mssp", tenant="woodgrove")
    subs = client.get("/subscriptions", params=SUBS).json()["value"]
    assert [s["displayName"] for s in subs] == ["Woodgrove Bank SecOps"]
    woodgrove_own = arm_client("sentinelkit-woodgrove")
    assert woodgrove_own.get(f"/subscriptions/{emulator.subscription_id('woodgrove')}", params=SUBS).status_code == 200


def test_tenants_lists_home_and_projected_customers(emulator: Emulator, arm: httpx.Client) -> None:
    tenants = {t["displayName"]: t["tenantCategory"] for t in arm.get("/tenants", params=SUBS).json()["value"]}
    assert tenants == {
        "Contoso MSSP": "Home",
        "Fabrikam Ltd": "ProjectedBy",
        "Northwind Traders": "ProjectedBy",
        "Tailspin Toys": "ProjectedBy",
    }


def test_lighthouse_registrations_are_readable_in_the_customer_subscription(emulator: Emulator, arm: httpx.Client) -> None:
    sub = emulator.subscription_id("fabrikam")
    r = arm.get(
        f"/subscriptions/{sub}/providers/Microsoft.ManagedServices/registrationAssignments",
        params={"api-version": "2022-10-01", "$expandRegistrationDefinition": "true"},
    )
    assert r.status_code == 200
    [assignment] = r.json()["value"]
    definition = assignment["properties"]["registrationDefinition"]["properties"]
    assert definition["managedByTenantId"] == emulator.tenant("contoso-mssp")["id"]
    principals = {a["principalIdDisplayName"] for a in definition["authorizations"]}
    assert principals == {"sentinelkit-mssp", "sentinelkit-reader"}


def test_read_only_principal_reads_but_every_write_is_403(emulator: Emulator, arm_client) -> None:
    reader = arm_client("sentinelkit-reader")
    sub = emulator.subscription_id("northwind")
    assert reader.get(f"/subscriptions/{sub}/resourcegroups", params={"api-version": "2021-04-01"}).status_code == 200
    r = reader.put(
        f"/subscriptions/{sub}/resourcegroups/rg-new", params={"api-version": "2021-04-01"},
        json={"location": "westeurope"},
    )
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert "Microsoft.Resources/subscriptions/resourceGroups/write" in error["message"]
    assert reader.get(f"/subscriptions/{sub}/resourcegroups/rg-new", params={"api-version": "2021-04-01"}).status_code == 404


def test_unknown_subscription_and_resource_group(emulator: Emulator, arm: httpx.Client) -> None:
    r = arm.get("/subscriptions/00000000-0000-0000-0000-000000000000", params=SUBS)
    assert r.status_code == 404 and r.json()["error"]["code"] == "SubscriptionNotFound"
    sub = emulator.subscription_id("fabrikam")
    r = arm.get(f"/subscriptions/{sub}/resourceGroups/rg-nope/providers/Microsoft.OperationalInsights/workspaces",
                params={"api-version": "2025-07-01"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceGroupNotFound"


def test_api_version_is_required_and_checked(emulator: Emulator, arm: httpx.Client) -> None:
    r = arm.get("/subscriptions")
    assert r.status_code == 400 and r.json()["error"]["code"] == "MissingApiVersionParameter"
    r = arm.get("/subscriptions", params={"api-version": "1999-01-01"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "NoRegisteredProviderFound"
    assert "2022-12-01" in r.json()["error"]["message"]


def test_unknown_resource_type_is_answered_as_arm_does(emulator: Emulator, arm: httpx.Client) -> None:
    sub = emulator.subscription_id("fabrikam")
    r = arm.get(f"/subscriptions/{sub}/providers/Microsoft.Nope/widgets", params={"api-version": "2024-01-01"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidResourceType"


@requires_specs
def test_subscription_and_tenant_lists_conform_to_the_spec(arm: httpx.Client) -> None:
    spec = "resources/stable/2022-12-01/subscriptions.json"
    for operation, path in (("Subscriptions_List", "/subscriptions"), ("Tenants_List", "/tenants")):
        body = arm.get(path, params=SUBS).json()
        assert "nextLink" not in body  # one page: ARM omits nextLink, although this spec marks it required
        validate_response(spec, operation, 200, {**body, "nextLink": "https://example/next"})
