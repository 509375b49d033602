"""sentinelkit: run Microsoft Sentinel from an AI assistant over the Model Context Protocol.

This module is the pack API: everything a pack may use is importable from here, and nothing else is
(``docs/pack-authors.md`` lists it; a test fails when a pack of this repository imports a submodule).
Importing it is cheap: names are loaded on first access, and no Azure SDK is imported::

    from sentinelkit import READ_ONLY, Kit, hookimpl, tool
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .contract import ADDITIVE, DESTRUCTIVE, READ_ONLY, Safety, tool, valid_tool_name
from .hookspecs import hookimpl, hookspec

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .armid import ArmId, InvalidArmId
    from .azure.arm import ArmClient
    from .azure.cache import TtlCache
    from .azure.logs import QueryRows
    from .content import ContentKind, replace_references, stable
    from .errors import (
        AuthenticationError,
        AzureCallError,
        AzureError,
        AzureNetworkError,
        AzureTimeoutError,
        BadRequestError,
        ConflictError,
        ForbiddenError,
        KitError,
        NotFoundError,
        PreconditionFailedError,
        ServiceError,
        ThrottledError,
        Where,
        WorkspaceNotFound,
    )
    from .exports import ExportPathError
    from .fanout import FanOut, Targets
    from .kit import Kit
    from .leanschema import SHARED_ARGUMENTS
    from .log import redact, redact_text, register_secret
    from .outputs import DEFAULT_BUDGET, clip, decode_cursor, encode_cursor, page, select_fields
    from .registrars import (
        BridgeRegistrar,
        CommandRegistrar,
        ContentKindRegistrar,
        HookspecRegistrar,
        PromptRegistrar,
        Registrar,
        ResourceRegistrar,
        SettingsRegistrar,
        ToolRegistrar,
    )
    from .settings import PackSettings, Settings, TenantConfig
    from .workspaces import Discovery, Unreachable, Workspace

#: public name → the module that defines it (imported on first access)
_LAZY = {
    "ArmClient": ".azure.arm",
    "ArmId": ".armid",
    "InvalidArmId": ".armid",
    "TtlCache": ".azure.cache",
    "QueryRows": ".azure.logs",
    "ContentKind": ".content",
    "replace_references": ".content",
    "stable": ".content",
    **{name: ".errors" for name in (
        "AuthenticationError", "AzureCallError", "AzureError", "AzureNetworkError", "AzureTimeoutError",
        "BadRequestError", "ConflictError", "ForbiddenError", "KitError", "NotFoundError",
        "PreconditionFailedError", "ServiceError", "ThrottledError", "Where", "WorkspaceNotFound")},
    "ExportPathError": ".exports",
    "FanOut": ".fanout",
    "Targets": ".fanout",
    "Kit": ".kit",
    "SHARED_ARGUMENTS": ".leanschema",
    "redact": ".log",
    "redact_text": ".log",
    "register_secret": ".log",
    **{name: ".outputs" for name in ("DEFAULT_BUDGET", "clip", "decode_cursor", "encode_cursor", "page",
                                     "select_fields")},
    **{name: ".registrars" for name in ("BridgeRegistrar", "CommandRegistrar", "ContentKindRegistrar",
                                        "HookspecRegistrar", "PromptRegistrar", "Registrar", "ResourceRegistrar",
                                        "SettingsRegistrar", "ToolRegistrar")},
    "PackSettings": ".settings",
    "Settings": ".settings",
    "TenantConfig": ".settings",
    "Discovery": ".workspaces",
    "Unreachable": ".workspaces",
    "Workspace": ".workspaces",
}

__all__ = [
    "ADDITIVE", "ArmClient", "ArmId", "AuthenticationError", "AzureCallError", "AzureError",
    "AzureNetworkError", "AzureTimeoutError", "BadRequestError", "BridgeRegistrar", "CommandRegistrar",
    "ConflictError", "ContentKind", "ContentKindRegistrar", "DEFAULT_BUDGET", "DESTRUCTIVE", "Discovery",
    "ExportPathError", "FanOut", "ForbiddenError", "HookspecRegistrar", "InvalidArmId", "Kit", "KitError",
    "NotFoundError", "PackSettings", "PreconditionFailedError", "PromptRegistrar", "QueryRows", "READ_ONLY",
    "Registrar", "ResourceRegistrar", "SHARED_ARGUMENTS", "Safety", "ServiceError", "Settings", "SettingsRegistrar", "Targets",
    "TenantConfig", "ThrottledError", "ToolRegistrar", "TtlCache", "Unreachable", "Where", "Workspace",
    "WorkspaceNotFound", "__version__", "clip", "decode_cursor", "encode_cursor", "hookimpl", "hookspec",
    "page", "redact", "redact_text", "register_secret", "replace_references", "select_fields", "stable",
    "tool", "valid_tool_name",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sentinelkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
