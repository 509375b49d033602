"""sentinelkit pack ``workbooks``: Microsoft Sentinel workbooks — list, outline, export, import (gallery
templates too), copy across workspaces and tenants, revisions, delete — and the ``workbook`` content kind.

Importing this module is cheap: tool modules load when the tools are registered and import only the core.
"""

from __future__ import annotations

from sentinelkit import ContentKindRegistrar, SettingsRegistrar, ToolRegistrar, hookimpl

__version__ = "0.1.0"


@hookimpl
def register_settings(register: SettingsRegistrar) -> None:
    from .settings import WorkbooksSettings

    register(WorkbooksSettings)


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    from . import history, reads, transfer

    for fn in (reads.workbook_list, reads.workbook_get, transfer.workbook_export, transfer.workbook_import,
               transfer.workbook_copy, history.workbook_revisions, history.workbook_restore, history.workbook_delete):
        register(fn)


@hookimpl
def register_content_kinds(register: ContentKindRegistrar) -> None:
    from .kind import WorkbookKind

    register(WorkbookKind())


__all__ = ["register_content_kinds", "register_settings", "register_tools"]
