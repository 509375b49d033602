"""sentinelkit-powershell: tools generated from the functions of PowerShell scripts such as
SentinelManager.ps1, run on a long-lived local pwsh or a remote Windows host (WinRM).

This module is the pack's entry point (group ``sentinelkit``). It stays light: discovery parses the
scripts with tree-sitter; pwsh starts and pypsrp is imported only when a tool is first called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentinelkit import READ_ONLY, BridgeRegistrar, Kit, SettingsRegistrar, ToolRegistrar, hookimpl, tool

from .settings import PowerShellSettings

if TYPE_CHECKING:
    from .catalog import Catalog

__version__ = "0.1.0"


@tool(READ_ONLY, title="PowerShell bridge status")
async def powershell_status(kit: Kit) -> dict[str, Any]:
    """Show the PowerShell scripts behind the generated tools, the functions left out and why, and the hosts.

    Use it when a PowerShell tool is missing or fails to start: it names the script, the executable or
    remote host, the settings in force and every function that was skipped with its reason.
    """
    from .catalog import catalog_for

    catalog = catalog_for(kit.pack_settings(PowerShellSettings))
    out = catalog.status()
    if not catalog.settings.scripts:
        out["hint"] = ("no script is configured: set POWERSHELL_SCRIPT_PATH to your SentinelManager.ps1 (several "
                       "scripts separated by ';') and restart the server")
    bridge = kit.started_bridge("powershell")  # only if a call already created it
    if bridge is not None:
        out["hosts"] = bridge.status()
    problem = executable_problem(catalog)
    if problem:
        out["executable_problem"] = problem
    return out


@hookimpl
def register_settings(register: SettingsRegistrar) -> None:
    register(PowerShellSettings)


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    from .catalog import catalog_for
    from .tools import make_tool_function

    register(powershell_status)
    catalog = catalog_for(register.settings(PowerShellSettings))
    for gen in catalog.tools.values():
        register(make_tool_function(gen))
    for problem in startup_problems(catalog):  # shown next to the pack by `sentinelkit packs`, logged by serve
        register.warn(problem)


@hookimpl
def register_bridges(register: BridgeRegistrar) -> None:
    settings = register.settings(PowerShellSettings)

    def factory() -> Any:
        from .bridge import PowerShellBridge
        from .catalog import catalog_for

        catalog = catalog_for(settings)
        return PowerShellBridge(catalog.settings, {name: gen.function for name, gen in catalog.tools.items()})

    register("powershell", factory)


def executable_problem(catalog: Catalog) -> str | None:
    """What is wrong with the local PowerShell executable (``None`` when it is found, or remote)."""
    import shutil

    if catalog.settings.remote:
        return None
    exe = catalog.settings.command()[0]
    if shutil.which(exe) is not None:
        return None
    return (f"PowerShell executable {exe!r} was not found: the {len(catalog.tools)} generated tools are listed but "
            "fail when called; install PowerShell 7 or set SENTINELKIT_POWERSHELL_EXECUTABLE to pwsh")


def startup_problems(catalog: Catalog) -> list[str]:
    """Problems that do not stop the pack: a missing script or pwsh, a script that runs a menu when loaded."""
    problems = list(catalog.warnings)
    if catalog.settings.scripts:
        problem = executable_problem(catalog)
        if problem:
            problems.append(problem)
    return problems
