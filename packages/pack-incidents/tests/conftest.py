"""Fixtures of the incidents pack's tests: the core's server + client fixtures (sentinelkit's pytest
plugin) against the session emulator, Microsoft's SDK to cross-check what a write did, and a reset
after tests that change the emulator's state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from incidents_testkit import WORKSPACES


@pytest.fixture
def restore(emulator: Any) -> Iterator[Any]:
    """For tests that change incidents: the session emulator goes back to the scenario afterwards."""
    yield emulator
    emulator.reset()


@pytest.fixture
def sdk(emulator: Any) -> Callable[[str], Any]:
    """``sdk(workspace)`` → (azure-mgmt-securityinsight client, resource group, workspace): Microsoft's own
    client, signed in as a principal that reaches that workspace, to read the emulator's state."""
    from azure.identity import ClientSecretCredential
    from azure.mgmt.securityinsight import SecurityInsightsMgmtClient

    clients: list[Any] = []

    def make(workspace: str) -> tuple[Any, str, str]:
        tenant, rg = WORKSPACES[workspace]
        principal = emulator.principal("sentinelkit-woodgrove" if tenant == "woodgrove" else "sentinelkit-mssp")
        cred = ClientSecretCredential(principal["tenant_id"], principal["client_id"], principal["client_secret"],
                                      authority=emulator.info["authority_url"],
                                      connection_verify=emulator.info["ca_path"], disable_instance_discovery=True)
        client = SecurityInsightsMgmtClient(cred, emulator.tenant(tenant)["subscriptions"][0]["id"],
                                            base_url=emulator.info["arm_url"],
                                            credential_scopes=["https://management.azure.com/.default"],
                                            connection_verify=emulator.info["ca_path"])
        clients.append(client)
        return client, rg, workspace

    return make
