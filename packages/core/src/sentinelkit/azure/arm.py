"""The ARM client packs use: get / list (paged) / put / patch / delete / post, LRO, cache, limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from ..audit import WRITE_GATE
from ..errors import AzureCallError, Where, describe_azure_error
from .cache import TtlCache, cache_key


class ArmClient:
    """ARM requests through one credential (a tenant, or the Lighthouse managing tenant).

    Reads are cached for ``cache.ttl`` seconds under their ARM path; a write invalidates the cached
    reads it makes stale: the resource, what hangs under it, the collections above it, and the reads of
    the same subscription that involve its provider namespace (``TtlCache.invalidate_write``).
    Concurrency is bounded per target tenant (``limit(tenant)``): with Lighthouse one credential
    reaches many customers, and ARM throttles each of them separately.
    """

    def __init__(self, pipeline: Any, *, tenant: str, cache: TtlCache, limit: Callable[[str], asyncio.Semaphore],
                 retries: int, read_timeout: float) -> None:
        self._client = pipeline
        self.tenant = tenant
        self._cache = cache
        self._limit = limit
        self._retries = retries
        self._read_timeout = read_timeout

    async def close(self) -> None:
        await self._client.close()

    def _url(self, path: str, api_version: str | None, params: dict[str, Any] | None) -> str:
        if path.startswith("https://"):
            return path
        url = self._client._base_url.rstrip("/") + "/" + path.lstrip("/")
        query = dict(params or {})
        if api_version:
            query["api-version"] = api_version
        if query:
            from urllib.parse import urlencode

            url += ("&" if "?" in url else "?") + urlencode(query)
        return url

    def _where(self, where: Where | None, path: str, operation: str) -> Where:
        w = where or Where()
        return Where(tenant=w.tenant or self.tenant, workspace=w.workspace,
                     resource=w.resource or path.split("?", 1)[0], operation=w.operation or operation)

    async def _send(self, method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None,
                    where: Where) -> Any:
        request = HttpRequest(method, url, json=body if body is not None else None, headers=headers or {})
        async with self._limit(where.tenant or self.tenant):
            try:
                response = await self._client.send_request(request, read_timeout=self._read_timeout)
            except Exception as exc:
                raise describe_azure_error(exc, where, retries=self._retries) from exc
            if response.status_code >= 400:  # send_request (stream=False) has read the body already
                failure = HttpResponseError(response=response)
                raise describe_azure_error(failure, where, retries=self._retries) from None
        return response

    @staticmethod
    def _json(response: Any) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError):
            return None

    async def get(self, path: str, api_version: str, *, params: dict[str, Any] | None = None,
                  where: Where | None = None, cache: bool = True) -> dict[str, Any]:
        url = self._url(path, api_version, params)
        key = cache_key(url)
        if cache:
            hit = self._cache.get(self.tenant, key)
            if hit is not None:
                return hit
        response = await self._send("GET", url, where=self._where(where, path, "GET"))
        data = self._json(response) or {}
        if cache:
            self._cache.put(self.tenant, key, data)
        return data

    async def iter_pages(self, path: str, api_version: str, *, params: dict[str, Any] | None = None,
                         where: Where | None = None) -> AsyncIterator[list[dict[str, Any]]]:
        """Follow ``nextLink`` page by page."""
        url: str | None = self._url(path, api_version, params)
        w = self._where(where, path, "list")
        while url:
            response = await self._send("GET", url, where=w)
            data = self._json(response) or {}
            yield list(data.get("value", []))
            url = data.get("nextLink")

    async def list(self, path: str, api_version: str, *, params: dict[str, Any] | None = None,
                   where: Where | None = None, max_items: int | None = None, cache: bool = True) -> list[dict[str, Any]]:
        """Every item of a collection (all pages, or up to ``max_items``)."""
        key = cache_key(self._url(path, api_version, params)) + f"#max={max_items}"
        if cache:
            hit = self._cache.get(self.tenant, key)
            if hit is not None:
                return hit
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
                     where: Where | None, params: dict[str, Any] | None = None, wait: bool = True) -> Any:
        gate = WRITE_GATE.get()
        if gate is not None:
            gate.check(method, path)
        url = self._url(path, api_version, params)
        headers = {"If-Match": etag} if etag else {}
        w = self._where(where, path, method)
        response = await self._send(method, url, body=body, headers=headers, where=w)
        self._cache.invalidate_write(url)
        if response.status_code == 202 and wait and (
            response.headers.get("Azure-AsyncOperation") or response.headers.get("Location")
        ):
            try:
                await self._poll(response, w)
            finally:  # reads made while it ran may have cached the state before the change
                self._cache.invalidate_write(url)
            if method in ("PUT", "PATCH"):
                return await self.get(path, api_version, params=params, where=where, cache=False)
            return None
        return self._json(response)

    async def _poll(self, response: Any, where: Where) -> None:
        """Follow an ARM long-running operation to its end (Azure-AsyncOperation, else Location)."""
        url = response.headers.get("Azure-AsyncOperation") or response.headers.get("Location")
        for _ in range(600):
            delay = float(response.headers.get("Retry-After", "1") or 1)
            await asyncio.sleep(min(delay, 10))
            response = await self._send("GET", url, where=where)
            data = self._json(response) or {}
            status = str(data.get("status", "")).lower() if isinstance(data, dict) else ""
            if response.status_code == 200 and status in ("", "succeeded"):
                return
            if status in ("failed", "canceled", "cancelled"):
                error = data.get("error", {}) if isinstance(data, dict) else {}
                raise AzureCallError(
                    f"{where.describe()} failed: the long-running operation ended {status} "
                    f"({error.get('code', '')}: {error.get('message', 'no details')}); check the resource and retry.",
                    code=error.get("code"),
                )
        raise AzureCallError(f"{where.describe()}: the long-running operation did not finish; check it in the portal.")

    async def put(self, path: str, api_version: str, body: dict[str, Any], *, etag: str | None = None,
                  where: Where | None = None, wait: bool = True) -> Any:
        return await self._write("PUT", path, api_version, body, etag=etag, where=where, wait=wait)

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
            response = await self._send("POST", url, body=body, where=self._where(where, path, "POST"))
            return self._json(response)
        return await self._write("POST", path, api_version, body, etag=None, where=where, params=params, wait=wait)
