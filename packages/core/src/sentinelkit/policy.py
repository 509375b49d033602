"""Policies: whether a call may go ahead, decided from its tool, arguments, caller and targets.

Packs and deployments implement the ``check_call`` hook; the core's own implementation (the built-in
pack) applies ``[tenants.<name>] allow = "read_only"``. The core asks before the tool runs (no
workspace), for every workspace a write tool resolves (a single workspace refused is the answer; in a
fan-out it is that workspace's error, the others go ahead), and again for every write request it sends
(the tenant owning the written resource), so a write cannot slip past by naming a resource by id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import KitError

if TYPE_CHECKING:
    from .call import ToolCall
    from .settings import Settings
    from .workspaces import Workspace


class PolicyRefused(KitError):
    """A policy refused the call (or this workspace of it); the message names the policy."""


def tenant_policy(call: ToolCall, workspace: Workspace | None, tenant_id: str | None, settings: Settings) -> str | None:
    """``[tenants.<name>] allow = "read_only"``: writes to that tenant are refused."""
    if not call.spec.safety.writes:
        return None
    owner = (tenant_id or (workspace.tenant_id if workspace is not None else None) or "").lower()
    if not owner:
        return None
    for key, tenant in settings.tenants.items():
        if tenant.tenant_id.lower() == owner and tenant.allow == "read_only":
            where = f"workspace {workspace.label} of tenant {key}" if workspace is not None else f"tenant {key}"
            return (f"{call.tool} would change {where}, which is read-only by policy ([tenants.{key}] allow = "
                    f"\"read_only\" in {settings.config_file or 'sentinelkit.toml'}); nothing was changed there")
    return None


def first_refusal(hook: Any, call: ToolCall, workspace: Workspace | None, tenant_id: str | None,
                  settings: Settings) -> str | None:
    """The first reason any ``check_call`` implementation gives to refuse, else ``None``."""
    reasons = hook.check_call(call=call, workspace=workspace, tenant_id=tenant_id, settings=settings)
    return next((r for r in reasons if r), None)
