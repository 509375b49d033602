"""The workspace registry: configured and discovered workspaces, and resolving what a user typed.

Discovery walks every credential: subscriptions (including Lighthouse-delegated ones, which carry
``managedByTenants``) → Log Analytics workspaces → Sentinel onboarding. Results are cached for the
runtime's cache TTL. A tenant or subscription that fails is recorded and skipped, never fatal.
"""

from __future__ import annotations

import asyncio
import difflib
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import AzureCallError, KitError, Where, WorkspaceNotFound

if TYPE_CHECKING:
    from .runtime import Runtime


@dataclass
class Workspace:
    """A Log Analytics workspace the server can reach, and how."""

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
        parts = arm_id.strip("/").split("/")
        return cls(id="/" + "/".join(parts), name=parts[7], subscription_id=parts[1], resource_group=parts[3],
                   **kwargs)

    @property
    def label(self) -> str:
        """How answers, errors and fan-out results name this workspace: its alias, else its name,
        prefixed with its tenant (or tenant/resource group) when that name is not unique. Every label
        is accepted back as a ``workspace`` argument."""
        base = self.alias or self.name
        return f"{self.qualifier}/{base}" if self.qualifier else base

    def where(self, resource: str | None = None, operation: str | None = None) -> Where:
        return Where(tenant=self.tenant or self.tenant_id, workspace=self.label, resource=resource,
                     operation=operation)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Discovery:
    workspaces: list[Workspace] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    tenants: dict[str, str] = field(default_factory=dict)  # tenant id → short name


def _short(domain: str | None, display: str | None) -> str | None:
    if domain:
        return domain.split(".", 1)[0]
    return display


def qualify(workspaces: list[Workspace]) -> None:
    """Make every label unique: a name (without alias) shared by several workspaces gets the tenant
    as qualifier, and the tenant and resource group when the tenant does not tell them apart either."""
    for ws in workspaces:
        ws.qualifier = None
    groups: dict[str, list[Workspace]] = {}
    for ws in workspaces:
        groups.setdefault(ws.label.lower(), []).append(ws)
    for same in groups.values():
        if len(same) < 2:
            continue
        tenants = [(w.tenant or w.tenant_id or w.subscription_id).lower() for w in same]
        for ws in same:
            tenant = ws.tenant or ws.tenant_id or ws.subscription_id
            ws.qualifier = tenant if tenants.count(tenant.lower()) == 1 else f"{tenant}/{ws.resource_group}"


class WorkspaceRegistry:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._discovery: Discovery | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def discover(self, *, refresh: bool = False) -> Discovery:
        async with self._lock:
            fresh = time.monotonic() - self._at < max(self.rt.settings.cache_ttl, 1)
            if self._discovery is not None and fresh and not refresh:
                return self._discovery
            self._discovery = await self._discover()
            self._at = time.monotonic()
            return self._discovery

    async def all(self, *, refresh: bool = False) -> list[Workspace]:
        return list((await self.discover(refresh=refresh)).workspaces)

    # -- discovery ----------------------------------------------------------------------------
    async def _discover(self) -> Discovery:
        from .azure import api_versions as v

        settings = self.rt.settings
        out = Discovery()
        by_id: dict[str, Workspace] = {}
        tenant_names: dict[str, str] = {}
        for key, tenant in settings.tenants.items():
            tenant_names.setdefault(tenant.tenant_id, key)
        keys = self.rt.credentials.keys() if settings.discover else []

        async def one_credential(key: str) -> list[Workspace]:
            arm = self.rt.arm(key)
            found: list[Workspace] = []
            try:
                tenants = await arm.list("/tenants", v.TENANTS, where=Where(operation="list tenants"))
                for t in tenants:
                    name = _short(t.get("defaultDomain"), t.get("displayName"))
                    if t.get("tenantId") and name:
                        tenant_names.setdefault(t["tenantId"], name)
            except AzureCallError:
                pass  # names are a nicety
            try:
                subs = await arm.list("/subscriptions", v.SUBSCRIPTIONS, where=Where(operation="list subscriptions"))
            except KitError as exc:
                out.errors[f"credential {key}"] = str(exc)
                return found

            async def one_sub(sub: dict[str, Any]) -> list[Workspace]:
                sub_id = sub["subscriptionId"]
                owner = sub.get("tenantId")
                tenant = tenant_names.get(owner, owner) if owner else None
                try:
                    items = await arm.list(
                        f"/subscriptions/{sub_id}/providers/Microsoft.OperationalInsights/workspaces", v.WORKSPACES,
                        where=Where(tenant=tenant, operation="list workspaces",
                                    resource=f"subscription {sub.get('displayName', sub_id)}"),
                    )
                except KitError as exc:
                    out.errors[f"subscription {sub.get('displayName', sub_id)}"] = str(exc)
                    return []
                result = []
                for item in items:
                    ws = Workspace.from_id(
                        item["id"], tenant_id=owner, tenant=tenant, subscription=sub.get("displayName"),
                        customer_id=(item.get("properties") or {}).get("customerId"), location=item.get("location"),
                        delegated=bool(sub.get("managedByTenants")) and sub.get("tenantId") != self.rt.credentials.tenant_id(key),
                        via=key,
                    )
                    result.append(ws)
                await asyncio.gather(*(self._onboarding(arm, ws) for ws in result))
                return result

            for chunk in await asyncio.gather(*(one_sub(s) for s in subs)):
                found.extend(chunk)
            return found

        for found in await asyncio.gather(*(one_credential(k) for k in keys)):
            for ws in found:
                by_id.setdefault(ws.id.lower(), ws)
        for cfg in settings.workspaces:
            known = by_id.get(cfg.id.lower())
            if known is None:
                known = Workspace.from_id(cfg.id, customer_id=cfg.customer_id)
                by_id[cfg.id.lower()] = known
            known.alias = cfg.alias or known.alias
            if cfg.tenant:
                known.via = cfg.tenant
                known.tenant_id = known.tenant_id or settings.tenants[cfg.tenant].tenant_id
            if cfg.customer_id:
                known.customer_id = cfg.customer_id
        for ws in by_id.values():
            if ws.tenant_id:
                ws.tenant = tenant_names.get(ws.tenant_id, ws.tenant_id)
        out.workspaces = sorted(by_id.values(), key=lambda w: ((w.tenant or "").lower(), w.name.lower()))
        qualify(out.workspaces)
        out.tenants = tenant_names
        return out

    async def _onboarding(self, arm: Any, ws: Workspace) -> None:
        from .azure import api_versions as v

        try:
            states = await arm.list(f"{ws.id}/providers/Microsoft.SecurityInsights/onboardingStates", v.SENTINEL,
                                    where=ws.where(operation="read Sentinel onboarding"))
            ws.sentinel = bool(states)
        except AzureCallError as exc:
            ws.sentinel = False if exc.status in (400, 404) else None

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
            ws = Workspace.from_id(ref, via=self.rt.credentials.keys()[0] if self.rt.credentials.keys() else "default")
            return ws
        raise WorkspaceNotFound(self._unknown_message(ref, workspaces))

    def _unknown_message(self, ref: str, workspaces: list[Workspace]) -> str:
        names = sorted({n for ws in workspaces for n in (ws.alias, ws.name) if n})
        close = difflib.get_close_matches(ref, names, n=3, cutoff=0.5) or difflib.get_close_matches(
            ref.lower(), [n.lower() for n in names], n=3, cutoff=0.4)
        if not names:
            errors = self._discovery.errors if self._discovery else {}
            hint = f" Discovery reported: {'; '.join(errors.values())}" if errors else ""
            return (f"unknown workspace {ref!r}: no workspaces are known (none configured, none discovered)."
                    f"{hint} Check credentials with `sentinelkit config check`.")
        suggestion = f" Closest known: {', '.join(close)}." if close else f" Known: {', '.join(names[:10])}."
        return f"unknown workspace {ref!r}.{suggestion} Call workspace_list to see every workspace."

    async def select(self, workspaces: list[str] | str | None = None, tenant: str | None = None, *,
                     sentinel_only: bool = True) -> list[Workspace]:
        """Targets of a fan-out: names/aliases/ids, or ``"all"`` (Sentinel-enabled), filtered by tenant."""
        if workspaces in (None, "all", ["all"], []):
            chosen = [w for w in await self.all() if w.sentinel or not sentinel_only]
        else:
            refs = [workspaces] if isinstance(workspaces, str) else list(workspaces)
            chosen = [await self.resolve(r) for r in refs]
        if tenant:
            chosen = [w for w in chosen if self.tenant_matches(w, tenant)]
            if not chosen:
                raise WorkspaceNotFound(
                    f"no workspace matches tenant {tenant!r}; known tenants: "
                    + ", ".join(sorted({w.tenant or w.tenant_id or '?' for w in await self.all()}))
                )
        return chosen

    @staticmethod
    def tenant_matches(ws: Workspace, tenant: str) -> bool:
        t = tenant.lower()
        return t in ((ws.tenant or "").lower(), (ws.tenant_id or "").lower(), ws.via.lower())
