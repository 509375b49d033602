"""The built-in pack (``core``): registered through the same hooks as every other pack."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .contract import READ_ONLY, tool
from .errors import KitError
from .hookspecs import hookimpl

if TYPE_CHECKING:
    from .call import ToolCall
    from .kit import Kit
    from .registrars import ToolRegistrar
    from .settings import Settings
    from .workspaces import Workspace

WORKSPACE_FIELDS = ["tenant", "subscription", "resource_group", "name", "alias", "customer_id", "sentinel"]


@tool(READ_ONLY, title="List workspaces")
async def workspace_list(kit: Kit, tenant: str | None = None, refresh: bool = False) -> dict[str, Any]:
    """List the Log Analytics workspaces this server can reach, across every tenant.

    Includes customer workspaces delegated through Azure Lighthouse and those configured in
    sentinelkit.toml. Use a workspace's alias or name as the `workspace` argument of other tools.

    Args:
        tenant: Only workspaces of this tenant (short name such as "fabrikam", display name or tenant id).
        refresh: Discover again instead of using the cached list (cached for the cache TTL, 5 minutes by default).
    """
    discovery = await kit.discovery(refresh=refresh)
    workspaces = discovery.workspaces
    if tenant:
        workspaces = [w for w in workspaces if w.in_tenant(tenant)]
        if not workspaces:
            known = sorted({w.tenant_label for w in discovery.workspaces})
            raise KitError(f"no workspace belongs to tenant {tenant!r}; known tenants: {', '.join(known) or 'none'}")
    rows = [
        {
            "tenant": w.tenant,
            "tenant_id": w.tenant_id,
            "subscription": w.subscription or w.subscription_id,
            "resource_group": w.resource_group,
            "name": w.name,
            "alias": w.alias,
            "customer_id": w.customer_id,
            "sentinel": w.sentinel,
            "delegated": w.delegated,
            "id": w.id,
        }
        for w in workspaces
    ]
    out: dict[str, Any] = {
        # a name shared by several workspaces (and no alias) is labelled "<tenant>/<name>": pass that label
        "workspaces": [{k: r[k] for k in WORKSPACE_FIELDS} | ({"label": w.label} if w.qualifier else {})
                       for r, w in zip(rows, workspaces, strict=True)],
        "count": len(rows),
        "sentinel_enabled": sum(1 for r in rows if r["sentinel"]),
    }
    if discovery.errors:
        out["errors"] = discovery.errors
    return out


@tool(READ_ONLY, title="Show a workspace")
async def workspace_get(kit: Kit, workspace: str) -> dict[str, Any]:
    """Show one workspace: where it lives, how it is reached, and whether Sentinel is onboarded.

    Args:
        workspace: Alias, workspace name, customerId or full ARM id (see workspace_list).
    """
    ws = await kit.workspace(workspace)
    if ws.customer_id is None:  # not discovered (e.g. given by ARM id): read it, which also proves access
        ws = await kit.workspace_details(ws)
    out = ws.to_json()
    out["label"] = ws.label  # what answers call it, and a `workspace` argument that always resolves
    out["reached_with"] = "the managing tenant's credential (Azure Lighthouse)" if ws.delegated else (
        "the default credential" if ws.via == "default" else f"the credential of tenant {ws.via!r}")
    return out


@hookimpl
def check_call(call: ToolCall, workspace: Workspace | None, tenant_id: str | None, settings: Settings) -> str | None:
    """The per-tenant policy of sentinelkit.toml (``[tenants.<name>] allow``)."""
    from .policy import tenant_policy

    return tenant_policy(call, workspace, tenant_id, settings)


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    from .hosted import hosted_status

    register(workspace_list)
    register(workspace_get)
    register(hosted_status)
