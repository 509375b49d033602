"""Credentials: certificate, the DefaultAzureCredential chain, and a pack's ``get_credential`` hook —
all real azure-identity credentials against the emulator's token endpoint."""

from __future__ import annotations

from pathlib import Path

from fastmcp import Client

from sentinelkit import hookimpl
from sentinelkit.server import runtime_of


def _config(env: dict[str, str], tmp_path: Path, body: str) -> Path:
    path = tmp_path / "creds.toml"
    path.write_text("discover = true\n" + body)
    return path


async def test_certificate_credential_for_a_customer_tenant(make_server, emulator, sentinelkit_env,
                                                            tmp_path: Path) -> None:
    principal = emulator.principal("sentinelkit-woodgrove")
    assert principal.get("certificate_path"), "the scenario gives sentinelkit-woodgrove a certificate"
    config = _config(sentinelkit_env, tmp_path, f"""
[tenants.woodgrove]
tenant_id = "{principal['tenant_id']}"
credential = "certificate"
client_id = "{principal['client_id']}"
certificate_path = "{principal['certificate_path']}"
""")
    async with Client(make_server(config=config)) as client:
        result = await client.call_tool("workspace_get", {"workspace": "law-woodgrove"})
    assert result.structured_content["via"] == "woodgrove"
    assert result.structured_content["sentinel"] is True


async def test_default_azure_credential_chain(make_server, sentinelkit_env, tmp_path: Path, emulator) -> None:
    # credential = "default": azure-identity's chain, whose first link reads AZURE_CLIENT_ID/SECRET/TENANT
    managing = emulator.info["managing_tenant_id"]
    config = _config(sentinelkit_env, tmp_path, f'[tenants.mssp]\ntenant_id = "{managing}"\ncredential = "default"\n')
    server = make_server(config=config)
    async with Client(server) as client:
        result = await client.call_tool("workspace_list", {})
    names = {w["name"] for w in result.structured_content["workspaces"]}
    assert "law-northwind" in names  # Lighthouse through the chain's credential
    assert type(runtime_of(server).credentials.get("mssp")).__name__ == "DefaultAzureCredential"


async def test_get_credential_hook_supplies_the_credential(make_server, emulator) -> None:
    reader = emulator.principal("sentinelkit-reader")
    used: list[str] = []

    class VaultPack:
        @hookimpl
        def get_credential(self, tenant, settings):
            from azure.identity.aio import ClientSecretCredential

            used.append(tenant.name)
            return ClientSecretCredential(reader["tenant_id"], reader["client_id"], reader["client_secret"],
                                          authority=settings.authority_host, connection_verify=str(settings.ca_bundle))

    server = make_server(plugins={"vault": VaultPack()})
    async with Client(server) as client:
        listed = await client.call_tool("workspace_list", {})
    assert "default" in used
    assert {"law-northwind", "law-fabrikam-prod"} <= {w["name"] for w in listed.structured_content["workspaces"]}


async def test_long_running_put_is_followed_to_completion(make_server, emulator) -> None:
    from sentinelkit.azure import api_versions

    del api_versions
    server = make_server()
    runtime = runtime_of(server)
    async with Client(server):
        ws = await runtime.workspaces.resolve("law-fabrikam-prod")
        arm = runtime.arm(ws.via)
        path = f"{ws.id}/tables/AppAudit_CL"
        before = await arm.get(path, "2025-07-01", cache=False)
        body = {"properties": {**{k: v for k, v in before["properties"].items()
                                  if k in ("plan", "schema", "retentionInDays")}, "totalRetentionInDays": 30}}
        try:
            after = await arm.put(path, "2025-07-01", body)
        finally:
            emulator.reset()
    assert after["properties"]["provisioningState"] == "Succeeded"
    assert after["properties"]["totalRetentionInDays"] == 30
