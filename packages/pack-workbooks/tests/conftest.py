"""Fixtures of the workbooks pack's tests: a connected MCP client, azure-mgmt-applicationinsights reading
the emulator's workbooks for cross-checks, the export directory, and a reset of the shared emulator after
tests that change it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client


@pytest.fixture
def restore(emulator: Any) -> Iterator[Any]:
    """This test changes Azure state: put the session emulator back afterwards."""
    yield emulator
    emulator.reset()


@pytest.fixture
async def client(make_server: Callable[..., Any]) -> AsyncIterator[Client]:
    async with Client(make_server()) as c:
        yield c


@pytest.fixture
def call(client: Client) -> Callable[..., Any]:
    async def run(tool: str, **args: Any) -> Any:
        return await client.call_tool(tool, args, raise_on_error=False)

    return run


@pytest.fixture
def export_dir(sentinelkit_env: dict[str, str]) -> Path:
    path = Path(sentinelkit_env["SENTINELKIT_EXPORT_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def audit(sentinelkit_env: dict[str, str]) -> Callable[[], list[dict[str, Any]]]:
    def read() -> list[dict[str, Any]]:
        path = Path(sentinelkit_env["SENTINELKIT_AUDIT_LOG"])
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    return read


@pytest.fixture(scope="session")
def insights(emulator: Any) -> Iterator[Callable[[str], Any]]:
    """``insights("tailspin")`` → Microsoft's ApplicationInsightsManagementClient for that tenant's
    subscription, signed in as the MSSP principal (customers through Lighthouse), reading the emulator."""
    from azure.identity import ClientSecretCredential
    from azure.mgmt.applicationinsights import ApplicationInsightsManagementClient

    info = emulator.info
    clients: list[Any] = []

    def make(tenant: str) -> Any:
        t = emulator.tenant(tenant)
        home = t if tenant in ("contoso-mssp", "woodgrove") else emulator.tenant(info["managing_tenant_id"])
        cred = ClientSecretCredential(home["id"], home["client_id"], home["client_secret"],
                                      authority=info["authority_url"], connection_verify=info["ca_path"],
                                      disable_instance_discovery=True)
        client = ApplicationInsightsManagementClient(cred, t["subscriptions"][0]["id"], base_url=info["arm_url"],
                                                     credential_scopes=["https://management.azure.com/.default"],
                                                     connection_verify=info["ca_path"])
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()
