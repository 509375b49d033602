"""HTTP transport protection: bearer-token authentication (a shared secret, compared in constant time)
and Host/Origin validation against DNS rebinding."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from fastmcp.server.auth import AccessToken, TokenVerifier
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class SharedTokenVerifier(TokenVerifier):
    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token.encode()):
            return AccessToken(token="***", client_id="sentinelkit-http", scopes=[])
        return None


def current_token() -> AccessToken | None:
    """The bearer token of the current HTTP request (``None`` without one, e.g. over stdio)."""
    from fastmcp.server.dependencies import get_access_token

    try:
        return get_access_token()
    except Exception:
        return None


def token_subject() -> str | None:
    """The caller of the current HTTP request, from its bearer token: the user's UPN, else the object id,
    else the subject or app id (``None`` when the request carried no token, e.g. over stdio)."""
    token = current_token()
    if token is None:
        return None
    claims = token.claims or {}
    for name in ("upn", "preferred_username", "unique_name", "oid", "sub", "appid", "azp"):
        value = claims.get(name)
        if value:
            return str(value)
    return token.subject or token.client_id or None


# -- Host / Origin checks (DNS rebinding) -------------------------------------------------------
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_UNSPECIFIED = {"0.0.0.0", "::", ""}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _authority(name: str, port: int) -> str:
    name = name.strip().lower()
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"  # a bare IPv6 address
    return f"{name}:{port}"


def allowed_authorities(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The ``host:port`` values a request's Host (and Origin) may name for a server bound to host:port.

    The bound address's loopback names, the bound host itself unless it is a wildcard (0.0.0.0, ::),
    and ``extra`` (``[http] allowed_hosts``: ``name`` or ``name:port``; a bare name means this port).
    """
    names = set(_LOOPBACK_NAMES)
    if host.strip("[]").lower() not in _UNSPECIFIED:
        names.add(host)
    result = {_authority(n, port) for n in names}
    for item in extra:
        item = item.strip().lower()
        if not item:
            continue
        name, sep, item_port = item.rpartition(":")
        if sep and item_port.isdigit() and (name.startswith("[") or ":" not in name):
            result.add(_authority(name, int(item_port)))
        else:
            result.add(_authority(item, port))
    return frozenset(result)


def _normalize_authority(value: str, default_port: int) -> str | None:
    value = value.strip().lower()
    if not value or any(c in value for c in "/?#@ \t"):
        return None
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return None
        name, rest = value[: end + 1], value[end + 1:]
        if not rest:
            return f"{name}:{default_port}"
        if not rest.startswith(":") or not rest[1:].isdigit():
            return None
        return f"{name}:{int(rest[1:])}"
    name, sep, port = value.rpartition(":")
    if not sep:
        return f"{value}:{default_port}"
    if not name or ":" in name or not port.isdigit():
        return None
    return f"{name}:{int(port)}"


def _origin_authority(origin: str) -> str | None:
    scheme, sep, rest = origin.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS:
        return None
    return _normalize_authority(rest.removesuffix("/"), _DEFAULT_PORTS[scheme])


class HostOriginGuard:
    """ASGI middleware against DNS rebinding: the MCP spec requires servers to validate Origin.

    A request whose Host is not one of the server's own names gets 421; one whose Origin header is
    present but not ``http(s)://`` one of those names gets 403. Requests without Origin (non-browser
    clients) pass on to authentication as before.
    """

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        host = _normalize_authority(headers.get("host", ""), _DEFAULT_PORTS[scheme])
        if host not in self.allowed:
            await self._refuse(scope, receive, send, 421, "Misdirected Request: unexpected Host header")
            return
        origins = headers.getlist("origin")
        if origins and any(_origin_authority(o) not in self.allowed for o in origins):
            await self._refuse(scope, receive, send, 403, "Forbidden: unexpected Origin header")
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await PlainTextResponse(text, status_code=status)(scope, receive, send)
