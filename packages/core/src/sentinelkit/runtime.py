"""The per-server runtime: settings, credentials, Azure clients, cache, workspaces, audit, bridges.

Created when the server is built (cheap: nothing Azure is imported until the first tool call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .audit import AuditLog
from .credentials import DEFAULT, CredentialStore
from .errors import KitError
from .settings import Settings

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .azure.arm import ArmClient
    from .azure.cache import TtlCache
    from .azure.connections import Connections
    from .azure.logs import LogsClient
    from .azure.transport import Transport
    from .call import ToolCall
    from .packs import Collected, PackManager
    from .sharedstate import SharedState
    from .workspaces import Workspace

M = TypeVar("M", bound="BaseModel")


class Runtime:
    def __init__(self, settings: Settings, manager: PackManager | None = None,
                 collected: Collected | None = None) -> None:
        from .workspaces import WorkspaceRegistry

        self.settings = settings
        self.manager = manager
        self.collected = collected
        self._connections: Connections | None = None
        self.credentials = CredentialStore(settings, manager, _LazyConnections(self))
        self.audit = AuditLog(settings.audit_log)
        self.workspaces = WorkspaceRegistry(self)
        self._arm: dict[str, ArmClient] = {}
        self._logs: dict[str, LogsClient] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._cache: TtlCache | None = None
        self._shared: SharedState | None = None
        self._bridges: dict[str, Any] = {}
        from .telemetry.kpi import Stats, StatsFile
        from .telemetry.metrics import watch_confirmations

        thresholds = settings.telemetry.thresholds
        self.stats = Stats(error_rate=thresholds.error_rate, avg_response_seconds=thresholds.avg_response_seconds)
        """The KPIs of this server (``server_stats``)."""
        self.stats_file = StatsFile(self.stats, settings.stats_dir, interval=settings.telemetry.stats_interval,
                                    server={"name": settings.server_name,
                                            "config_file": str(settings.config_file) if settings.config_file else None})
        watch_confirmations(self.stats.confirmations)

    @property
    def shared(self) -> SharedState:
        """State replicas share (Redis when ``[hosted] redis_url`` is set, else this process's)."""
        if self._shared is None:
            from .sharedstate import shared_state

            self._shared = shared_state(self.settings.shared_redis_url, self.settings.hosted.redis_prefix)
        return self._shared

    @property
    def cache(self) -> TtlCache:
        if self._cache is None:
            self._cache = self.shared.cache(self.settings.cache_ttl)
        return self._cache

    @property
    def hooks(self) -> Any:
        """The plugin manager's hook relay (for hooks packs define themselves)."""
        if self.manager is None:
            raise KitError("no packs are loaded in this runtime")
        return self.manager.hook

    def refusal(self, call: ToolCall, workspace: Workspace | None = None, tenant_id: str | None = None) -> str | None:
        """Why a policy refuses this call (or this workspace, or a write to this tenant), else ``None``."""
        if self.manager is None:
            return None
        from .policy import first_refusal

        return first_refusal(self.manager.hook, call, workspace, tenant_id, self.settings)

    def pack_settings(self, pack: str, model: type[M]) -> M:
        """A pack's ``[packs.<name>]`` settings (see ``PackManager.pack_settings``)."""
        if self.manager is None:
            raise KitError(f"pack {pack!r} has no settings: no packs are loaded in this runtime")
        return self.manager.pack_settings(pack, model)

    @property
    def connections(self) -> Connections:
        """The connection pools, one per endpoint (ARM, Log Analytics, the token endpoint), made on first use."""
        if self._connections is None:
            from .azure.connections import Connections

            ca = str(self.settings.ca_bundle) if self.settings.ca_bundle else None
            self._connections = Connections(ca, limit=max(100, self.settings.fan_out_concurrency))
        return self._connections

    def limit(self, tenant: str) -> asyncio.Semaphore:
        """At most ``concurrency`` requests in flight per target tenant, whichever credential reaches it."""
        if tenant not in self._limits:
            self._limits[tenant] = asyncio.Semaphore(self.settings.concurrency)
        return self._limits[tenant]

    def tenant_of_path(self, path: str) -> str | None:
        """The id of the tenant owning an ARM path (its subscription), as discovery knows it."""
        parts = (urlsplit(path).path if "://" in path else path).strip("/").split("/")
        if len(parts) >= 2 and parts[0].lower() == "subscriptions":
            return self.workspaces.tenant_of_subscription(parts[1])
        return None

    def tenant_name(self, tenant_id: str) -> str:
        """A tenant's short name (``fabrikam``), else its id."""
        return self.workspaces.tenant_name(tenant_id)

    def _home(self, key: str) -> str:
        return self.credentials.tenant_id(key) or key

    def _transport(self, endpoint: str, key: str, scope: str, service: str) -> Transport:
        from .azure.pipeline import build_client
        from .azure.transport import Transport

        pipeline = build_client(endpoint, self.credentials.get(key), scope, self.settings, service=service, tenant=key,
                                budget=self.shared if service == "arm" else None,
                                transport=self.connections.transport(endpoint))
        return Transport(pipeline, credential=key, limits=self.limit, retries=self.settings.retry.max_retries,
                         read_timeout=self.settings.retry.timeout)

    def arm(self, key: str | None = None) -> ArmClient:
        """The ARM client for a credential (``default`` or a configured tenant's key)."""
        key = key or DEFAULT
        if key not in self._arm:
            from .azure.arm import ArmClient

            self._arm[key] = ArmClient(self._transport(self.settings.arm_endpoint, key, self.settings.arm_scope, "arm"),
                                       cache=self.cache, tenant_of=self.tenant_of_path, tenant_name=self.tenant_name,
                                       home_tenant=self._home(key),
                                       refusal=lambda call, tenant: self.refusal(call, tenant_id=tenant))
        return self._arm[key]

    def logs(self, key: str | None = None) -> LogsClient:
        key = key or DEFAULT
        if key not in self._logs:
            from .azure.logs import LogsClient

            transport = self._transport(self.settings.logs_endpoint, key, self.settings.logs_scope, "logs")
            self._logs[key] = LogsClient(transport, tenant_of=self.workspaces.tenant_of_customer,
                                         home_tenant=self._home(key))
        return self._logs[key]

    @property
    def bridges(self) -> Mapping[str, Any]:
        """The bridges created so far (read-only view): ``.get("powershell")`` is ``None`` until a call
        needed it; ``bridge(name)`` creates one."""
        return MappingProxyType(self._bridges)

    def bridge(self, name: str) -> Any:
        """A bridge contributed by a pack (``register_bridges``), created on first use."""
        if name not in self._bridges:
            factories: Mapping[str, Callable[[], Any]] = self.collected.bridges if self.collected else {}
            if name not in factories:
                raise KitError(f"no bridge named {name!r} is installed; installed: {', '.join(factories) or 'none'}")
            self._bridges[name] = factories[name]()
        return self._bridges[name]

    async def aclose(self) -> None:
        """Close HTTP sessions and credentials (and bridges that can be closed)."""
        clients: list[ArmClient | LogsClient] = [*self._arm.values(), *self._logs.values()]
        for client in clients:
            try:
                await client.close()
            except Exception:
                pass
        self._arm.clear()
        self._logs.clear()
        for bridge in self._bridges.values():
            close = getattr(bridge, "aclose", None) or getattr(bridge, "close", None)
            if close is not None:
                try:
                    result = close()
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:
                    pass
        self._bridges.clear()
        self.stats_file.close()
        from .telemetry.metrics import unwatch_confirmations

        unwatch_confirmations(self.stats.confirmations)
        await self.credentials.close()
        if self._shared is not None:
            self._shared.close()
        if self._connections is not None:
            await self._connections.close()
            self._connections = None


class _LazyConnections:
    """The runtime's pools as the credential store sees them: made when a credential is, not before (this
    module must not import aiohttp: start-up stays fast)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def credential_options(self, authority: str) -> dict[str, Any]:
        return self._runtime.connections.credential_options(authority)
