"""Shared fixtures for the emulator's tests: credentials and clients built the way users build them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from azure.identity import ClientSecretCredential

from sentinelkit_emulator import Emulator

ARM_SCOPE = "https://management.azure.com/.default"
LOGS_SCOPE = "https://api.loganalytics.io/.default"


@pytest.fixture(scope="session")
def credential_for(emulator: Emulator) -> Callable[..., ClientSecretCredential]:
    """A real azure-identity (sync) credential for a scenario principal, optionally in another tenant."""

    def make(principal: str = "sentinelkit-mssp", tenant: str | None = None) -> ClientSecretCredential:
        p = emulator.principal(principal)
        tenant_id = emulator.tenant(tenant)["id"] if tenant else p["tenant_id"]
        return ClientSecretCredential(
            tenant_id,
            p["client_id"],
            p["client_secret"],
            authority=emulator.info["authority_url"],
            connection_verify=emulator.info["ca_path"],
            disable_instance_discovery=True,
        )

    return make


@pytest.fixture(scope="session")
def arm_client(emulator: Emulator, credential_for: Callable[..., ClientSecretCredential]) -> Callable[..., httpx.Client]:
    """A raw HTTPS client for ARM with a bearer token of the given principal (for exact status/body checks)."""
    clients: list[httpx.Client] = []

    def make(principal: str = "sentinelkit-mssp", tenant: str | None = None, scope: str = ARM_SCOPE) -> httpx.Client:
        token = credential_for(principal, tenant).get_token(scope).token
        client = httpx.Client(
            base_url=emulator.info["arm_url"],
            verify=emulator.ssl_context(),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        clients.append(client)
        return client

    yield make  # type: ignore[misc]
    for client in clients:
        client.close()


@pytest.fixture
def arm(arm_client: Callable[..., httpx.Client]) -> Iterator[httpx.Client]:
    """ARM as the MSSP's automation principal (Contributor everywhere it is delegated)."""
    yield arm_client()


@pytest.fixture(scope="session")
def sdk_client(emulator: Emulator, credential_for: Callable[..., ClientSecretCredential]) -> Iterator[Callable[..., Any]]:
    """One factory for Microsoft's ARM SDK clients, built as users build them: ``sdk_client(Cls, subscription)``.

    Any ``azure-mgmt-*`` client class; the credential is a scenario principal's (optionally in another
    tenant); every client made is closed at the end of the session.
    """
    clients: list[Any] = []

    def make(cls: type, subscription_id: str, principal: str = "sentinelkit-mssp", tenant: str | None = None,
             **kwargs: Any) -> Any:
        kwargs.setdefault("polling_interval", 0)
        client = cls(credential_for(principal, tenant), subscription_id, base_url=emulator.info["arm_url"],
                     credential_scopes=[ARM_SCOPE], connection_verify=emulator.info["ca_path"], **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
