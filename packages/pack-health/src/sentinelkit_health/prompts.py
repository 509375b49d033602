"""Prompts that lead a client through the health check into a report an SOC lead can act on."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field

REPORT_SHAPE = """\
Write the report for an SOC lead, in this order:
1. Overall status (healthy / degraded / critical) in one sentence, with the summary counts.
2. Critical findings first, then warnings, then informational ones, grouped by tenant and workspace.
   For each: what is wrong, the evidence (the exact figure, time or message the check returned), and
   the recommendation. Do not invent figures: quote the evidence fields.
3. Workspaces that are healthy, in one line.
4. Tenants or workspaces that could not be checked (access findings, `tenant_findings`, `errors`),
   with the role or delegation that is missing.
5. A short, ordered action list (owner-ready: "Reconnect the Office 365 connector in law-northwind").
If the answer has `next_cursor`, call the tool again with it before writing the report."""


def sentinel_health_report(
    tenant_scope: Annotated[str, Field(description='"all", or comma-separated tenant names or ids.')] = "all",
    depth: Annotated[
        str, Field(description='"quick" or "detailed" (adds retention, DCR/DCE, watchlists).')
    ] = "detailed",
) -> str:
    """A full Microsoft Sentinel health report for an SOC lead, across tenants."""
    scope = [t.strip() for t in tenant_scope.split(",") if t.strip()] or ["all"]
    scope_arg = '"all"' if scope == ["all"] else json.dumps(scope)
    depth = depth if depth in ("quick", "detailed") else "detailed"
    return (
        f"Produce a Microsoft Sentinel health report.\n\n"
        f'Call the tool `sentinel_health_check` with tenant_scope={scope_arg} and check_depth="{depth}".\n'
        "If a finding needs detail you do not have (for example which incidents make up a backlog), you may "
        "use `logs_query` with a short read-only KQL query on that workspace; do not change anything.\n\n"
        + REPORT_SHAPE
    )


def sentinel_quick_status() -> str:
    """A one-screen status of every Sentinel workspace: what is on fire right now."""
    return (
        "Give me a quick Microsoft Sentinel status.\n\n"
        'Call the tool `sentinel_health_check` with tenant_scope="all" and check_depth="quick".\n'
        "Answer in at most ten lines: the overall status and counts first, then one line per critical or "
        "warning finding as `<tenant>/<workspace>: <what> (<key evidence>) -> <action>`, most severe first, "
        'then the unreachable tenants or workspaces. Say "all healthy" if there is nothing to report.'
    )
