"""Who may see and change what: tenant boundaries, Azure Lighthouse delegation and roles.

A token carries ``tid`` and ``oid``. A principal's rights on an ARM scope are the union of the role
assignments it holds *in the token's tenant* whose scope is a prefix of the target; Lighthouse
delegations appear as role assignments of the managing tenant's principal on the customer's
subscription. A subscription the caller holds no role on is invisible: ARM answers as it does for
a token from the wrong tenant.
"""

from __future__ import annotations

from .errors import ArmError
from .model import ROLE_PERMISSIONS, RoleAssignment, Subscription, World
from .tokens import Caller


def _assignments(world: World, caller: Caller) -> list[RoleAssignment]:
    return world.assignments_of(caller.tenant_id, caller.object_id)


def permissions(world: World, caller: Caller, scope: str) -> frozenset[str]:
    """The union of permissions (``read``/``write``) the caller holds on ``scope``."""
    target = scope.rstrip("/").lower() + "/"
    perms: set[str] = set()
    for a in _assignments(world, caller):
        if target.startswith(a.scope.rstrip("/").lower() + "/"):
            perms |= ROLE_PERMISSIONS.get(a.role, frozenset())
    return frozenset(perms)


def visible_subscriptions(world: World, caller: Caller) -> list[Subscription]:
    """Subscriptions the caller can see: those where it holds any role (own or delegated)."""
    scopes = [a.scope.lower() for a in _assignments(world, caller)]
    result = []
    for sub in world.subscriptions:
        prefix = f"/subscriptions/{sub.id}".lower()
        if any(s == prefix or s.startswith(prefix + "/") or prefix.startswith(s.rstrip("/") + "/") for s in scopes):
            result.append(sub)
    return result


def managed_by_tenants(world: World, sub: Subscription) -> list[str]:
    """Tenants that manage ``sub`` through Lighthouse (ARM's ``managedByTenants``)."""
    prefix = f"/subscriptions/{sub.id}".lower()
    tenants = {
        a.tenant_id
        for a in world.role_assignments
        if a.via_lighthouse and a.scope.lower().startswith(prefix)
    }
    return sorted(tenants)


def check_access(world: World, caller: Caller, scope: str, need: str, action: str) -> None:
    """Raise ARM's error if ``caller`` may not perform ``action`` (``need`` = read/write) on ``scope``.

    ``scope`` is an ARM id starting with ``/subscriptions/{id}``; ``action`` is the operation name
    ARM puts in its 403 message, e.g. ``Microsoft.SecurityInsights/incidents/write``.
    """
    parts = scope.split("/")
    sub_id = parts[2] if len(parts) > 2 else ""
    sub = world.subscription(sub_id)
    if sub is None:
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub_id}' could not be found.")
    perms = permissions(world, caller, scope)
    if not perms and sub not in visible_subscriptions(world, caller):
        raise ArmError(
            401,
            "InvalidAuthenticationTokenTenant",
            f"The access token is from the wrong issuer 'https://sts.windows.net/{caller.tenant_id}/'. "
            f"It must match the tenant 'https://sts.windows.net/{sub.tenant_id}/' associated with this "
            "subscription. Please use the authority (URL) 'https://login.windows.net/"
            f"{sub.tenant_id}' to get the token. Note, if the subscription is transferred to another "
            "tenant there is no impact to the services, but information about new tenant could take "
            "time to propagate (up to an hour). If you just transferred your subscription and see this "
            "error message, please try back later.",
        )
    if need not in perms:
        raise ArmError(
            403,
            "AuthorizationFailed",
            f"The client '{caller.object_id}' with object id '{caller.object_id}' does not have "
            f"authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. "
            "If access was recently granted, please refresh your credentials.",
        )
