"""A pack with a misspelled hook: ``register_tool`` instead of ``register_tools``. Without a check it
would load silently and contribute nothing."""

from __future__ import annotations

from typing import Any

from sentinelkit import READ_ONLY, Kit, hookimpl, tool


@tool(READ_ONLY)
async def typo_echo(kit: Kit, text: str) -> str:
    """Echo the text back (never served: the hook that registers it is misspelled).

    Args:
        text: What to echo.
    """
    return text


@hookimpl
def register_tool(register: Any) -> None:
    register(typo_echo)
