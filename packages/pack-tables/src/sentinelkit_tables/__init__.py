"""sentinelkit pack ``tables``: Log Analytics tables of Sentinel workspaces — plans, retention, custom tables,
retention against a policy across tenants, and streamed exports of table data.

Importing this module is cheap (no Azure SDK): the tool modules import only the core's contract.
"""

from __future__ import annotations

from sentinelkit import ContentKindRegistrar, SettingsRegistrar, ToolRegistrar, hookimpl

from .settings import TablesSettings

__version__ = "0.1.0"


@hookimpl
def register_settings(register: SettingsRegistrar) -> None:
    register(TablesSettings)


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    from . import export, read, report, write

    for fn in (read.table_list, read.table_get, write.table_create, write.table_update_schema,
               write.table_set_plan, write.table_set_retention, write.table_lower_retention, write.table_delete,
               export.table_export, report.table_retention_report):
        register(fn)


@hookimpl
def register_content_kinds(register: ContentKindRegistrar) -> None:
    from .kind import TableKind

    register(TableKind())


__all__ = ["TablesSettings", "register_content_kinds", "register_settings", "register_tools"]
