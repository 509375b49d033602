"""Fixtures of the tables pack's tests: a connected MCP client and helpers to call tools, Microsoft's own SDKs
(azure-mgmt-loganalytics, azure-monitor-query) reading the emulator for cross-checks, and a reset of the shared
emulator after tests that change it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

LOGS_AUDIENCE = "https://api.loganalytics.io"


@pytest.fixture
def restore(emulator: Any) -> Iterator[Any]:
    """This test changes Azure state: put the session emulator back afterwards."""
    yield emulator
    emulator.clear_faults()
    emulator.reset()


@pytest.fixture
def tool(mcp_client: Client) -> Callable[..., Any]:
    """``await tool("table_get", workspace=..., table=...)`` → the answer's JSON (a tool error fails the test)."""

    async def run(name: str, /, **args: Any) -> dict[str, Any]:
        result = await mcp_client.call_tool(name, args, raise_on_error=False)
        assert not result.is_error, result.content[0].text
        return dict(result.structured_content or json.loads(result.content[0].text))

    return run


@pytest.fixture
def refused(mcp_client: Client) -> Callable[..., Any]:
    """``await refused("table_create", ...)`` → the error text of a call that must fail."""

    async def run(name: str, /, **args: Any) -> str:
        result = await mcp_client.call_tool(name, args, raise_on_error=False)
        assert result.is_error, f"expected {name} to fail, got {result.structured_content}"
        return str(result.content[0].text)

    return run


@pytest.fixture
def export_dir(sentinelkit_env: dict[str, str]) -> Path:
    return Path(sentinelkit_env["SENTINELKIT_EXPORT_DIR"])


def _credential(emulator: Any, tenant: str) -> Any:
    """The credential that reaches ``tenant``: its own for the MSSP and woodgrove (not delegated), else the
    MSSP's (Azure Lighthouse)."""
    from azure.identity import ClientSecretCredential

    info = emulator.info
    home = emulator.tenant(tenant if tenant in ("contoso-mssp", "woodgrove") else info["managing_tenant_id"])
    return ClientSecretCredential(home["id"], home["client_id"], home["client_secret"], authority=info["authority_url"],
                                  connection_verify=info["ca_path"], disable_instance_discovery=True)


@pytest.fixture(scope="session")
def la(emulator: Any) -> Iterator[Callable[[str], Any]]:
    """``la("law-northwind")`` → ``(LogAnalyticsManagementClient, resource group, workspace name)`` reading the
    emulator directly, as the tenant that owns the workspace is reached."""
    from azure.mgmt.loganalytics import LogAnalyticsManagementClient

    clients: list[Any] = []

    def make(workspace: str) -> Any:
        ws = emulator.workspace(workspace)
        tenant = next(t["name"] for t in emulator.info["tenants"] if t["id"] == ws["tenant_id"])
        parts = ws["id"].split("/")
        client = LogAnalyticsManagementClient(_credential(emulator, tenant), parts[2], base_url=emulator.info["arm_url"],
                                              credential_scopes=["https://management.azure.com/.default"],
                                              connection_verify=emulator.info["ca_path"], polling_interval=0)
        clients.append(client)
        return client.tables, parts[4], parts[-1]

    yield make
    for c in clients:
        c.close()


@pytest.fixture(scope="session")
def logs(emulator: Any) -> Iterator[Callable[[str, str, str | None], list[dict[str, Any]]]]:
    """``logs(workspace, kql, timespan)`` → rows as dicts, through Microsoft's LogsQueryClient."""
    from azure.monitor.query import LogsQueryClient

    client = LogsQueryClient(_credential(emulator, "contoso-mssp"), endpoint=emulator.info["logs_url"],
                             audience=LOGS_AUDIENCE, connection_verify=emulator.info["ca_path"])

    def query(workspace: str, kql: str, timespan: Any = None) -> list[dict[str, Any]]:
        result = client.query_workspace(emulator.workspace(workspace)["customer_id"], kql, timespan=timespan)
        table = result.tables[0]
        return [dict(zip(table.columns, row, strict=True)) for row in table.rows]

    yield query
    client.close()


@pytest.fixture(scope="session")
def arm(emulator: Any) -> Iterator[Any]:
    """An httpx client for raw ARM requests as the MSSP (what no SDK lets a test do: send a long-running write
    and not poll it)."""
    import httpx

    token = _credential(emulator, "contoso-mssp").get_token("https://management.azure.com/.default").token
    with httpx.Client(base_url=emulator.info["arm_url"], verify=emulator.ssl_context(),
                      headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        yield client
