"""The emulator's world: who exists, who may do what, and the resources they see.

Everything here is plain data so that a scenario can build it, the store can persist it as JSON,
and a reset can rebuild it. Resources themselves are kept as the JSON bodies ARM returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: Roles the emulator understands. ``read`` lets a principal GET; ``write`` lets it PUT/PATCH/DELETE/POST
#: actions that change state. Names follow Azure's built-in roles so that 403 messages read as ARM's.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "Owner": frozenset({"read", "write"}),
    "Contributor": frozenset({"read", "write"}),
    "Reader": frozenset({"read"}),
    "Microsoft Sentinel Contributor": frozenset({"read", "write"}),
    "Microsoft Sentinel Responder": frozenset({"read", "write"}),
    "Microsoft Sentinel Reader": frozenset({"read"}),
    "Log Analytics Contributor": frozenset({"read", "write"}),
    "Log Analytics Reader": frozenset({"read"}),
    "Monitoring Contributor": frozenset({"read", "write"}),
    "Monitoring Reader": frozenset({"read"}),
}

#: Well-known role definition ids (the GUIDs Azure uses for these built-in roles).
ROLE_DEFINITION_IDS: dict[str, str] = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Microsoft Sentinel Contributor": "ab8e14d6-4a74-4a29-9ba8-549422addade",
    "Microsoft Sentinel Responder": "3e150937-b8fe-4cfb-8069-0eaf05ecd056",
    "Microsoft Sentinel Reader": "8d289c81-5878-46d4-8554-54e1e3d8b5cb",
    "Log Analytics Contributor": "92aaf0da-9dab-42b6-94a3-d43ce8d16293",
    "Log Analytics Reader": "73c42c96-874c-492b-b04d-ab87d138a893",
    "Monitoring Contributor": "749f88d5-cbae-40b8-bcfc-e573ddc772fa",
    "Monitoring Reader": "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
}


@dataclass
class Tenant:
    """An Entra ID tenant (directory)."""

    id: str
    name: str  # short name, e.g. "fabrikam"
    display_name: str  # e.g. "Fabrikam Ltd"
    domain: str  # e.g. "fabrikam.onmicrosoft.com"
    role: Literal["managing", "customer"] = "customer"


@dataclass
class Principal:
    """A service principal (app registration) that signs in with client credentials."""

    tenant_id: str  # home tenant
    name: str
    client_id: str  # appId
    object_id: str  # oid in its home tenant
    client_secret: str
    #: PEM of the client certificate (public part) registered for certificate assertions, if any.
    certificate_pem: str | None = None
    #: Its private key (PEM). Emulator credentials are fake; it is handed to clients like the secret.
    certificate_key_pem: str | None = None
    #: Extra tenants where the (multi-tenant) app has a service principal: tenant id -> object id there.
    other_tenants: dict[str, str] = field(default_factory=dict)
    description: str = ""


@dataclass
class User:
    """A user who can own incidents (analysts)."""

    tenant_id: str
    object_id: str
    user_principal_name: str
    email: str
    display_name: str


@dataclass
class Subscription:
    id: str  # GUID
    tenant_id: str  # owning tenant
    display_name: str
    state: str = "Enabled"


@dataclass
class RoleAssignment:
    """Principal ``principal_id`` (an object id in ``tenant_id``) holds ``role`` at ``scope`` (an ARM id prefix)."""

    tenant_id: str
    principal_id: str
    role: str
    scope: str
    #: Set when the assignment comes from an Azure Lighthouse delegation (registration assignment id).
    via_lighthouse: str | None = None


@dataclass
class ResourceApp:
    """An app registration that exposes an API (e.g. a hosted sentinelkit server): clients get tokens for
    ``api://<client_id>/.default``; its app roles are assigned to principals and users (by object id)."""

    tenant_id: str
    name: str
    client_id: str
    roles: list[str]
    #: object id of a principal or user -> the app roles it holds
    assignments: dict[str, list[str]] = field(default_factory=dict)

    @property
    def identifier_uri(self) -> str:
        return f"api://{self.client_id}"


@dataclass
class World:
    """Identity and access: tenants, principals, users, subscriptions, role assignments."""

    tenants: list[Tenant] = field(default_factory=list)
    principals: list[Principal] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    role_assignments: list[RoleAssignment] = field(default_factory=list)
    apps: list[ResourceApp] = field(default_factory=list)

    def __post_init__(self) -> None:
        #: id(list) -> (the list, its length when indexed, its index): see ``_index``; not a field (not saved)
        self._indexes: dict[int, tuple[list[Any], int, dict[str, list[Any]]]] = {}

    # -- look-ups -----------------------------------------------------------------------------
    def tenant(self, key: str) -> Tenant | None:
        """Find a tenant by id, short name or domain (case-insensitive)."""
        k = key.lower()
        for t in self.tenants:
            if k in (t.id.lower(), t.name.lower(), t.domain.lower()):
                return t
        return None

    def principal_by_client_id(self, client_id: str) -> Principal | None:
        for p in self.principals:
            if p.client_id.lower() == client_id.lower():
                return p
        return None

    def app_for_audience(self, audience: str) -> ResourceApp | None:
        """The app registration a token audience (``api://<client id>`` or the client id) names."""
        a = audience.lower().rstrip("/")
        for app in self.apps:
            if a in (app.identifier_uri.lower(), app.client_id.lower()):
                return app
        return None

    def user_by_upn(self, upn: str) -> User | None:
        for u in self.users:
            if u.user_principal_name.lower() == upn.lower():
                return u
        return None

    def subscription(self, sub_id: str) -> Subscription | None:
        return self._index(self.subscriptions, lambda s: s.id.lower()).get(sub_id.lower(), [None])[0]

    def assignments_of(self, tenant_id: str, principal_id: str) -> list[RoleAssignment]:
        """The role assignments a principal holds in a tenant (its token's ``tid`` and ``oid``)."""
        index = self._index(self.role_assignments, lambda a: f"{a.tenant_id.lower()} {a.principal_id.lower()}")
        return index.get(f"{tenant_id.lower()} {principal_id.lower()}", [])

    def _index(self, items: list[Any], key: Callable[[Any], str]) -> dict[str, list[Any]]:
        """``items`` grouped by ``key``, built again when the list changed length (a world of 1,000
        workspaces is looked up on every request: not a scan of every subscription and assignment)."""
        cached = self._indexes.get(id(items))
        if cached is None or cached[0] is not items or cached[1] != len(items):
            grouped: dict[str, list[Any]] = {}
            for item in items:
                grouped.setdefault(key(item), []).append(item)
            cached = self._indexes[id(items)] = (items, len(items), grouped)
        return cached[2]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> World:
        return cls(
            tenants=[Tenant(**t) for t in data["tenants"]],
            principals=[Principal(**p) for p in data["principals"]],
            users=[User(**u) for u in data["users"]],
            subscriptions=[Subscription(**s) for s in data["subscriptions"]],
            role_assignments=[RoleAssignment(**r) for r in data["role_assignments"]],
            apps=[ResourceApp(**a) for a in data.get("apps", [])],
        )
