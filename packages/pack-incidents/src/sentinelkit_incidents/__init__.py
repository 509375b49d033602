"""sentinelkit pack ``incidents``: triage and manage Microsoft Sentinel incidents across every tenant.

Registered through the ``sentinelkit`` entry-point group. Importing it loads no Azure SDK: tool bodies
reach Azure through the core's clients on first call.
"""

from __future__ import annotations

from sentinelkit import ToolRegistrar, hookimpl

from .bulk import incident_bulk_update
from .demo import sentinelkit_demo_steps
from .reads import incident_alert_list, incident_comment_list, incident_entity_list, incident_get, incident_list
from .writes import incident_assign, incident_close, incident_comment_add, incident_update

__version__ = "0.1.0"

TOOLS = (incident_list, incident_get, incident_update, incident_close, incident_assign, incident_comment_add,
         incident_comment_list, incident_alert_list, incident_entity_list, incident_bulk_update)


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    for fn in TOOLS:
        register(fn)


__all__ = ["register_tools", "sentinelkit_demo_steps"]
