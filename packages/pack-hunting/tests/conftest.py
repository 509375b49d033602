"""Fixtures of the hunting pack's tests: an MCP client (the core's server fixtures) against the session
emulator, Microsoft's SDKs (azure-mgmt-securityinsight for watchlists, azure-mgmt-loganalytics for saved
searches, azure-monitor-query for KQL) reading the emulator directly, an export directory, and a reset
after tests that change the emulator's state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from hunting_testkit import WORKSPACES


@pytest.fixture
def restore(emulator: Any) -> Iterator[Any]:
    """This test changes Azure state: put the session emulator back afterwards."""
    yield emulator
    emulator.reset()


@pytest.fixture
def export_dir(sentinelkit_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    monkeypatch.setenv("SENTINELKIT_EXPORT_DIR", str(folder))
    return folder


@pytest.fixture
async def client(make_server: Callable[..., Any], export_dir: Path) -> AsyncIterator[Client]:
    async with Client(make_server()) as c:
        yield c


@pytest.fixture
def call(client: Client) -> Callable[..., Any]:
    async def run(tool: str, **args: Any) -> Any:
        return await client.call_tool(tool, args, raise_on_error=False)

    return run


def _credential(emulator: Any, tenant: str) -> Any:
    from azure.identity import ClientSecretCredential

    principal = emulator.principal("sentinelkit-woodgrove" if tenant == "woodgrove" else "sentinelkit-mssp")
    return ClientSecretCredential(principal["tenant_id"], principal["client_id"], principal["client_secret"],
                                  authority=emulator.info["authority_url"], connection_verify=emulator.info["ca_path"],
                                  disable_instance_discovery=True)


def _sdk(emulator: Any, client_class: Any) -> Callable[[str], tuple[Any, str, str]]:
    """``make(workspace)`` -> (a Microsoft SDK client for that workspace's subscription, resource group, name)."""

    def make(workspace: str) -> tuple[Any, str, str]:
        tenant, rg = WORKSPACES[workspace]
        client = client_class(_credential(emulator, tenant), emulator.tenant(tenant)["subscriptions"][0]["id"],
                              base_url=emulator.info["arm_url"], connection_verify=emulator.info["ca_path"],
                              credential_scopes=["https://management.azure.com/.default"])
        return client, rg, workspace

    return make


@pytest.fixture(scope="session")
def si(emulator: Any) -> Callable[[str], tuple[Any, str, str]]:
    """``si(workspace)`` -> (azure-mgmt-securityinsight client, resource group, workspace name)."""
    from azure.mgmt.securityinsight import SecurityInsightsMgmtClient

    return _sdk(emulator, SecurityInsightsMgmtClient)


@pytest.fixture(scope="session")
def la(emulator: Any) -> Callable[[str], tuple[Any, str, str]]:
    """``la(workspace)`` -> (azure-mgmt-loganalytics client, resource group, workspace name)."""
    from azure.mgmt.loganalytics import LogAnalyticsManagementClient

    return _sdk(emulator, LogAnalyticsManagementClient)


@pytest.fixture(scope="session")
def kql(emulator: Any) -> Callable[[str, str], Any]:
    """``kql(workspace, query)`` -> the primary table of azure-monitor-query's answer (all time)."""
    from azure.monitor.query import LogsQueryClient

    def run(workspace: str, query: str) -> Any:
        tenant, _ = WORKSPACES[workspace]
        ws = next(w for w in emulator.info["workspaces"] if w["name"] == workspace)
        client = LogsQueryClient(_credential(emulator, tenant), endpoint=emulator.info["logs_url"],
                                 audience="https://api.loganalytics.io", connection_verify=emulator.info["ca_path"])
        return client.query_workspace(ws["customer_id"], query, timespan=None).tables[0]

    return run
