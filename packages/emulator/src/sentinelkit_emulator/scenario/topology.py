"""Who exists and who reaches what: tenants, principals, users, subscriptions, resource groups,
Lighthouse delegations and the Log Analytics workspaces. Everything else is seeded on top of this.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ..model import ROLE_DEFINITION_IDS, Principal, ResourceApp, RoleAssignment, Subscription, Tenant, User, World
from ..store import Store, new_etag
from .plan import ScenarioPlan, WorkspacePlan, stable_id

#: The managing tenant's principals and the role each holds on customer subscriptions via Lighthouse.
MANAGING_PRINCIPALS = {
    "sentinelkit-mssp": ("Contributor", "Read and write for automation across every delegated customer."),
    "sentinelkit-reader": ("Reader", "Read-only: every write is refused with 403 AuthorizationFailed."),
}
#: The hosted sentinelkit server's own app registration (managing tenant): its app roles, and who holds them.
API_APP = "sentinelkit-api"
API_ROLES = ["Sentinel.Reader", "Sentinel.Responder", "Sentinel.Engineer"]
API_ASSIGNMENTS = {
    "sentinelkit-mssp": ["Sentinel.Engineer"],
    "sentinelkit-reader": ["Sentinel.Reader"],
    "alice.analyst": ["Sentinel.Engineer"],
    "bob.lead": ["Sentinel.Responder"],
    "carol.tier1": ["Sentinel.Reader"],
}
#: Principals that also get a client certificate (for certificate-credential tests).
CERTIFICATE_PRINCIPALS = {"sentinelkit-mssp", "sentinelkit-woodgrove"}


def _client_certificate(common_name: str) -> tuple[str, str]:
    """A self-signed client certificate: (certificate PEM, private key PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert_pem, key_pem


def _principal(tenant: Tenant, name: str, description: str) -> Principal:
    cert_pem = key_pem = None
    if name in CERTIFICATE_PRINCIPALS:
        cert_pem, key_pem = _client_certificate(name)
    return Principal(
        tenant_id=tenant.id,
        name=name,
        client_id=stable_id("app", name),
        object_id=stable_id("sp", name, tenant.id),
        client_secret=secrets.token_urlsafe(24),
        certificate_pem=cert_pem,
        certificate_key_pem=key_pem,
        description=description,
    )


def build_world(plan: ScenarioPlan) -> World:
    world = World()
    managing = next(t for t in plan.tenants if t.role == "managing")
    for tp in plan.tenants:
        tenant = Tenant(tp.id, tp.name, tp.display_name, tp.domain, "managing" if tp.role == "managing" else "customer")
        world.tenants.append(tenant)
        world.subscriptions.append(Subscription(tp.subscription_id, tp.id, tp.subscription))
        for user in tp.analysts:
            world.users.append(
                User(
                    tenant_id=tp.id,
                    object_id=stable_id("user", user, tp.name),
                    user_principal_name=f"{user}@{tp.domain}",
                    email=f"{user}@{tp.domain}",
                    display_name=user.replace(".", " ").title(),
                )
            )
        if tp.role == "managing":
            for name, (_, description) in MANAGING_PRINCIPALS.items():
                world.principals.append(_principal(tenant, name, description))
        else:
            world.principals.append(
                _principal(tenant, f"sentinelkit-{tp.name}", f"{tp.display_name}'s own automation principal.")
            )
    by_name = {p.name: p for p in world.principals}
    holders = {**{p.name: p.object_id for p in world.principals if p.tenant_id == managing.id},
               **{u.user_principal_name.split("@")[0]: u.object_id for u in world.users if u.tenant_id == managing.id}}
    world.apps.append(ResourceApp(managing.id, API_APP, stable_id("app", API_APP), list(API_ROLES),
                                  {holders[name]: roles for name, roles in API_ASSIGNMENTS.items() if name in holders}))

    # Role assignments in each tenant on its own subscription.
    for tp in plan.tenants:
        scope = f"/subscriptions/{tp.subscription_id}"
        if tp.role == "managing":
            for name, (role, _) in MANAGING_PRINCIPALS.items():
                world.role_assignments.append(RoleAssignment(tp.id, by_name[name].object_id, role, scope))
        else:
            own = by_name[f"sentinelkit-{tp.name}"]
            world.role_assignments.append(RoleAssignment(tp.id, own.object_id, "Contributor", scope))
            if tp.delegated:
                for name, (role, _) in MANAGING_PRINCIPALS.items():
                    world.role_assignments.append(
                        RoleAssignment(
                            managing.id, by_name[name].object_id, role, scope,
                            via_lighthouse=stable_id("registrationAssignment", tp.name),
                        )
                    )
            else:
                # Not delegated: the MSSP's multi-tenant app was consented here instead (per-tenant credential).
                mssp = by_name["sentinelkit-mssp"]
                oid = stable_id("sp", "sentinelkit-mssp", tp.id)
                mssp.other_tenants[tp.id] = oid
                world.role_assignments.append(RoleAssignment(tp.id, oid, "Contributor", scope))
    return world


def _lighthouse_resources(plan: ScenarioPlan, world: World, created: str) -> list[dict[str, Any]]:
    managing = next(t for t in plan.tenants if t.role == "managing")
    principals = {p.name: p for p in world.principals}
    resources = []
    for tp in plan.tenants:
        if not tp.delegated:
            continue
        sub = f"/subscriptions/{tp.subscription_id}"
        definition_id = stable_id("registrationDefinition", tp.name)
        assignment_id = stable_id("registrationAssignment", tp.name)
        definition = {
            "id": f"{sub}/providers/Microsoft.ManagedServices/registrationDefinitions/{definition_id}",
            "name": definition_id,
            "type": "Microsoft.ManagedServices/registrationDefinitions",
            "properties": {
                "registrationDefinitionName": "Contoso MSSP Sentinel management",
                "description": "Contoso MSSP manages Microsoft Sentinel for this customer.",
                "managedByTenantId": managing.id,
                "managedByTenantName": managing.display_name,
                "manageeTenantId": tp.id,
                "manageeTenantName": tp.display_name,
                "authorizations": [
                    {
                        "principalId": principals[name].object_id,
                        "principalIdDisplayName": name,
                        "roleDefinitionId": ROLE_DEFINITION_IDS[role],
                    }
                    for name, (role, _) in MANAGING_PRINCIPALS.items()
                ],
                "provisioningState": "Succeeded",
            },
        }
        assignment = {
            "id": f"{sub}/providers/Microsoft.ManagedServices/registrationAssignments/{assignment_id}",
            "name": assignment_id,
            "type": "Microsoft.ManagedServices/registrationAssignments",
            "properties": {"registrationDefinitionId": definition["id"], "provisioningState": "Succeeded"},
        }
        resources += [definition, assignment]
    return resources


def seed_topology(store: Store, plan: ScenarioPlan) -> None:
    """Resource groups, Lighthouse registrations and workspaces (Sentinel onboarding is seeded later)."""
    created = (store.now - dt.timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for resource in _lighthouse_resources(plan, store.world, created):
        store.put(resource)
    for wp in plan.workspaces:
        tp = plan.tenant(wp.tenant)
        rg_id = f"/subscriptions/{tp.subscription_id}/resourceGroups/{wp.resource_group}"
        if store.get(rg_id) is None:
            store.put(
                {
                    "id": rg_id,
                    "name": wp.resource_group,
                    "type": "Microsoft.Resources/resourceGroups",
                    "location": wp.location,
                    "tags": {"owner": tp.name},
                    "properties": {"provisioningState": "Succeeded"},
                }
            )
        store.put(
            {
                "id": workspace_id(plan, wp),
                "name": wp.name,
                "type": "Microsoft.OperationalInsights/workspaces",
                "location": wp.location,
                "tags": {"customer": tp.name},
                "etag": new_etag(),
                "properties": {
                    "customerId": workspace_customer_id(wp.name),
                    "provisioningState": "Succeeded",
                    "sku": {"name": "PerGB2018", "lastSkuUpdate": created},
                    "retentionInDays": 90,
                    "features": {"enableLogAccessUsingOnlyResourcePermissions": True},
                    "workspaceCapping": {
                        "dailyQuotaGb": -1.0,
                        "quotaNextResetTime": (store.now + dt.timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z"),
                        "dataIngestionStatus": "RespectQuota",
                    },
                    "publicNetworkAccessForIngestion": "Enabled",
                    "publicNetworkAccessForQuery": "Enabled",
                    "createdDate": created,
                    "modifiedDate": created,
                },
            }
        )


def workspace_id(plan: ScenarioPlan, wp: WorkspacePlan) -> str:
    """The ARM id of a planned workspace."""
    return (f"/subscriptions/{plan.tenant(wp.tenant).subscription_id}/resourceGroups/{wp.resource_group}"
            f"/providers/Microsoft.OperationalInsights/workspaces/{wp.name}")


def workspace_customer_id(workspace_name: str) -> str:
    """The workspace GUID (``customerId``) the query API is addressed by."""
    return stable_id("workspace", workspace_name)
