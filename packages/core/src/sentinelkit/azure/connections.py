"""One TLS context and one pool of kept-alive connections per endpoint, whatever the TLS configuration.

azure-core's aiohttp transport builds a new TLS context for every request when ``connection_verify`` is a
CA file (the emulator, a TLS-inspecting proxy): aiohttp pools connections by TLS context, so none is ever
reused and every request pays a handshake. Here the context is built once, from ``ca_bundle`` (or the
system's trust store), and held by each endpoint's connector; every pipeline that calls that endpoint (ARM
and Log Analytics through every credential, and the credentials' own token requests) shares its pool.
"""

from __future__ import annotations

import ssl
from asyncio.sslproto import SSLProtocol
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .pipeline import SingleAttemptTransport

#: seconds an idle connection is kept: less than the servers that close soonest (uvicorn, Apache: 5 s), so
#: that a request never goes out on a connection the server is closing. Requests are not resent silently
#: (``SingleAttemptTransport``): one that met such a connection would fail, and a write is not retried.
KEEPALIVE = 4.0
#: the read buffer asyncio gives each TLS connection (``SSLProtocol.max_size``): 256 KiB by default, all of
#: it resident, so a fan-out's 1,000 connections to ARM held 256 MB. A TLS record is at most 16 KiB: 32 KiB
#: still reads two at a time. Set for the process when the first pool is made.
TLS_READ_BUFFER = 32 * 1024


def endpoint_of(url: str) -> str:
    """``scheme://host:port`` of a URL: what one pool serves."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


class Connections:
    """The server's connection pools, one per endpoint, created on first use (inside the event loop)."""

    def __init__(self, ca_bundle: str | None = None, *, limit: int = 100) -> None:
        self._ca_bundle = ca_bundle
        self._limit = limit
        self._context: ssl.SSLContext | None = None
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    @property
    def tls(self) -> ssl.SSLContext:
        """The one TLS context: the CA bundle's, else the system's trust store."""
        if self._context is None:
            self._context = ssl.create_default_context(cafile=self._ca_bundle)
        return self._context

    def session(self, url: str) -> aiohttp.ClientSession:
        """The kept-alive pool of ``url``'s endpoint."""
        key = endpoint_of(url)
        session = self._sessions.get(key)
        if session is None or session.closed:
            SSLProtocol.max_size = min(SSLProtocol.max_size, TLS_READ_BUFFER)
            # what azure-core's own transport sets (no cookies, raw bodies), except the environment's proxy
            # settings, which are read once per endpoint (``proxy``), not twice per request in a thread
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self.tls, limit=self._limit, keepalive_timeout=KEEPALIVE),
                trust_env=False, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False)
            self._sessions[key] = session
        return session

    @staticmethod
    def proxy(url: str) -> tuple[Any, Any]:
        """The proxy the environment names for ``url`` (``HTTPS_PROXY``, ``NO_PROXY``...), with its credentials."""
        from aiohttp.helpers import get_env_proxy_for_url
        from yarl import URL

        try:
            return get_env_proxy_for_url(URL(url))
        except LookupError:
            return None, None

    def transport(self, url: str) -> SingleAttemptTransport:
        """An azure-core transport over ``url``'s endpoint pool (closing it leaves the pool open)."""
        proxy, auth = self.proxy(url)
        return SingleAttemptTransport(pool=lambda: self.session(url), proxy=proxy, proxy_auth=auth)

    def credential_options(self, authority: str) -> dict[str, Any]:
        """What an azure-identity credential is given so that its token requests share the pool too."""
        return {"transport": self.transport(authority)}

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()
