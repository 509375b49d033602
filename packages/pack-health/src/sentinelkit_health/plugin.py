"""The pack's entry point (``sentinelkit`` group): registers its tools and prompts.

Imported at start-up to answer tools/list: it loads the tool modules (light: no Azure SDK imports).
"""

from __future__ import annotations

from sentinelkit import HookspecRegistrar, PromptRegistrar, ToolRegistrar, hookimpl

from .demo import sentinelkit_demo_steps


@hookimpl
def register_hookspecs(register: HookspecRegistrar) -> None:
    from . import hookspecs

    register(hookspecs)


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    from .health import sentinel_health_check
    from .logs_query import logs_query

    register(sentinel_health_check)
    register(logs_query)


@hookimpl
def register_prompts(register: PromptRegistrar) -> None:
    from .prompts import sentinel_health_report, sentinel_quick_status

    register(
        sentinel_health_report,
        name="sentinel-health-report",
        description="Lead a Sentinel health check across tenants into a clear report for an SOC lead.",
    )
    register(
        sentinel_quick_status,
        name="sentinel-quick-status",
        description="A quick, one-screen status of every Sentinel workspace (quick health check).",
    )


__all__ = ["register_hookspecs", "register_prompts", "register_tools", "sentinelkit_demo_steps"]
