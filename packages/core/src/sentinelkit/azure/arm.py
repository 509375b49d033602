"""The ARM client packs use: get / list (paged) / put / patch / delete / post, LRO, cache, limits."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

from ..call import ToolCall, current_call
from ..errors import AzureError, AzureNetworkError, AzureTimeoutError, NotFoundError, PreconditionFailedError, Where
from ..policy import PolicyRefused
from .cache import TtlCache, cache_key
from .transport import Transport, json_body

#: (ARM path) → the id of the tenant owning it, as discovery knows it (None when unknown)
TenantOfPath = Callable[[str], "str | None"]
#: tenant id → its short name for messages and the audit (the id itself when no name is known)
TenantName = Callable[[str], str]


class ArmClient:
    """ARM requests through one credential (a tenant, or the Lighthouse managing tenant).

    Reads are cached for ``cache.ttl`` seconds under their ARM path; a write invalidates the cached
    reads it makes stale: the resource, what hangs under it, the collections above it, and the reads of
    the same subscription that involve its provider namespace (``TtlCache.invalidate_write``).
    Concurrency is bounded per *target* tenant: the tenant owning the path's subscription.
    """

    def __init__(self, transport: Transport, *, cache: TtlCache, tenant_of: TenantOfPath,
                 tenant_name: TenantName, home_tenant: str,
                 refusal: Callable[[ToolCall, str | None], str | None] = lambda call, tenant: None) -> None:
        self._transport = transport
        self.tenant = transport.credential
        self._cache = cache
        self._tenant_of = tenant_of
        self._tenant_name = tenant_name
        self._home = home_tenant
        self._refusal = refusal

    async def close(self) -> None:
        await self._transport.close()

    def _url(self, path: str, api_version: str | None, params: dict[str, Any] | None) -> str:
        if path.startswith("https://"):
            return path
        url = self._transport.base_url + "/" + path.lstrip("/")
        query = dict(params or {})
        if api_version:
            query["api-version"] = api_version
        if query:
            url += ("&" if "?" in url else "?") + _query_string(tuple((k, str(v)) for k, v in query.items()))
        return url

    def _target(self, path: str) -> str:
        """The limit key of a request: the tenant owning the path, else the credential's own tenant."""
        return self._tenant_of(path) or self._home

    def _where(self, where: Where | None, path: str, operation: str) -> Where:
        w = where or Where()
        owner = self._tenant_of(path)
        tenant = w.tenant or (self._tenant_name(owner) if owner else self.tenant)
        return Where(tenant=tenant, workspace=w.workspace, resource=w.resource or path.split("?", 1)[0],
                     operation=w.operation or operation)

    async def _send(self, method: str, url: str, path: str, where: Where, *, body: Any = None,
                    headers: dict[str, str] | None = None, read: bool = False) -> Any:
        return await self._transport.send(method, url, where=where, tenant=self._target(path), body=body,
                                          headers=headers, read=read)

    async def get(self, path: str, api_version: str, *, params: dict[str, Any] | None = None,
                  where: Where | None = None, cache: bool = True) -> dict[str, Any]:
        url = self._url(path, api_version, params)
        key = cache_key(url)
        if cache:
            hit = self._cache.get(self.tenant, key)
            if hit is not None:
                return hit  # type: ignore[no-any-return]
        response = await self._send("GET", url, path, self._where(where, path, "GET"))
        data: dict[str, Any] = json_body(response) or {}
        if cache:
            self._cache.put(self.tenant, key, data)
        return data

    async def iter_pages(self, path: str, api_version: str, *, params: dict[str, Any] | None = None,
                         where: Where | None = None) -> AsyncIterator[list[dict[str, Any]]]:
        """Follow ``nextLink`` page by page."""
        url: str | None = self._url(path, api_version, params)
        w = self._where(where, path, "list")
        while url:
            response = await self._send("GET", url, path, w)
            data = json_body(response) or {}
            yield list(data.get("value", []))
            url = data.get("nextLink")

    async def list(self, path: str, api_version: str, *, params: dict[str, Any] | None = None,
                   where: Where | None = None, max_items: int | None = None,
                   cache: bool = True) -> list[dict[str, Any]]:
        """Every item of a collection (all pages, or up to ``max_items``)."""
        key = cache_key(self._url(path, api_version, params)) + f"#max={max_items}"
        if cache:
            hit = self._cache.get(self.tenant, key)
            if hit is not None:
                return hit  # type: ignore[no-any-return]
        items: list[dict[str, Any]] = []
        async for page in self.iter_pages(path, api_version, params=params, where=where):
            items.extend(page)
            if max_items is not None and len(items) >= max_items:
                items = items[:max_items]
                break
        if cache:
            self._cache.put(self.tenant, key, items)
        return items

    async def _write(self, method: str, path: str, api_version: str, body: Any, *, etag: str | None,
                     where: Where | None, params: dict[str, Any] | None = None, wait: bool = True,
                     create_only: bool = False) -> Any:
        w = self._where(where, path, method)
        call = current_call()
        if call is not None:
            call.check_write(method, path, workspace=w.workspace, tenant=w.tenant)
            reason = self._refusal(call, self._tenant_of(path))
            if reason:
                call.refusals[w.workspace or w.tenant or path] = reason
                raise PolicyRefused(reason)
        url = self._url(path, api_version, params)
        headers = {"If-Match": etag} if etag else {}
        if create_only:
            headers["If-None-Match"] = "*"
        try:
            response = await self._send(method, url, path, w, body=body, headers=headers)
        except PreconditionFailedError as refused:
            if method not in ("PUT", "PATCH") or not isinstance(body, dict) or create_only or not refused.retried:
                raise
            # a write whose answer was lost and that was sent again meets its own new etag: if the resource
            # already is what was asked, the change was made
            current = await self._as_asked(method, path, api_version, params, where, body)
            if current is None:
                raise
            _explain("a retried write was refused as stale (412) but the resource already is as asked: its first "
                     "attempt took effect and its answer was lost")
            return current
        except (AzureNetworkError, AzureTimeoutError):
            # every attempt lost its answer: the service may have applied the write all the same, so what
            # it now holds decides (never report an applied change as failed, nor send it once more)
            if method not in ("PUT", "PATCH", "DELETE") or (method != "DELETE" and not isinstance(body, dict)):
                raise
            current = await self._as_asked(method, path, api_version, params, where, body)
            if current is None:
                raise
            _explain("the service's answer was lost, but reading the resource again shows the change took effect")
            return None if method == "DELETE" else current
        self._cache.invalidate_write(url)
        if response.status_code == 202 and wait and (
            response.headers.get("Azure-AsyncOperation") or response.headers.get("Location")
        ):
            try:
                await self._poll(response, path, w)
            finally:  # reads made while it ran may have cached the state before the change
                self._cache.invalidate_write(url)
            if method in ("PUT", "PATCH"):
                return await self.get(path, api_version, params=params, where=where, cache=False)
            return None
        return json_body(response)

    async def _as_asked(self, method: str, path: str, api_version: str, params: dict[str, Any] | None,
                        where: Where | None, body: Any) -> Any:
        """After a write whose outcome is unknown: the resource as the service holds it when it already is
        what the write asked for (for a DELETE: ``{}`` when it is gone), else None (unknown stays failed)."""
        self._cache.invalidate_write(self._url(path, api_version, params))
        try:
            current = await self.get(path, api_version, params=params, where=where, cache=False)
        except NotFoundError:
            return {} if method == "DELETE" else None
        except AzureError:
            return None
        return current if method != "DELETE" and satisfies(body, current) else None

    async def _poll(self, response: Any, path: str, where: Where) -> None:
        """Follow an ARM long-running operation to its end (Azure-AsyncOperation, else Location)."""
        url = response.headers.get("Azure-AsyncOperation") or response.headers.get("Location")
        for _ in range(600):
            delay = float(response.headers.get("Retry-After", "1") or 1)
            await asyncio.sleep(min(delay, 10))
            response = await self._send("GET", url, path, where)
            data = json_body(response) or {}
            status = str(data.get("status", "")).lower() if isinstance(data, dict) else ""
            if response.status_code == 200 and status in ("", "succeeded"):
                return
            if status in ("failed", "canceled", "cancelled"):
                error = data.get("error", {}) if isinstance(data, dict) else {}
                raise AzureError(
                    f"{where.describe()} failed: the long-running operation ended {status} "
                    f"({error.get('code', '')}: {error.get('message', 'no details')}); check the resource and retry.",
                    code=error.get("code"),
                )
        raise AzureError(f"{where.describe()}: the long-running operation did not finish; check it in the portal.")

    async def put(self, path: str, api_version: str, body: dict[str, Any], *, etag: str | None = None,
                  where: Where | None = None, wait: bool = True, create_only: bool = False) -> Any:
        """Create or replace. ``etag``: only if unchanged since read (``If-Match``, else 412
        ``PreconditionFailedError``; a write that already took effect — a retried request — is answered
        with the resource). ``create_only``: only if it does not exist (``If-None-Match: *``, else 412)."""
        return await self._write("PUT", path, api_version, body, etag=etag, where=where, wait=wait,
                                 create_only=create_only)

    async def patch(self, path: str, api_version: str, body: dict[str, Any], *, etag: str | None = None,
                    where: Where | None = None, wait: bool = True) -> Any:
        return await self._write("PATCH", path, api_version, body, etag=etag, where=where, wait=wait)

    async def delete(self, path: str, api_version: str, *, etag: str | None = None, where: Where | None = None,
                     wait: bool = True) -> Any:
        return await self._write("DELETE", path, api_version, None, etag=etag, where=where, wait=wait)

    async def post(self, path: str, api_version: str, body: Any = None, *, where: Where | None = None,
                   params: dict[str, Any] | None = None, wait: bool = True, write: bool = True) -> Any:
        """POST an action. ``write=False`` for read-like actions (listKeys, query) that change nothing."""
        if not write:
            url = self._url(path, api_version, params)
            response = await self._send("POST", url, path, self._where(where, path, "POST"), body=body, read=True)
            return json_body(response)
        return await self._write("POST", path, api_version, body, etag=None, where=where, params=params, wait=wait)


def _explain(detail: str) -> None:
    """Say in the call's audit record why a write that failed on the wire counts as applied."""
    call = current_call()
    if call is not None:
        call.detail = detail


def satisfies(wanted: Any, current: Any) -> bool:
    """Whether ``current`` (what the service holds) already has every value ``wanted`` (a request body)
    sets: dicts key by key (the service may add keys; ``etag`` is ignored), lists and scalars equal."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(
            key == "etag" or (key in current and satisfies(value, current[key])) for key, value in wanted.items())
    if isinstance(wanted, list):
        return isinstance(current, list) and len(wanted) == len(current) and all(
            satisfies(w, c) for w, c in zip(wanted, current, strict=True))
    return bool(wanted == current)


@functools.lru_cache(maxsize=1024)
def _query_string(items: tuple[tuple[str, str], ...]) -> str:
    """``urlencode`` of a request's parameters, remembered: a fan-out sends the same ones (an ``$orderby``, a
    ``$filter``) to every workspace, and quoting them cost a tenth of a request's CPU."""
    return urlencode(items)
