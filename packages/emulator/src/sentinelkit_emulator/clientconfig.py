"""The ``sentinelkit.toml`` a sentinelkit server needs to reach every tenant of the scenario.

The environment the emulator prints signs in as the MSSP (the managing tenant), which reaches the
customers delegated through Azure Lighthouse; a customer that is not delegated (woodgrove) is reached
only with its own credential, which only a configuration file can hold. The emulator writes this file
into its data folder and names it in its environment (``SENTINELKIT_CONFIG``), so that the environment
alone reaches every workspace. In a generated world (``--tenants``) every customer is delegated: the
file only names them (``credential = "none"``), so that a server signs in once, not once per customer.
"""

from __future__ import annotations

from typing import Any


def sentinelkit_config(info: dict[str, Any]) -> str:
    """Each customer tenant with its own credential (Lighthouse still wins for the delegated ones:
    discovery keeps the first way it finds a workspace)."""
    lines = ["# written by sentinelkit-emulator: each customer tenant's own credential", "discover = true", ""]
    generated = "world" in info  # every customer is delegated: Lighthouse reaches it, one sign-in for all
    for tenant in info["tenants"]:
        if tenant["id"] == info["managing_tenant_id"]:
            continue
        if generated:
            lines += [f"[tenants.{tenant['name']}]", f'tenant_id = "{tenant["id"]}"', 'credential = "none"', ""]
            continue
        lines += [
            f"[tenants.{tenant['name']}]",
            f'tenant_id = "{tenant["id"]}"',
            'credential = "secret"',
            f'client_id = "{tenant["client_id"]}"',
            f'client_secret = "{tenant["client_secret"]}"',
            "",
        ]
    return "\n".join(lines) + "\n"
