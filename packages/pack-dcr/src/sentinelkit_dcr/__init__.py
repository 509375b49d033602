"""sentinelkit pack ``dcr``: Azure Monitor data collection rules, endpoints, associations and streams.

Importing this module is cheap (no Azure SDK): the tool modules import only the core's contract.
"""

from __future__ import annotations

from sentinelkit import ContentKindRegistrar, ToolRegistrar, hookimpl

from .health import sentinel_health_findings

__version__ = "0.1.0"


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    from . import associations, endpoints, rules, status, streams

    for fn in (rules.dcr_list, rules.dcr_get, rules.dcr_create, rules.dcr_update, rules.dcr_delete,
               rules.dcr_export, streams.dcr_stream_add, streams.dcr_stream_remove, endpoints.dce_list,
               endpoints.dce_get, endpoints.dce_create, endpoints.dce_delete, associations.dcr_association_list,
               associations.dcr_association_create, associations.dcr_association_delete, status.dcr_status):
        register(fn)


@hookimpl
def register_content_kinds(register: ContentKindRegistrar) -> None:
    from .kind import DataCollectionRuleKind

    register(DataCollectionRuleKind())


__all__ = ["register_content_kinds", "register_tools", "sentinel_health_findings"]
