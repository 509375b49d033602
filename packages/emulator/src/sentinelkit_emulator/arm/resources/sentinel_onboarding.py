"""Sentinel onboarding states: the switch that turns a Log Analytics workspace into a Sentinel one.

Only the ``default`` state exists. Creating it installs what onboarding installs in Sentinel (the
rule template gallery, the Fusion rule and Sentinel's tables such as SecurityIncident); every other
Sentinel API answers 400 until it exists.
"""

from __future__ import annotations

from typing import Any

from ...store import Resource
from ..kinds import Ctx, register
from .la_tables import add_solution_tables
from .sentinel_common import PROVIDER, SentinelKind, invalid, now_iso, req_bool, workspace_id_of
from .sentinel_rules import install_defaults

ONBOARDING_TYPE = f"{PROVIDER}/onboardingStates"


def onboarding_resource(workspace_id: str, customer_managed_key: bool = False) -> Resource:
    return {
        "id": f"{workspace_id}/providers/{PROVIDER}/onboardingStates/default",
        "name": "default",
        "type": ONBOARDING_TYPE,
        "properties": {"customerManagedKey": customer_managed_key},
    }


@register
class OnboardingStateKind(SentinelKind):
    type_name = ONBOARDING_TYPE
    template = "{sentinel}/onboardingStates/{sentinelOnboardingStateName}"
    operation = f"{PROVIDER}/onboardingStates"
    requires_onboarding = False
    body_required = False  # the SDK sends no body when called without parameters

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        if ctx.name.lower() != "default":
            raise invalid("sentinelOnboardingStateName", f"'{ctx.name}' is not supported; the only onboarding "
                          "state is 'default'")
        props = body.get("properties") or {}
        if not isinstance(props, dict):
            raise invalid("properties", "expected an object")
        cmk = req_bool(props, "customerManagedKey", required=False)
        return {"properties": {"customerManagedKey": bool(cmk)}}

    def after_write(self, ctx: Ctx, resource: Resource, existing: Resource | None) -> None:
        if existing is None:
            workspace_id = workspace_id_of(ctx.params)
            install_defaults(ctx.store, workspace_id, now_iso())
            workspace = ctx.store.get(workspace_id)
            if workspace is not None:
                add_solution_tables(ctx.store, workspace, sentinel=True)
