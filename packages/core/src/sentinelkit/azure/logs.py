"""The Log Analytics query API: ``POST {endpoint}/v1/workspaces/{customerId}/query``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from ..errors import Where, describe_azure_error, error_details


class QueryRows(list[dict[str, Any]]):
    """The rows of a query (a list of dicts, column name → value), plus ``partial_error``: the
    service's sentence when it answered 200 with an ``error`` beside the tables (a partial result,
    e.g. rows cut at the result-size limit), else ``None``. Report it next to the rows."""

    partial_error: str | None = None


def partial_error(data: dict[str, Any], where: Where) -> str | None:
    """The sentence for an ``error`` inside a successful query answer."""
    error = data.get("error")
    if not isinstance(error, dict):
        return None
    head = f"{error['code']}: {error.get('message', '')}" if error.get("code") else str(error.get("message", ""))
    details = error_details(error)
    text = head + (f" ({'; '.join(details)})" if details else "")
    return (f"{where.describe()} returned a partial result: {text.strip()}; the rows may be incomplete: narrow "
            "the query (filters, a shorter timespan, `summarize`) to get a complete answer.")


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
                    where: Where | None = None, server_timeout: int = 180) -> QueryRows:
        """Run KQL; return the primary table's rows as dicts (column name → value), with
        ``partial_error`` set when the service reported an error beside them."""
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
        rows = QueryRows()
        if tables:
            names = [c["name"] for c in tables[0].get("columns", [])]
            rows.extend(dict(zip(names, row, strict=False)) for row in tables[0].get("rows", []))
        rows.partial_error = partial_error(data, w)
        return rows
