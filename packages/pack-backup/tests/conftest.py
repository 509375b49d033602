"""Fixtures of the backup pack's tests: an MCP client to a server with every installed pack plus the core's
sample third-party pack (kind ``sample_tag``), the test's export directory, Microsoft's SDKs reading the
emulator directly, and a reset of the shared emulator after tests that change it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from backup_testkit import SAMPLE_PACK, WORKSPACES
from fastmcp import Client


@pytest.fixture
def restore(emulator: Any) -> Iterator[Any]:
    """This test changes Azure state: put the session emulator back afterwards."""
    yield emulator
    emulator.reset()


@pytest.fixture
def export_dir(sentinelkit_env: dict[str, str]) -> Path:
    folder = Path(sentinelkit_env["SENTINELKIT_EXPORT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def sample_pack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The core's sample third-party pack, importable (a kind no first-party pack knows)."""
    monkeypatch.syspath_prepend(str(SAMPLE_PACK))
    import sentinelkit_sample

    yield sentinelkit_sample
    sys.modules.pop("sentinelkit_sample", None)


@pytest.fixture
def server(make_server: Callable[..., Any], sample_pack: Any, export_dir: Path) -> Callable[..., Any]:
    """``server(**settings)``: a server with every installed pack and the sample pack."""
    def make(**overrides: Any) -> Any:
        return make_server(plugins={"sample": sample_pack}, **overrides)

    return make


@pytest.fixture
async def client(server: Callable[..., Any]) -> AsyncIterator[Client]:
    async with Client(server()) as c:
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


@pytest.fixture(scope="session")
def sdk(emulator: Any) -> Iterator[Callable[[Any, str], Any]]:
    """``sdk(ClientClass, tenant)`` -> one of Microsoft's management clients for that tenant's subscription."""
    made: dict[tuple[Any, str], Any] = {}

    def make(client_class: Any, tenant: str) -> Any:
        if (client_class, tenant) not in made:
            made[client_class, tenant] = client_class(
                _credential(emulator, tenant), emulator.tenant(tenant)["subscriptions"][0]["id"],
                base_url=emulator.info["arm_url"], connection_verify=emulator.info["ca_path"],
                credential_scopes=["https://management.azure.com/.default"])
        return made[client_class, tenant]

    yield make
    for c in made.values():
        c.close()


@pytest.fixture(scope="session")
def si(sdk: Callable[[Any, str], Any]) -> Callable[[str], tuple[Any, str, str]]:
    """``si(workspace)`` -> (azure-mgmt-securityinsight client, resource group, workspace name)."""
    from azure.mgmt.securityinsight import SecurityInsightsMgmtClient

    def make(workspace: str) -> tuple[Any, str, str]:
        tenant, rg = WORKSPACES[workspace]
        return sdk(SecurityInsightsMgmtClient, tenant), rg, workspace

    return make
