"""Signing and checking the access tokens the emulator's Entra ID issues.

Tokens are RS256 JWTs shaped like Entra ID's v1 app tokens (what ARM and Log Analytics receive):
``aud``, ``iss``, ``tid``, ``oid``, ``appid``, ``exp``... Checked tokens are cached by their text so
that the hot path of a load test does not pay for an RSA verification per request.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

#: Audiences each service accepts, as Azure lists them in its 401 messages.
ARM_AUDIENCES = (
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
)
LOGS_AUDIENCES = ("https://api.loganalytics.io", "https://api.loganalytics.io/")
KNOWN_RESOURCES = ARM_AUDIENCES + LOGS_AUDIENCES
TOKEN_LIFETIME_SECONDS = 3599


@dataclass(frozen=True)
class Caller:
    """Who a verified token says is calling."""

    tenant_id: str
    object_id: str
    app_id: str
    audience: str
    expires_at: int


class TokenError(Exception):
    """A token was refused; ``code`` is the ARM error code to answer with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TokenIssuer:
    """Holds the signing key; issues and verifies tokens."""

    def __init__(self, authority_url: str) -> None:
        self.authority_url = authority_url.rstrip("/")
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = base64.urlsafe_b64encode(hashlib.sha1(public_der).digest()).rstrip(b"=").decode()
        self._public_key = self._key.public_key()
        self._verified: dict[str, Caller] = {}

    def issuer_for(self, tenant_id: str) -> str:
        return f"{self.authority_url}/{tenant_id}/v2.0"

    def issue(
        self,
        *,
        tenant_id: str,
        object_id: str,
        app_id: str,
        audience: str,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        signing_key: rsa.RSAPrivateKey | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Sign a token. ``signing_key`` lets tests make a badly signed one; ``extra`` adds or replaces claims
        (``roles``, and a user's ``upn``/``name``/``scp``/``idtyp``)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.issuer_for(tenant_id),
            "iat": now,
            "nbf": now - 5,
            "exp": now + lifetime,
            "tid": tenant_id,
            "oid": object_id,
            "sub": object_id,
            "appid": app_id,
            "azp": app_id,
            "appidacr": "1",
            "idtyp": "app",
            "ver": "1.0",
            "uti": uuid.uuid4().hex[:22],
        }
        claims.update(extra or {})
        return jwt.encode(claims, signing_key or self._key, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str, audiences: tuple[str, ...]) -> Caller:
        """Return the caller, or raise :class:`TokenError` with ARM's code for the failure."""
        cached = self._verified.get(token)
        if cached is None:
            try:
                claims = jwt.decode(
                    token,
                    self._public_key,
                    algorithms=["RS256"],
                    options={"verify_aud": False, "verify_exp": False, "verify_iss": False},
                )
            except jwt.InvalidTokenError as exc:
                raise TokenError("InvalidAuthenticationToken", f"The access token is invalid. ({exc})") from exc
            missing = [c for c in ("tid", "oid", "appid", "aud", "exp") if c not in claims]
            if missing:
                raise TokenError("InvalidAuthenticationToken", f"The access token is missing claims {missing}.")
            cached = Caller(
                tenant_id=claims["tid"],
                object_id=claims["oid"],
                app_id=claims["appid"],
                audience=claims["aud"],
                expires_at=int(claims["exp"]),
            )
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[token] = cached
        now = int(time.time())
        if cached.expires_at <= now:
            expired = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(cached.expires_at))
            current = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(now))
            raise TokenError(
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{expired}' is earlier than current UTC time '{current}'.",
            )
        if cached.audience not in audiences:
            allowed = ",".join(f"'{a}'" for a in audiences)
            raise TokenError(
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{cached.audience}'. "
                f"It should exactly match with one of the allowed audiences {allowed}.",
            )
        return cached

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._public_key, as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}


def audience_for_scope(scope: str) -> str | None:
    """``https://management.azure.com/.default`` -> ``https://management.azure.com``; None if not ``/.default``."""
    for item in scope.split():
        if item.endswith("/.default"):
            return item[: -len("/.default")]
    return None
