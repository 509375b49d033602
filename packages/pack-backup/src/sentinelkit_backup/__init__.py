"""sentinelkit pack ``backup``: backup, restore, diff and configuration drift of Sentinel content across every
tenant, over every installed content kind (``sentinelkit.ContentKind``) — a third party's too — without
knowing any kind by name.

Importing this module is cheap (no Azure SDK): the tool modules import only the core's contract.
"""

from __future__ import annotations

from sentinelkit import ToolRegistrar, hookimpl

__version__ = "0.1.0"


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    from . import diff, drift, export, listing, restore

    for fn in (export.backup_export, restore.backup_restore, diff.backup_diff, drift.drift_check, drift.drift_fix,
               listing.backup_list):
        register(fn)


__all__ = ["register_tools"]
