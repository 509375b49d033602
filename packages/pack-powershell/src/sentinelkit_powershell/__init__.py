"""sentinelkit-powershell: tools generated from the functions of PowerShell scripts such as
SentinelManager.ps1, run on a long-lived local pwsh or a remote Windows host (WinRM).

This module is the pack's entry point (group ``sentinelkit``). It stays light: discovery parses the
scripts with tree-sitter; pwsh starts and pypsrp is imported only when a tool is first called.
"""

from __future__ import annotations

from typing import Any

from sentinelkit import READ_ONLY, hookimpl, tool

__version__ = "0.1.0"


@tool(READ_ONLY, title="PowerShell bridge status")
async def powershell_status(kit: Any) -> dict[str, Any]:
    """Show the PowerShell scripts behind the generated tools, the functions left out and why, and the hosts.

    Use it when a PowerShell tool is missing or fails to start: it names the script, the executable or
    remote host, the settings in force and every function that was skipped with its reason.
    """
    from .catalog import current_catalog

    catalog = current_catalog()
    out = catalog.status()
    if not catalog.settings.scripts:
        out["hint"] = ("no script is configured: set POWERSHELL_SCRIPT_PATH to your SentinelManager.ps1 (several "
                       "scripts separated by ';') and restart the server")
    bridge = getattr(kit.runtime, "_bridges", {}).get("powershell")  # only if a call already created it
    if bridge is not None:
        out["hosts"] = bridge.status()
    if not catalog.settings.remote:
        import shutil

        exe = catalog.settings.command()[0]
        if shutil.which(exe) is None:
            out["executable_problem"] = (f"{exe!r} was not found: calls will fail until PowerShell 7 is installed or "
                                         "SENTINELKIT_POWERSHELL_EXECUTABLE points to pwsh")
    return out


@hookimpl
def register_tools(register: Any) -> None:
    from .catalog import current_catalog
    from .tools import make_tool_function

    register(powershell_status)
    catalog = current_catalog()  # a missing script raises: `sentinelkit packs` shows it as this pack's error
    for gen in catalog.tools.values():
        register(make_tool_function(gen))
    _warn_once(catalog)


@hookimpl
def register_bridges(register: Any) -> None:
    def factory(runtime: Any) -> Any:
        from .bridge import PowerShellBridge
        from .catalog import current_catalog

        catalog = current_catalog()
        return PowerShellBridge(catalog.settings, {name: gen.function for name, gen in catalog.tools.items()})

    register("powershell", factory)


_warned: set[str] = set()


def _warn_once(catalog: Any) -> None:
    """Start-up problems that do not stop the pack (pwsh missing, a script that runs a menu when loaded)."""
    import shutil

    problems = list(catalog.warnings)
    if catalog.settings.scripts and not catalog.settings.remote:
        exe = catalog.settings.command()[0]
        if shutil.which(exe) is None:
            problems.append(f"PowerShell executable {exe!r} not found: the {len(catalog.tools)} generated tools are "
                            "listed but fail when called; install PowerShell 7 or set SENTINELKIT_POWERSHELL_EXECUTABLE")
    fresh = [p for p in problems if p not in _warned]
    if not fresh:
        return
    _warned.update(fresh)
    import logging  # not structlog: listing tools must not import it

    for problem in fresh:
        logging.getLogger("sentinelkit.powershell").warning("sentinelkit-powershell: %s", problem)
