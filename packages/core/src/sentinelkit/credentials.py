"""azure-identity credentials: the default one (environment / DefaultAzureCredential chain) and one per
configured tenant; a pack's ``get_credential`` hook can supply any of them first."""

from __future__ import annotations

import os
from typing import Any

from .errors import KitError
from .log import add_secret
from .settings import Settings, TenantConfig

DEFAULT = "default"


class CredentialStore:
    """Creates credentials on first use and closes them at shutdown."""

    def __init__(self, settings: Settings, manager: Any = None) -> None:
        self.settings = settings
        self.manager = manager
        self._made: dict[str, Any] = {}
        add_secret(settings.azure_client_secret)
        for tenant in settings.tenants.values():
            add_secret(tenant.client_secret)
            add_secret(tenant.certificate_password)

    def keys(self) -> list[str]:
        """Every credential the server signs in with: the default one, then each configured tenant."""
        keys = [DEFAULT] if self.has_default() else []
        return keys + list(self.settings.tenants)

    def has_default(self) -> bool:
        s = self.settings
        return bool(s.azure_client_id or s.azure_tenant_id or not s.tenants)

    def _common(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.settings.authority_host:
            kwargs["authority"] = self.settings.authority_host
        if self.settings.ca_bundle:
            kwargs["connection_verify"] = str(self.settings.ca_bundle)
        return kwargs

    def get(self, key: str = DEFAULT) -> Any:
        if key not in self._made:
            self._made[key] = self._build(key)
        return self._made[key]

    def tenant_id(self, key: str = DEFAULT) -> str | None:
        if key == DEFAULT:
            return self.settings.azure_tenant_id
        return self.settings.tenants[key].tenant_id

    def _build(self, key: str) -> Any:
        s = self.settings
        if key == DEFAULT:
            tenant = TenantConfig(tenant_id=s.azure_tenant_id or "organizations", name=DEFAULT,
                                  credential="environment" if s.azure_client_id else "default")
        elif key in s.tenants:
            tenant = s.tenants[key]
        else:
            raise KitError(f"no credential named {key!r}; configured tenants: {', '.join(s.tenants) or 'none'}")
        if self.manager is not None:
            custom = self.manager.get_credential(tenant, s)
            if custom is not None:
                return custom
        return self._builtin(tenant, key)

    def _builtin(self, tenant: TenantConfig, key: str) -> Any:
        from azure.identity import aio

        s = self.settings
        common = self._common()
        kind = tenant.credential
        secret = tenant.client_secret or (os.environ.get(tenant.client_secret_env) if tenant.client_secret_env else None)
        add_secret(secret)
        add_secret(tenant.certificate_password)
        if key == DEFAULT and kind == "environment":
            if s.azure_client_secret:
                return aio.ClientSecretCredential(s.azure_tenant_id or "", s.azure_client_id or "",
                                                  s.azure_client_secret, **common)
            if s.azure_client_certificate_path:
                return aio.CertificateCredential(s.azure_tenant_id or "", s.azure_client_id or "",
                                                 str(s.azure_client_certificate_path), **common)
            return aio.DefaultAzureCredential(**common)
        if kind == "default" or (kind == "auto" and key == DEFAULT):
            return aio.DefaultAzureCredential(**common)
        if kind == "environment":
            return aio.EnvironmentCredential(**common)
        client_id = tenant.client_id or s.azure_client_id
        if kind in ("secret", "auto") and (secret or (not tenant.client_id and s.azure_client_secret)):
            # no own secret: the default app, re-targeted at this tenant (a multi-tenant app registration)
            return aio.ClientSecretCredential(tenant.tenant_id, client_id or "", secret or s.azure_client_secret or "",
                                              **common)
        if kind in ("certificate", "auto") and (tenant.certificate_path or s.azure_client_certificate_path):
            path = tenant.certificate_path or s.azure_client_certificate_path
            return aio.CertificateCredential(tenant.tenant_id, client_id or "", str(path),
                                             password=tenant.certificate_password, **common)
        if kind in ("secret", "certificate"):
            raise KitError(
                f"tenant {tenant.name!r}: credential = {kind!r} but no {'client_secret' if kind == 'secret' else 'certificate_path'} "
                f"is configured (in {s.config_file or 'sentinelkit.toml'}); add it or use credential = \"default\""
            )
        return aio.DefaultAzureCredential(**common)

    async def close(self) -> None:
        for credential in self._made.values():
            close = getattr(credential, "close", None)
            if close is not None:
                try:
                    await close()
                except Exception:
                    pass
        self._made.clear()
