"""The Log Analytics query API: ``POST {endpoint}/v1/workspaces/{customerId}/query``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from ..errors import Where, describe_azure_error


class LogsClient:
    def __init__(self, pipeline: Any, *, tenant: str, limit: Callable[[str], asyncio.Semaphore], retries: int,
                 read_timeout: float) -> None:
        self._client = pipeline
        self.tenant = tenant
        self._limit = limit
        self._retries = retries
        self._read_timeout = read_timeout

    async def close(self) -> None:
        await self._client.close()

    async def query(self, customer_id: str, kql: str, *, timespan: str | None = "P1D",
                    where: Where | None = None, server_timeout: int = 180) -> list[dict[str, Any]]:
        """Run KQL; return the primary table's rows as dicts (column name → value)."""
        body: dict[str, Any] = {"query": kql}
        if timespan:
            body["timespan"] = timespan
        url = f"{self._client._base_url.rstrip('/')}/v1/workspaces/{customer_id}/query"
        request = HttpRequest("POST", url, json=body, headers={"Prefer": f"wait={server_timeout}"})
        w = where or Where()
        w = Where(tenant=w.tenant or self.tenant, workspace=w.workspace, resource=w.resource,
                  operation=w.operation or "query")
        async with self._limit(w.tenant or self.tenant):
            try:
                response = await self._client.send_request(request, read_timeout=self._read_timeout)
            except Exception as exc:
                raise describe_azure_error(exc, w, retries=self._retries) from exc
        if response.status_code >= 400:
            raise describe_azure_error(HttpResponseError(response=response), w, retries=self._retries)
        data = response.json()
        tables = data.get("tables") or []
        if not tables:
            return []
        table = tables[0]
        names = [c["name"] for c in table.get("columns", [])]
        return [dict(zip(names, row, strict=False)) for row in table.get("rows", [])]
