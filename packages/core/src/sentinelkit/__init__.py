"""sentinelkit: run Microsoft Sentinel from an AI assistant over the Model Context Protocol.

What a pack needs is importable from here without loading Azure SDKs or the MCP server::

    from sentinelkit import hookimpl, tool, READ_ONLY, ADDITIVE, DESTRUCTIVE, Kit
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .contract import ADDITIVE, DESTRUCTIVE, READ_ONLY, Safety, tool
from .hookspecs import hookimpl

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .errors import KitError
    from .kit import Kit
    from .workspaces import Workspace

__all__ = ["ADDITIVE", "DESTRUCTIVE", "READ_ONLY", "Kit", "KitError", "Safety", "Workspace", "__version__",
           "hookimpl", "tool"]


def __getattr__(name: str) -> Any:
    if name == "Kit":
        from .kit import Kit

        return Kit
    if name == "KitError":
        from .errors import KitError

        return KitError
    if name == "Workspace":
        from .workspaces import Workspace

        return Workspace
    raise AttributeError(f"module 'sentinelkit' has no attribute {name!r}")
