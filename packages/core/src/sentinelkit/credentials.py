"""azure-identity credentials: the default one (environment / DefaultAzureCredential chain) and one per
configured tenant; a pack's ``get_credential`` hook can supply any of them first."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from .errors import KitError
from .log import add_secret
from .settings import Settings, TenantConfig

DEFAULT = "default"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"


class CredentialStore:
    """Creates credentials on first use and closes them at shutdown."""

    def __init__(self, settings: Settings, manager: Any = None, connections: Any = None) -> None:
        self.settings = settings
        self.manager = manager
        #: the server's connection pools (``azure.connections.Connections``): token requests share them
        self.connections = connections
        self._made: dict[str, Any] = {}
        add_secret(settings.azure_client_secret)
        for tenant in settings.tenants.values():
            add_secret(tenant.client_secret)
            add_secret(tenant.certificate_password)

    def keys(self) -> list[str]:
        """Every credential the server signs in with: the default one, then each configured tenant."""
        keys = [DEFAULT] if self.has_default() else []
        return keys + [k for k, t in self.settings.tenants.items() if t.credential != "none"]

    def has_default(self) -> bool:
        s = self.settings
        return bool(s.azure_client_id or s.azure_tenant_id or not s.tenants)

    def _common(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.settings.authority_host:
            kwargs["authority"] = self.settings.authority_host
        if self.connections is not None:  # one TLS context and kept-alive connections to the token endpoint
            kwargs.update(self.connections.credential_options(self.settings.authority_host or DEFAULT_AUTHORITY))
        elif self.settings.ca_bundle:
            kwargs["connection_verify"] = str(self.settings.ca_bundle)
        return kwargs

    def get(self, key: str = DEFAULT) -> Any:
        """The credential for ``key``. A credential that cannot be built (a missing or unreadable certificate,
        say) is a ``KitError`` naming the tenant and the setting — for that tenant only. The Azure clients
        bound its token requests by ``[retry] timeout`` (``time_bound``)."""
        if key not in self._made:
            try:
                credential = self._build(key)
            except KitError:
                raise
            except Exception as exc:  # azure-identity refuses the certificate, the secret's form...
                raise KitError(self._unusable(key, exc)) from None
            self._made[key] = credential
        return self._made[key]

    def _unusable(self, key: str, exc: BaseException) -> str:
        tenant = self.settings.tenants.get(key)
        path = (tenant.certificate_path if tenant else None) or self.settings.azure_client_certificate_path
        where = f"tenant {key!r}" if tenant else "the default credential (AZURE_* environment)"
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
        if path is not None:
            problem = "does not exist" if not Path(path).exists() else "could not be read as a PEM or PKCS12 certificate"
            return (f"{where} cannot sign in: its certificate {path} {problem} ({detail}). Fix certificate_path "
                    f"(or AZURE_CLIENT_CERTIFICATE_PATH); the other tenants are not affected.")
        return f"{where} cannot sign in: its credential could not be created ({detail}). Check its settings."

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


class TimeBoundCredential:
    """An async azure-identity credential whose token requests end after ``timeout`` seconds: a hanging
    token endpoint must not hang every tool call (azure-identity's own timeouts are per attempt, retried)."""

    def __init__(self, inner: Any, timeout: float, key: str) -> None:
        self._inner = inner
        self._timeout = timeout
        self._key = key

    async def _bounded(self, call: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        try:
            return await asyncio.wait_for(call, self._timeout)
        except TimeoutError:
            raise ClientAuthenticationError(
                message=f"the token endpoint did not answer within {self._timeout:g} s ([retry] timeout)") from None

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return await self._bounded(self._inner.get_token(*scopes, **kwargs))

    async def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> TimeBoundCredential:
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.close()


class TimeBoundTokenInfoCredential(TimeBoundCredential):
    """``TimeBoundCredential`` for credentials that also offer ``get_token_info`` (azure-core prefers it)."""

    async def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        return await self._bounded(self._inner.get_token_info(*scopes, options=options))


def time_bound(inner: Any, timeout: float, key: str) -> TimeBoundCredential:
    kind = TimeBoundTokenInfoCredential if hasattr(inner, "get_token_info") else TimeBoundCredential
    return kind(inner, timeout, key)
