"""What a replica reports about hosted mode: its shared state (Redis up or down, and what it does
meanwhile), the per-tenant ARM budget, and who the caller is with which roles. ``hosted_status`` answers
it; ``hosted_section`` is the same for a wider ``server_stats``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .contract import READ_ONLY, tool

if TYPE_CHECKING:
    from .kit import Kit
    from .runtime import Runtime


def hosted_section(runtime: Runtime) -> dict[str, Any]:
    settings = runtime.settings
    from .roles import caller_roles

    budget = settings.hosted.arm_requests_per_second
    return {
        "shared_state": runtime.shared.status(),
        "arm_budget": {"requests_per_second_per_tenant": budget, "burst": settings.hosted.arm_burst} if budget
        else "none ([hosted] arm_requests_per_second = 0)",
        "http": {"auth": settings.http.auth, "stateless": settings.http.stateless,
                 "session_idle_timeout": settings.http.session_idle_timeout},
        "caller_roles": caller_roles(),
    }


@tool(READ_ONLY, title="Hosted mode status")
async def hosted_status(kit: Kit) -> dict[str, Any]:
    """Show this server's hosted-mode state: whether the shared state (Redis) is reachable, the per-tenant ARM
    request budget, the HTTP session settings, and the roles of your token.

    When Redis is down the server keeps answering from Azure directly (no shared cache) and says so here.
    """
    section = hosted_section(kit._runtime)
    section["caller"] = kit.caller
    return section
