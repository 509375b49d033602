"""Shared fixtures for the Sentinel end-to-end tests (no tests here).

Each test module that imports ``sentinel_emulator`` gets an emulator of its own (module scope): the
tests create, change and delete Sentinel resources, and other packages' tests count seeded ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.securityinsight import SecurityInsightsMgmtClient

from sentinelkit_emulator import Emulator

SPEC = "securityinsights/stable/2025-09-01/openapi.json"
ARM_SCOPE = "https://management.azure.com/.default"
LOGS_AUDIENCE = "https://api.loganalytics.io"
API = {"api-version": "2025-09-01"}
#: tenant -> (resource group, Sentinel workspace)
WORKSPACES = {
    "contoso-mssp": ("rg-soc", "law-contoso-soc"),
    "fabrikam": ("rg-sentinel", "law-fabrikam-prod"),
    "northwind": ("rg-security", "law-northwind"),
    "tailspin": ("rg-sentinel-weu", "law-tailspin"),
    "woodgrove": ("rg-secops", "law-woodgrove"),
}


def credential(emu: Emulator, principal: str = "sentinelkit-mssp", tenant: str | None = None) -> ClientSecretCredential:
    p = emu.principal(principal)
    return ClientSecretCredential(
        emu.tenant(tenant)["id"] if tenant else p["tenant_id"], p["client_id"], p["client_secret"],
        authority=emu.info["authority_url"], connection_verify=emu.info["ca_path"], disable_instance_discovery=True,
    )


def sub_id(emu: Emulator, tenant: str) -> str:
    return emu.subscription_id(tenant)


def sentinel_path(emu: Emulator, tenant: str, workspace: str | None = None) -> str:
    rg, ws = WORKSPACES[tenant]
    return (f"/subscriptions/{sub_id(emu, tenant)}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/"
            f"workspaces/{workspace or ws}/providers/Microsoft.SecurityInsights")


@pytest.fixture(scope="module")
def sentinel_emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def si(sentinel_emulator: Emulator) -> Iterator[Callable[..., SecurityInsightsMgmtClient]]:
    """Microsoft's SDK client, unchanged, for a customer's subscription and a principal."""
    clients: list[SecurityInsightsMgmtClient] = []

    def make(tenant: str = "fabrikam", principal: str = "sentinelkit-mssp", home: str | None = None,
             ) -> SecurityInsightsMgmtClient:
        client = SecurityInsightsMgmtClient(
            credential(sentinel_emulator, principal, home), sub_id(sentinel_emulator, tenant),
            base_url=sentinel_emulator.info["arm_url"], credential_scopes=[ARM_SCOPE],
            connection_verify=sentinel_emulator.info["ca_path"], polling_interval=0,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="module")
def raw(sentinel_emulator: Emulator) -> Iterator[Callable[..., httpx.Client]]:
    """Plain HTTPS to ARM with a bearer token, for exact status codes and bodies."""
    clients: list[httpx.Client] = []

    def make(principal: str = "sentinelkit-mssp") -> httpx.Client:
        token = credential(sentinel_emulator, principal).get_token(ARM_SCOPE).token
        client = httpx.Client(base_url=sentinel_emulator.info["arm_url"], verify=sentinel_emulator.ssl_context(),
                              headers={"Authorization": f"Bearer {token}"}, timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def error_of(response: httpx.Response) -> dict[str, Any]:
    return response.json()["error"]
