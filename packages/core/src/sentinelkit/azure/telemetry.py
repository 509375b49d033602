"""The pipeline policy that traces and measures every attempt of an Azure request.

It sits after the retry policy, so each attempt is one ``CLIENT`` span (``GET /subscriptions/{subscriptionId}/...``,
HTTP client semantic conventions: method, ``url.template``, status, ``http.request.resend_count``; ``url.full``
with the template for its path) and one
``http.client.request.duration`` measurement; the first attempt takes the target tenant from the request's
options (``sentinelkit_tenant``, set by the transport). A retry that waited because Azure's Retry-After asked
says how long (``sentinelkit.azure.retry_after``); the ARM correlation id and request id are on the span.
URLs appear as templates only; query text only with ``[telemetry] record_queries``, redacted like logs.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import AsyncHTTPPolicy
from opentelemetry.util.types import AttributeValue

from ..call import current_call
from ..telemetry import metrics, spans
from ..telemetry.urls import path_template

#: the request option naming the target tenant (``send_request(..., sentinelkit_tenant=...)``)
TENANT_OPTION = "sentinelkit_tenant"
_WAIT = "sentinelkit_retry_after"

if TYPE_CHECKING:
    from ..settings import Settings


class TelemetryPolicy(AsyncHTTPPolicy[Any, Any]):
    def __init__(self, service: str, settings: Settings) -> None:
        from .pipeline import CappedRetryPolicy

        super().__init__()
        self.service = service
        # reads Retry-After as the retry policy does (capped), to tell how long a retry waited for it
        self._retry_after = CappedRetryPolicy(settings.retry.retry_after_cap).get_retry_after
        self.record_queries = settings.telemetry.record_queries

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        context = request.context
        if TENANT_OPTION in context.options:  # consumed: the HTTP transport would refuse an unknown option
            context[TENANT_OPTION] = context.options.pop(TENANT_OPTION)
        tenant = str(context.get(TENANT_OPTION) or "unknown")
        http = request.http_request
        resend = int(context.get("retry_count") or 0)
        waited = context.pop(_WAIT, None) if resend else None
        url = urlsplit(http.url)
        template = path_template(url.path)
        attributes: dict[str, AttributeValue] = {
            # url.full scrubbed: the template stands for the path (Application Insights names dependencies from it)
            "http.request.method": http.method, "url.template": template, "url.scheme": url.scheme,
            "url.full": f"{url.scheme}://{url.netloc}{template}",
            "server.address": url.hostname or "", "server.port": url.port or (443 if url.scheme == "https" else 80),
            "sentinelkit.tenant": tenant, "sentinelkit.azure.service": self.service,
        }
        if resend:
            attributes["http.request.resend_count"] = resend
        if waited:
            attributes["sentinelkit.azure.retry_after"] = waited
        started = time.perf_counter()
        with spans.span(f"{http.method} {template}", kind="client", attributes=attributes) as span:
            recording = span.is_recording()
            if recording:
                self._annotate_request(span, http)
            try:
                response = await self.next.send(request)
            except Exception as exc:  # the span says it failed (``spans.span``)
                self._record(tenant, http.method, template, url.hostname or "", 0, started, type(exc).__qualname__,
                             waited)
                raise
            status = response.http_response.status_code
            if status >= 400:
                asked = self._retry_after(response)
                if asked:
                    context[_WAIT] = asked  # waited before the next attempt, if the retry policy makes one
            error_type = str(status) if status >= 400 else None
            if recording:
                headers = response.http_response.headers
                span.set_attribute("http.response.status_code", status)
                correlation = headers.get("x-ms-correlation-request-id") or http.headers.get(
                    "x-ms-correlation-request-id")
                if correlation:
                    span.set_attribute("sentinelkit.azure.correlation_id", correlation)
                if headers.get("x-ms-request-id"):
                    span.set_attribute("az.service_request_id", headers["x-ms-request-id"])
                if error_type:
                    from opentelemetry.trace import Status, StatusCode

                    span.set_attribute("error.type", error_type)
                    span.set_status(Status(StatusCode.ERROR))
            self._record(tenant, http.method, template, url.hostname or "", status, started, error_type, waited)
            return response

    def _annotate_request(self, span: Any, http: Any) -> None:
        """W3C trace context for Azure (it logs it), and the query text when configured."""
        from opentelemetry import propagate

        propagate.inject(http.headers)
        if self.record_queries and self.service == "logs":
            try:
                query = json.loads(http.content or "{}").get("query")
            except (ValueError, TypeError, AttributeError):
                query = None
            if isinstance(query, str):
                from ..log import redact_text

                span.set_attribute("db.query.text", redact_text(query)[:8000])

    def _record(self, tenant: str, method: str, template: str, server: str, status: int, started: float,
                error_type: str | None, waited: float | None) -> None:
        metrics.record_azure_attempt(service=self.service, tenant=tenant, method=method, template=template,
                                     server=server, status=status, seconds=time.perf_counter() - started,
                                     error_type=error_type, waited=waited)
        call = current_call()
        if call is not None:
            call.tally.azure(tenant, status, waited)
