"""Entra ID access tokens on the HTTP transport (``[http] auth = "entra"``), as the MCP authorization spec
expects of a protected resource: tokens are validated for their signature (the issuing tenant's published
keys, JWKS), issuer, audience (this server's app id URI), expiry and tenant; the protected-resource
metadata (RFC 9728) tells clients where to get one. The token's app roles decide what the caller may do
(``sentinelkit.roles``); a valid token with none of the configured roles gets 403.

PyJWT and cryptography come with azure-identity (through MSAL); they are imported on first use.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastmcp.server.auth import AccessToken, RemoteAuthProvider, TokenVerifier
from starlette.types import ASGIApp, Receive, Scope, Send

from .log import logger

#: how long signing keys are trusted before they are fetched again, and how often an unknown key id may
#: trigger a fetch (Entra rolls keys; a forged key id must not make the server hammer the endpoint)
KEYS_TTL = 3600.0
KEYS_REFRESH_MIN = 60.0
LEEWAY = 60


class EntraVerifier(TokenVerifier):
    """Validates Entra ID access tokens for this server's app registration."""

    def __init__(self, *, authority: str, audiences: list[str], tenants: list[str], ca_bundle: str | None = None,
                 required_scopes: list[str] | None = None) -> None:
        super().__init__(required_scopes=required_scopes)
        self.authority = authority.rstrip("/")
        self.audiences = audiences
        self.tenants = {t.lower() for t in tenants}
        self.ca_bundle = ca_bundle
        self._keys: dict[str, tuple[float, dict[str, Any]]] = {}  # tenant → (fetched at, {kid: key})
        self._lock = asyncio.Lock()

    def issuers(self, tenant: str) -> list[str]:
        """Entra's v2.0 issuer of a tenant, and the v1.0 one (``sts.windows.net``) for v1 tokens."""
        return [f"{self.authority}/{tenant}/v2.0", f"https://sts.windows.net/{tenant}/"]

    async def verify_token(self, token: str) -> AccessToken | None:
        import jwt

        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            return self._refuse("not a JWT", str(exc))
        tenant = str(unverified.get("tid") or "").lower()
        if tenant not in self.tenants:
            return self._refuse("tenant not allowed", f"tid {tenant or '(none)'}", unverified)
        key = await self._key(tenant, str(header.get("kid") or ""))
        if key is None:
            return self._refuse("unknown signing key", f"kid {header.get('kid')!r} is not in tenant {tenant}'s JWKS",
                                unverified)
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"], audience=self.audiences, issuer=self.issuers(tenant),
                                leeway=LEEWAY, options={"require": ["exp", "iss", "aud", "tid"]})
        except jwt.InvalidTokenError as exc:
            return self._refuse(type(exc).__name__, str(exc), unverified)
        # scopes: the delegated scopes (``scp``, what entra_required_scopes asks for) and the app roles
        scopes = str(claims.get("scp") or "").split() + [str(r) for r in claims.get("roles") or []]
        return AccessToken(token=token, client_id=str(claims.get("azp") or claims.get("appid") or ""), scopes=scopes,
                           expires_at=int(claims["exp"]), subject=str(claims.get("oid") or claims.get("sub") or ""),
                           claims=claims)

    @staticmethod
    def _refuse(reason: str, detail: str, claims: dict[str, Any] | None = None) -> None:
        who = (claims or {}).get("upn") or (claims or {}).get("oid") or (claims or {}).get("appid")
        logger().warning("http_token_refused", reason=reason, detail=detail, caller=who)
        return None

    async def _key(self, tenant: str, kid: str) -> Any | None:
        now = time.monotonic()
        fetched, keys = self._keys.get(tenant, (0.0, {}))
        if kid in keys and now - fetched < KEYS_TTL:
            return keys[kid]
        async with self._lock:
            fetched, keys = self._keys.get(tenant, (0.0, {}))
            if (kid not in keys and now - fetched >= KEYS_REFRESH_MIN) or now - fetched >= KEYS_TTL:
                try:
                    keys = await self._fetch_keys(tenant)
                except Exception as exc:  # keep the keys we had: a blip at Entra must not lock everyone out
                    logger().warning("entra_keys_unavailable", tenant=tenant, error=f"{type(exc).__name__}: {exc}")
                else:
                    self._keys[tenant] = (now, keys)
        return keys.get(kid)

    async def _fetch_keys(self, tenant: str) -> dict[str, Any]:
        """The tenant's signing keys, from its OpenID configuration's ``jwks_uri``."""
        import httpx
        import jwt

        verify: Any = self.ca_bundle or True
        async with httpx.AsyncClient(verify=verify, timeout=10) as http:
            config = await http.get(f"{self.authority}/{tenant}/v2.0/.well-known/openid-configuration")
            config.raise_for_status()
            jwks = await http.get(config.json()["jwks_uri"])
            jwks.raise_for_status()
        keys: dict[str, Any] = {}
        for jwk in jwks.json().get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("kid"):
                keys[jwk["kid"]] = jwt.PyJWK.from_json(json.dumps(jwk), algorithm="RS256").key
        return keys


def entra_auth(http: Any, *, authority: str | None, ca_bundle: str | None, public_url: str) -> RemoteAuthProvider:
    """The HTTP transport's Entra ID authentication: the verifier and the protected-resource metadata
    (``/.well-known/oauth-protected-resource/mcp``) naming the tenant's authority and this app's scope."""
    base = (authority or "https://login.microsoftonline.com").rstrip("/")
    audiences = http.entra_audience or [f"api://{http.entra_client_id}", http.entra_client_id]
    tenants = http.entra_allowed_tenants or [http.entra_tenant_id]
    verifier = EntraVerifier(authority=base, audiences=audiences, tenants=tenants, ca_bundle=ca_bundle,
                             required_scopes=http.entra_required_scopes or None)
    return RemoteAuthProvider(verifier, authorization_servers=[f"{base}/{http.entra_tenant_id}/v2.0"],  # type: ignore[list-item]
                              base_url=public_url, scopes_supported=[f"{audiences[0]}/.default"],
                              resource_name="sentinelkit")


class RoleGate:
    """ASGI middleware after authentication: a valid token that holds none of the configured app roles gets
    403 (authenticated, but not allowed anything) rather than reaching the MCP endpoint."""

    def __init__(self, app: ASGIApp, roles: list[str]) -> None:
        self.app = app
        self.roles = set(roles)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user") if scope["type"] == "http" else None
        token = getattr(user, "access_token", None)
        held = [str(r) for r in ((token.claims or {}).get("roles") or [])] if token is not None else []
        if token is not None and not self.roles.intersection(held):
            claims = token.claims or {}
            logger().warning("http_token_refused", reason="no sentinelkit role", caller=claims.get("upn")
                             or claims.get("oid"), roles=held)
            body = json.dumps({"error": "insufficient_scope", "error_description": (
                "the token is valid but holds none of this server's app roles (" + ", ".join(sorted(self.roles))
                + "); ask an administrator to assign you one in Entra ID (Enterprise applications → users and groups)")})
            await send({"type": "http.response.start", "status": 403, "headers": [
                (b"content-type", b"application/json"),
                (b"www-authenticate", b'Bearer error="insufficient_scope", error_description="no sentinelkit role"')]})
            await send({"type": "http.response.body", "body": body.encode()})
            return
        await self.app(scope, receive, send)
