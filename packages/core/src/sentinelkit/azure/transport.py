"""The one path every Azure request takes, for ARM and Log Analytics alike.

A request goes through its credential's azure-core pipeline (token, retries with capped Retry-After,
correlation id), waits for a place under its *target* tenant's concurrency limit — the tenant that owns
the resource, not the tenant of the credential: through Azure Lighthouse one credential reaches many
customers, and Azure throttles each of them separately — and a failure comes back as the typed
``AzureError`` for it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from azure.core import AsyncPipelineClient
from azure.core.exceptions import HttpResponseError
from azure.core.rest import AsyncHttpResponse, HttpRequest

from ..errors import Where, describe_azure_error

#: the concurrency limit of a target tenant (a semaphore per key, created on first use)
Limits = Callable[[str], asyncio.Semaphore]
#: methods the retry policy sends again after a failure, for a request that changes nothing (azure-core's
#: own list, plus POST)
READ_METHODS = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST"})


class Transport:
    def __init__(self, pipeline: AsyncPipelineClient[HttpRequest, AsyncHttpResponse], *, credential: str,
                 limits: Limits, retries: int, read_timeout: float) -> None:
        self._client = pipeline
        self.credential = credential
        self._limits = limits
        self.retries = retries
        self._read_timeout = read_timeout

    @property
    def base_url(self) -> str:
        return str(self._client._base_url).rstrip("/")

    async def close(self) -> None:
        await self._client.close()

    async def send(self, method: str, url: str, *, where: Where, tenant: str, body: Any = None,
                   headers: dict[str, str] | None = None, read: bool = False) -> AsyncHttpResponse:
        """Send one request (retried by the pipeline) within ``tenant``'s limit; raise ``AzureError`` on
        failure. The body of the answer has been read when this returns. ``read``: a POST that changes
        nothing (a query, listKeys), retried like a GET when its connection fails."""
        request = HttpRequest(method, url, json=body, headers=headers or {})
        request.sentinelkit_tenant = tenant  # its ARM budget (azure/budget.py)
        options: dict[str, Any] = {"retry_on_methods": READ_METHODS} if read else {}
        async with self._limits(tenant):
            try:
                response = await self._client.send_request(request, read_timeout=self._read_timeout, **options,
                                                           sentinelkit_tenant=where.tenant or tenant)
            except Exception as exc:
                raise describe_azure_error(exc, where, retries=self.retries) from exc
        if response.status_code >= 400:
            failure = describe_azure_error(HttpResponseError(response=response), where, retries=self.retries)
            failure.retried = bool(getattr(request, "sentinelkit_retried", False))
            raise failure from None
        return response


def json_body(response: AsyncHttpResponse) -> Any:
    """The decoded JSON of an answer, or ``None`` when it has none (204, empty, not JSON)."""
    content = response.content
    if not content:
        return None
    try:
        return json.loads(content)  # from the bytes: azure-core's .json() decodes them to text first
    except ValueError:
        try:
            return response.json()  # another encoding, a byte-order mark
        except ValueError:
            return None
