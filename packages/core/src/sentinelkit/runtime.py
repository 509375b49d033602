"""The per-server runtime: settings, credentials, Azure clients, cache, workspaces, audit.

Created when the server is built (cheap: nothing Azure is imported until the first tool call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .audit import AuditLog
from .credentials import DEFAULT, CredentialStore
from .settings import Settings


class Runtime:
    def __init__(self, settings: Settings, manager: Any = None, collected: Any = None) -> None:
        from .workspaces import WorkspaceRegistry

        self.settings = settings
        self.manager = manager
        self.collected = collected
        self.credentials = CredentialStore(settings, manager)
        self.audit = AuditLog(settings.audit_log)
        self.workspaces = WorkspaceRegistry(self)
        self._arm: dict[str, Any] = {}
        self._logs: dict[str, Any] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._cache: Any = None
        self._bridges: dict[str, Any] = {}

    @property
    def cache(self) -> Any:
        if self._cache is None:
            from .azure.cache import TtlCache

            self._cache = TtlCache(self.settings.cache_ttl)
        return self._cache

    def _limit(self, key: str) -> asyncio.Semaphore:
        """At most ``concurrency`` requests in flight per tenant, whichever credential reaches it."""
        if key not in self._limits:
            self._limits[key] = asyncio.Semaphore(self.settings.concurrency)
        return self._limits[key]

    def arm(self, key: str = DEFAULT) -> Any:
        """The ARM client for a credential (``default`` or a configured tenant's key)."""
        if key not in self._arm:
            from .azure.arm import ArmClient
            from .azure.pipeline import build_client

            pipeline = build_client(self.settings.arm_endpoint, self.credentials.get(key), self.settings.arm_scope,
                                    self.settings, service="arm", tenant=key)
            self._arm[key] = ArmClient(pipeline, tenant=key, cache=self.cache, limit=self._limit,
                                       retries=self.settings.retry.max_retries,
                                       read_timeout=self.settings.retry.timeout)
        return self._arm[key]

    def logs(self, key: str = DEFAULT) -> Any:
        if key not in self._logs:
            from .azure.logs import LogsClient
            from .azure.pipeline import build_client

            pipeline = build_client(self.settings.logs_endpoint, self.credentials.get(key), self.settings.logs_scope,
                                    self.settings, service="logs", tenant=key)
            self._logs[key] = LogsClient(pipeline, tenant=key, limit=self._limit,
                                         retries=self.settings.retry.max_retries,
                                         read_timeout=self.settings.retry.timeout)
        return self._logs[key]

    @property
    def bridges(self) -> Mapping[str, Any]:
        """The bridges created so far (read-only view): ``runtime.bridges.get("powershell")`` is ``None``
        until a call needed it; ``bridge(name)`` creates one."""
        return MappingProxyType(self._bridges)

    def bridge(self, name: str) -> Any:
        """A bridge contributed by a pack (``register_bridges``), created on first use."""
        if name not in self._bridges:
            factories = self.collected.bridges if self.collected else {}
            if name not in factories:
                from .errors import KitError

                raise KitError(f"no bridge named {name!r} is installed; installed: {', '.join(factories) or 'none'}")
            self._bridges[name] = factories[name](self)
        return self._bridges[name]

    async def aclose(self) -> None:
        """Close HTTP sessions and credentials (and bridges that can be closed)."""
        for client in [*self._arm.values(), *self._logs.values()]:
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
        await self.credentials.close()
