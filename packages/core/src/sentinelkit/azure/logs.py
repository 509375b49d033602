"""The Log Analytics query API: ``POST {endpoint}/v1/workspaces/{customerId}/query``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import Where, error_details
from .transport import Transport, json_body


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
    """The Log Analytics query API through one credential; requests count against the limit of the
    tenant owning the workspace (known from discovery by its customerId)."""

    def __init__(self, transport: Transport, *, tenant_of: Callable[[str], str | None], home_tenant: str) -> None:
        self._transport = transport
        self.tenant = transport.credential
        self._tenant_of = tenant_of
        self._home = home_tenant

    async def close(self) -> None:
        await self._transport.close()

    async def query(self, customer_id: str, kql: str, *, timespan: str | None = "P1D",
                    where: Where | None = None, server_timeout: int = 180) -> QueryRows:
        """Run KQL; return the primary table's rows as dicts (column name → value), with
        ``partial_error`` set when the service reported an error beside them."""
        body: dict[str, Any] = {"query": kql}
        if timespan:
            body["timespan"] = timespan
        url = f"{self._transport.base_url}/v1/workspaces/{customer_id}/query"
        w = where or Where()
        w = Where(tenant=w.tenant or self.tenant, workspace=w.workspace, resource=w.resource,
                  operation=w.operation or "query")
        response = await self._transport.send("POST", url, where=w, body=body,
                                              tenant=self._tenant_of(customer_id) or self._home,
                                              headers={"Prefer": f"wait={server_timeout}"}, read=True)
        data = json_body(response) or {}
        tables = data.get("tables") or []
        rows = QueryRows()
        if tables:
            names = [c["name"] for c in tables[0].get("columns", [])]
            rows.extend(dict(zip(names, row, strict=False)) for row in tables[0].get("rows", []))
        rows.partial_error = partial_error(data, w)
        return rows
