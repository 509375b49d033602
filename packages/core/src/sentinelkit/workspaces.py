"""The workspace registry: configured and discovered workspaces, and resolving what a user typed.

Discovery walks every credential: subscriptions (including Lighthouse-delegated ones, which carry
``managedByTenants``) → Log Analytics workspaces → Sentinel onboarding. Results are cached for the
runtime's cache TTL. A tenant or subscription that fails is recorded and skipped, never fatal.
"""

from __future__ import annotations

import asyncio
import difflib
import time
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .errors import AzureError, BadRequestError, KitError, NotFoundError, Where, WorkspaceNotFound

if TYPE_CHECKING:
    from .runtime import Runtime


@dataclass(frozen=True)
class Workspace:
    """A Log Analytics workspace the server can reach, and how. Immutable: the registry owns workspaces
    and fills what is missing (``kit.workspace_details``); tools never change them."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    tenant_id: str | None = None
    tenant: str | None = None
    subscription: str | None = None
    customer_id: str | None = None
    alias: str | None = None
    sentinel: bool | None = None
    location: str | None = None
    delegated: bool = False
    via: str = "default"
    qualifier: str | None = None
    """Set by the registry when another reachable workspace has the same name and no alias tells them
    apart (common for an MSSP): the label becomes ``<qualifier>/<name>``, e.g. ``fabrikam/law-soc``."""

    @classmethod
    def from_id(cls, arm_id: str, **kwargs: Any) -> Workspace:
        """The workspace of a full ARM id (``InvalidArmId``, a ``KitError``, when ``arm_id`` is not one)."""
        from .armid import ArmId

        arm = ArmId.parse(arm_id, expect="Microsoft.OperationalInsights/workspaces", what="workspace id")
        return cls(id=arm.text, name=arm.name, subscription_id=arm.subscription_id,
                   resource_group=arm.resource_group or "", **kwargs)

    @property
    def label(self) -> str:
        """How answers, errors and fan-out results name this workspace: its alias, else its name,
        prefixed with its tenant (or tenant/resource group) when that name is not unique. Every label
        is accepted back as a ``workspace`` argument."""
        base = self.alias or self.name
        return f"{self.qualifier}/{base}" if self.qualifier else base

    @property
    def tenant_label(self) -> str:
        """How answers name the workspace's tenant: its short name, else its id."""
        return self.tenant or self.tenant_id or "?"

    def in_tenant(self, tenant: str) -> bool:
        """Whether ``tenant`` (short name, display name, tenant id or credential key) is this workspace's."""
        t = tenant.strip().lower()
        return t in ((self.tenant or "").lower(), (self.tenant_id or "").lower(), self.via.lower())

    def where(self, resource: str | None = None, operation: str | None = None) -> Where:
        return Where(tenant=self.tenant or self.tenant_id, workspace=self.label, resource=resource,
                     operation=operation)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Unreachable:
    """Part of the estate discovery could not list (a credential, or a subscription): workspaces there are
    missing from "all" (or stale), so every answer that would have included them says so."""

    scope: str
    """``credential woodgrove`` or ``subscription Fabrikam Production``."""
    message: str
    tenant: str | None = None
    tenant_id: str | None = None
    subscription_id: str | None = None

    def in_tenant(self, tenant: str) -> bool:
        t = tenant.strip().lower()
        return t in ((self.tenant or "").lower(), (self.tenant_id or "").lower())


@dataclass
class Discovery:
    """Every reachable workspace, the tenants' short names, and what could not be listed."""

    workspaces: list[Workspace] = field(default_factory=list)
    unreachable: list[Unreachable] = field(default_factory=list)
    """Gaps: what could not be listed and no other credential made up for (missing from "all")."""
    problems: list[Unreachable] = field(default_factory=list)
    """Every failure of discovery, gaps or not (a broken per-tenant credential whose workspaces Lighthouse
    still reaches is not a gap, but still a problem to fix)."""
    tenants: dict[str, str] = field(default_factory=dict)  # tenant id → short name

    @property
    def errors(self) -> dict[str, str]:
        """``{scope: message}`` of every discovery failure (``problems``)."""
        return {u.scope: u.message for u in self.problems}


@dataclass
class _Scan:
    """What one credential's discovery found, and when to look again."""

    workspaces: list[Workspace]
    unreachable: list[Unreachable]
    tenant_names: dict[str, str]
    at: float
    listed: set[str] = field(default_factory=set)  # subscriptions (lower case) whose workspaces were listed
    failures: int = 0  # consecutive failed scans (backoff: 1, 2, 4 ... seconds, at most the cache TTL)

    @property
    def unsure(self) -> bool:
        """Something is to be looked at again soon: a part failed, or a workspace's Sentinel state is unknown."""
        return bool(self.unreachable) or any(ws.sentinel is None for ws in self.workspaces)

    def due(self, now: float, ttl: float) -> bool:
        wait = min(2.0 ** (self.failures - 1), ttl) if self.unsure else ttl
        return now - self.at >= max(wait, 0.5)

    def to_json(self) -> dict[str, Any]:
        """For replicas (``sentinelkit.sharedstate``): its age instead of this process's clock."""
        return {"workspaces": [asdict(ws) for ws in self.workspaces], "unreachable": [asdict(u) for u in self.unreachable],
                "tenant_names": self.tenant_names, "age": time.monotonic() - self.at, "listed": sorted(self.listed),
                "failures": self.failures}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Scan:
        return cls([Workspace(**ws) for ws in data["workspaces"]], [Unreachable(**u) for u in data["unreachable"]],
                   dict(data["tenant_names"]), time.monotonic() - float(data["age"]), set(data["listed"]),
                   int(data["failures"]))


def _short(domain: str | None, display: str | None) -> str | None:
    if domain:
        return domain.split(".", 1)[0]
    return display


def qualify(workspaces: list[Workspace]) -> list[Workspace]:
    """Make every label unique: a name (without alias) shared by several workspaces gets the tenant
    as qualifier, and the tenant and resource group when the tenant does not tell them apart either."""
    plain = [replace(ws, qualifier=None) for ws in workspaces]
    groups: dict[str, list[int]] = {}
    for i, ws in enumerate(plain):
        groups.setdefault(ws.label.lower(), []).append(i)
    for same in groups.values():
        if len(same) < 2:
            continue
        tenants = [(plain[i].tenant or plain[i].tenant_id or plain[i].subscription_id).lower() for i in same]
        for i in same:
            ws = plain[i]
            tenant = ws.tenant or ws.tenant_id or ws.subscription_id
            plain[i] = replace(ws, qualifier=tenant if tenants.count(tenant.lower()) == 1
                               else f"{tenant}/{ws.resource_group}")
    return plain


class WorkspaceRegistry:
    """Every workspace the server reaches: configured and discovered, cached for the cache TTL.

    Also the map from a subscription or a workspace's customerId to its tenant, which the Azure clients
    use to bound concurrency per *target* tenant (one Lighthouse credential reaches many customers)."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._discovery: Discovery | None = None
        self._scans: dict[str, _Scan] = {}
        self._lock = asyncio.Lock()
        self._subscription_tenants: dict[str, str] = {}
        self._customer_tenants: dict[str, str] = {}
        self._tenant_names: dict[str, str] = {}
        self._shared_changed = False

    async def discover(self, *, refresh: bool = False) -> Discovery:
        """Every credential's workspaces, each credential's scan cached for the cache TTL; a scan that failed
        somewhere is retried on a later call after a short backoff (1, 2, 4 ... s), never cached as "no
        workspaces": what it knew before stays listed, and the failure is reported."""
        async with self._lock:
            now = time.monotonic()
            ttl = max(self.rt.settings.cache_ttl, 1)
            keys = self.rt.credentials.keys() if self.rt.settings.discover else []
            due = [k for k in keys if refresh or k not in self._scans or self._scans[k].due(now, ttl)]
            if not refresh:  # another replica may have scanned them lately
                for key in list(due):
                    scan = self._shared_scan(key)
                    if scan is not None and not scan.due(now, ttl):
                        self._scans[key] = scan
                        due.remove(key)
            if self._discovery is not None and not due and not self._shared_changed:
                return self._discovery
            self._shared_changed = False
            for key, scan in zip(due, await asyncio.gather(*(self._scan(k) for k in due)), strict=True):
                previous = self._scans.get(key)
                if previous is not None:  # an onboarding state that could not be read keeps the one known before
                    was = {ws.id.lower(): ws.sentinel for ws in previous.workspaces}
                    scan.workspaces = [replace(ws, sentinel=was.get(ws.id.lower())) if ws.sentinel is None else ws
                                       for ws in scan.workspaces]
                if scan.unsure and previous is not None:
                    known = {ws.id.lower() for ws in scan.workspaces}
                    scan.workspaces += [ws for ws in previous.workspaces if ws.id.lower() not in known]
                    scan.failures = previous.failures + 1
                elif scan.unsure:
                    scan.failures = 1
                self._scans[key] = scan
                if self.rt.shared.backend != "process":
                    self.rt.shared.set_json(f"discovery:{key}", scan.to_json(), ttl)
            self._discovery = self._merge([self._scans[k] for k in keys])
            self._tenant_names.update(self._discovery.tenants)
            for ws in self._discovery.workspaces:
                if ws.tenant_id:
                    self._subscription_tenants[ws.subscription_id.lower()] = ws.tenant_id
                    if ws.customer_id:
                        self._customer_tenants[ws.customer_id.lower()] = ws.tenant_id
            return self._discovery

    def _shared_scan(self, key: str) -> _Scan | None:
        """A scan of this credential another replica shared (``None`` without one, or over stdio)."""
        if self.rt.shared.backend == "process":
            return None
        data = self.rt.shared.get_json(f"discovery:{key}")
        if data is None:
            return None
        try:
            scan = _Scan.from_json(data)
        except (KeyError, TypeError, ValueError):
            return None
        mine = self._scans.get(key)
        if mine is None or scan.at > mine.at + 0.001:
            self._shared_changed = True
        return scan

    def known(self) -> Discovery | None:
        """The last discovery, without discovering (``None`` before the first one)."""
        return self._discovery

    async def all(self, *, refresh: bool = False) -> list[Workspace]:
        return list((await self.discover(refresh=refresh)).workspaces)

    def tenant_of_subscription(self, subscription_id: str) -> str | None:
        """The tenant id owning a subscription, as discovery saw it (None before discovery / unknown)."""
        return self._subscription_tenants.get(subscription_id.lower())

    def tenant_of_customer(self, customer_id: str) -> str | None:
        """The tenant id owning the workspace with this customerId (the Log Analytics query API's key)."""
        return self._customer_tenants.get(customer_id.lower())

    def tenant_name(self, tenant_id: str) -> str:
        """A tenant's short name (``fabrikam``) as discovery learnt it, else its id."""
        return self._tenant_names.get(tenant_id, tenant_id)

    def remember_subscription(self, subscription_id: str, tenant_id: str) -> None:
        self._subscription_tenants.setdefault(subscription_id.lower(), tenant_id)

    # -- discovery ----------------------------------------------------------------------------
    async def _scan(self, key: str) -> _Scan:
        """One credential: its tenants' names, subscriptions (Lighthouse-delegated ones included), their
        workspaces and whether Sentinel is onboarded. A failure is recorded with the tenant it concerns."""
        from .azure import api_versions as v

        names: dict[str, str] = {}
        unreachable: list[Unreachable] = []
        listed: set[str] = set()
        home = self.rt.credentials.tenant_id(key)
        try:
            arm = self.rt.arm(key)
        except KitError as exc:  # a credential that cannot be built (e.g. a missing certificate): this one only
            tenant = None if key == "default" else key
            return _Scan([], [Unreachable(f"credential {key}", str(exc), tenant, home)], names, time.monotonic())
        try:
            for t in await arm.list("/tenants", v.TENANTS, where=Where(operation="list tenants"), cache=False):
                name = _short(t.get("defaultDomain"), t.get("displayName"))
                if t.get("tenantId") and name:
                    names.setdefault(t["tenantId"], name)
        except KitError:
            pass  # names are a nicety (and a failing token shows below)
        try:
            subs = await arm.list("/subscriptions", v.SUBSCRIPTIONS, cache=False,
                                  where=Where(tenant=None if key == "default" else key, operation="list subscriptions"))
        except KitError as exc:
            tenant = None if key == "default" else key
            return _Scan([], [Unreachable(f"credential {key}", str(exc), tenant, home)], names, time.monotonic())
        for sub in subs:
            if sub.get("tenantId"):
                self.remember_subscription(sub["subscriptionId"], sub["tenantId"])

        async def one_sub(sub: dict[str, Any]) -> list[Workspace]:
            sub_id = sub["subscriptionId"]
            owner = sub.get("tenantId")
            tenant = names.get(owner, self._configured_name(owner)) if owner else None
            label = sub.get("displayName", sub_id)
            try:
                items = await arm.list(
                    f"/subscriptions/{sub_id}/providers/Microsoft.OperationalInsights/workspaces", v.WORKSPACES,
                    cache=False, where=Where(tenant=tenant, operation="list workspaces", resource=f"subscription {label}"),
                )
            except KitError as exc:
                unreachable.append(Unreachable(f"subscription {label}", str(exc), tenant, owner, sub_id))
                return []
            listed.add(sub_id.lower())
            delegated = bool(sub.get("managedByTenants")) and owner != home
            result = [
                Workspace.from_id(
                    item["id"], tenant_id=owner, tenant=tenant, subscription=sub.get("displayName"),
                    customer_id=(item.get("properties") or {}).get("customerId"), location=item.get("location"),
                    delegated=delegated, via=key,
                )
                for item in items
            ]
            states = await asyncio.gather(*(self._onboarding(arm, ws) for ws in result))
            return [replace(ws, sentinel=state) for ws, state in zip(result, states, strict=True)]

        found = [ws for chunk in await asyncio.gather(*(one_sub(s) for s in subs)) for ws in chunk]
        return _Scan(found, unreachable, names, time.monotonic(), listed)

    def _configured_name(self, tenant_id: str | None) -> str | None:
        for key, tenant in self.rt.settings.tenants.items():
            if tenant.tenant_id == tenant_id:
                return key
        return tenant_id

    def _merge(self, scans: list[_Scan]) -> Discovery:
        """The scans together (the first credential that reaches a workspace is the one used), with the
        workspaces of sentinelkit.toml laid over them, every label unique."""
        settings = self.rt.settings
        tenant_names: dict[str, str] = {t.tenant_id: key for key, t in settings.tenants.items()}
        for scan in scans:
            for tid, name in scan.tenant_names.items():
                tenant_names.setdefault(tid, name)
        by_id: dict[str, Workspace] = {}
        for scan in scans:
            for ws in scan.workspaces:
                by_id.setdefault(ws.id.lower(), ws)
        for cfg in settings.workspaces:
            known = by_id.get(cfg.id.lower()) or Workspace.from_id(cfg.id, customer_id=cfg.customer_id)
            changes: dict[str, Any] = {"alias": cfg.alias or known.alias}
            if cfg.tenant:
                changes["via"] = cfg.tenant
                changes["tenant_id"] = known.tenant_id or settings.tenants[cfg.tenant].tenant_id
            if cfg.customer_id:
                changes["customer_id"] = cfg.customer_id
            by_id[cfg.id.lower()] = replace(known, **changes)
        named = [replace(ws, tenant=tenant_names.get(ws.tenant_id, ws.tenant_id)) if ws.tenant_id else ws
                 for ws in by_id.values()]
        # a failure another credential made up for (it listed that subscription, or that tenant) is not a gap
        listed = {sub for scan in scans for sub in scan.listed}
        listed_tenants = {ws.tenant_id for scan in scans for ws in scan.workspaces
                          if ws.subscription_id.lower() in scan.listed}
        problems: dict[str, Unreachable] = {}
        for u in (u for scan in scans for u in scan.unreachable):
            problems.setdefault(u.scope, replace(u, tenant=tenant_names.get(u.tenant_id, u.tenant)
                                                 if u.tenant_id else u.tenant))
        gaps = [u for u in problems.values() if not ((u.subscription_id or "").lower() in listed or (
            u.subscription_id is None and u.tenant_id in listed_tenants))]
        return Discovery(workspaces=qualify(sorted(named, key=lambda w: ((w.tenant or "").lower(), w.name.lower()))),
                         unreachable=gaps, problems=list(problems.values()), tenants=tenant_names)

    async def _onboarding(self, arm: Any, ws: Workspace) -> bool | None:
        from .azure import api_versions as v

        try:
            states = await arm.list(f"{ws.id}/providers/Microsoft.SecurityInsights/onboardingStates", v.SENTINEL,
                                    where=ws.where(operation="read Sentinel onboarding"))
            return bool(states)
        except (BadRequestError, NotFoundError):
            return False
        except AzureError:
            return None

    async def details(self, ws: Workspace, *, fresh: bool = False) -> Workspace:
        """``ws`` with its customerId and location filled in from ARM (a cached read unless ``fresh``; a fresh
        read also proves that the workspace still exists: ``NotFoundError`` otherwise)."""
        if ws.customer_id and ws.location and not fresh:
            return ws
        from .azure import api_versions as v

        data = await self.rt.arm(ws.via).get(ws.id, v.WORKSPACES, cache=not fresh,
                                             where=ws.where(operation="read workspace"))
        return replace(ws, customer_id=ws.customer_id or (data.get("properties") or {}).get("customerId"),
                       location=ws.location or data.get("location"))

    # -- resolution ---------------------------------------------------------------------------
    async def resolve(self, ref: str) -> Workspace:
        """An alias, a workspace name, a customerId or a full ARM id → the workspace."""
        ref = (ref or "").strip()
        if not ref:
            raise WorkspaceNotFound("no workspace given: pass an alias, a workspace name or a full ARM id "
                                    "(call workspace_list to see them)")
        workspaces = await self.all()
        low = ref.lower().rstrip("/")
        for ws in workspaces:
            if low in (ws.id.lower(), (ws.alias or "").lower(), (ws.customer_id or "").lower(), ws.label.lower()):
                return ws
        named = [ws for ws in workspaces if ws.name.lower() == low]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise WorkspaceNotFound(
                f"workspace name {ref!r} is ambiguous: it exists in "
                + ", ".join(f"{w.tenant or w.tenant_id} (pass {w.label!r} or {w.id})" for w in named)
                + "; or give it an alias in sentinelkit.toml"
            )
        if low.startswith("/subscriptions/") and "/workspaces/" in low:
            # not discovered (e.g. discovery off): accept the id, reached through the default credential
            keys = self.rt.credentials.keys()
            return Workspace.from_id(ref, via=keys[0] if keys else "default")
        raise WorkspaceNotFound(self._unknown_message(ref, workspaces))

    def _unknown_message(self, ref: str, workspaces: list[Workspace]) -> str:
        names = sorted({n for ws in workspaces for n in (ws.alias, ws.name) if n})
        close = difflib.get_close_matches(ref, names, n=3, cutoff=0.5) or difflib.get_close_matches(
            ref.lower(), [n.lower() for n in names], n=3, cutoff=0.4)
        unreachable = self._discovery.unreachable if self._discovery else []
        failed = (" It may be in a part discovery could not list (tried again on the next call): "
                  + "; ".join(f"{u.scope}{f' (tenant {u.tenant})' if u.tenant else ''}: {u.message}" for u in unreachable)
                  if unreachable else "")
        if not names:
            return (f"unknown workspace {ref!r}: no workspaces are known (none configured, none discovered)."
                    f"{failed} Check credentials with `sentinelkit config check`.")
        suggestion = f" Closest known: {', '.join(close)}." if close else f" Known: {', '.join(names[:10])}."
        return f"unknown workspace {ref!r}.{suggestion} Call workspace_list to see every workspace.{failed}"

    async def select(self, workspaces: list[str] | str | None = None, tenant: str | None = None, *,
                     sentinel_only: bool = True) -> tuple[list[Workspace], list[Unreachable]]:
        """Targets of a fan-out: names/aliases/ids, or ``"all"`` (Sentinel-enabled), filtered by tenant; and,
        for "all", the parts of the estate discovery could not list that it would have included. A workspace
        whose Sentinel onboarding could not be read (throttled, say) is included: its own answer says more,
        where leaving it out would drop it silently."""
        unreachable: list[Unreachable] = []
        if workspaces in (None, "all", ["all"], []):
            discovery = await self.discover()
            chosen = [w for w in discovery.workspaces if w.sentinel is not False or not sentinel_only]
            unreachable = [u for u in discovery.unreachable if not tenant or u.tenant is None or u.in_tenant(tenant)]
        else:
            refs = [workspaces] if isinstance(workspaces, str) else list(workspaces or [])
            chosen = [await self.resolve(r) for r in refs]
        if tenant:
            chosen = [w for w in chosen if w.in_tenant(tenant)]
            if not chosen and not unreachable:
                raise WorkspaceNotFound(
                    f"no workspace matches tenant {tenant!r}; known tenants: "
                    + ", ".join(sorted({w.tenant_label for w in await self.all()}))
                )
        return chosen, unreachable
