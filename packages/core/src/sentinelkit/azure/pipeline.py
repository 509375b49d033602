"""Building azure-core async pipelines: auth, capped Retry-After, correlation ids, CA bundle."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from azure.core import AsyncPipelineClient
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    AsyncBearerTokenCredentialPolicy,
    AsyncRetryPolicy,
    HeadersPolicy,
    SansIOHTTPPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import AioHttpTransport

from ..call import current_call
from ..credentials import time_bound
from ..log import logger
from ..settings import Settings
from .telemetry import TelemetryPolicy


class CappedRetryPolicy(AsyncRetryPolicy):  # type: ignore[type-arg]
    """azure-core honours Retry-After but does not cap it: a server asking for 10 minutes would hang
    the tool call. Cap it, so the client sees a clear "throttled" error instead."""

    def __init__(self, retry_after_cap: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retry_after_cap = retry_after_cap

    def increment(self, settings: dict[str, Any], response: Any = None, error: Exception | None = None) -> bool:
        """Marks the request as sent again (``sentinelkit_retried``): a conditional write refused as stale
        after a retry may be meeting its own first attempt (see ``ArmClient``)."""
        request = getattr(response, "http_request", None)
        if request is not None:
            request.sentinelkit_retried = True
        return bool(super().increment(settings, response=response, error=error))

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        value = super().get_retry_after(response)
        if value is None:
            return None
        return min(value, self.retry_after_cap)


class CorrelationPolicy(SansIOHTTPPolicy[Any, Any]):
    """Sends an ``x-ms-correlation-request-id`` per request and logs it with the outcome, so that a
    failure can be traced in Azure's activity log."""

    def __init__(self, service: str, tenant: str) -> None:
        self.service = service
        self.tenant = tenant

    def on_request(self, request: PipelineRequest[Any]) -> None:
        if "x-ms-correlation-request-id" not in request.http_request.headers:
            request.http_request.headers["x-ms-correlation-request-id"] = str(uuid.uuid4())

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> None:
        http = response.http_response
        correlation = http.headers.get("x-ms-correlation-request-id") or request.http_request.headers.get(
            "x-ms-correlation-request-id")
        call = current_call()
        if call is not None and correlation and request.http_request.method != "GET":
            call.add_correlation_id(correlation)
        logger().debug(
            "azure_request", service=self.service, tenant=self.tenant, method=request.http_request.method,
            url=request.http_request.url.split("?", 1)[0], status=http.status_code, correlation_id=correlation,
        )


class SingleAttemptTransport(AioHttpTransport):  # type: ignore[misc]
    """aiohttp, without its own silent resend of an idempotent request whose reused connection dropped:
    every retry goes through the retry policy, which marks it (and backs off, and honours Retry-After).

    ``pool`` gives the kept-alive session of the endpoint (``connections.Connections``), shared with other
    pipelines and left open when this transport closes; without it the transport has a session of its own.
    ``proxy`` (and ``proxy_auth``): the endpoint's proxy, looked up once, for such a session (which does not
    look up the environment on every request, two thread hops each)."""

    def __init__(self, *, pool: Callable[[], Any] | None = None, proxy: Any = None, proxy_auth: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pool = pool
        self._proxy = {k: v for k, v in (("proxy", proxy), ("proxy_auth", proxy_auth)) if v is not None}

    async def send(self, request: Any, **config: Any) -> Any:
        for key, value in self._proxy.items():
            config.setdefault(key, value)
        return await super().send(request, **config)

    async def open(self) -> None:
        if self._pool is not None and getattr(self, "session", None) is None:
            self.session, self._session_owner = self._pool(), False
        await super().open()
        if self.session is not None:
            self.session._retry_connection = False  # aiohttp has no public switch for it


def build_client(base_url: str, credential: Any, scope: str, settings: Settings, *, service: str,
                 tenant: str, budget: Any = None, transport: AioHttpTransport | None = None,
                 ) -> AsyncPipelineClient[Any, Any]:
    """One pipeline client per (service, credential): token cache and retries; ``transport`` carries the
    endpoint's shared connection pool (``connections.Connections``), else one of its own is made; with
    ``budget`` (shared state) and ``[hosted] arm_requests_per_second``, each attempt waits for its tenant's turn."""
    retry = settings.retry
    policies = [
        HeadersPolicy(),
        UserAgentPolicy(sdk_moniker="sentinelkit/0.1"),
        CorrelationPolicy(service, tenant),
        CappedRetryPolicy(
            retry.retry_after_cap,
            retry_total=retry.max_retries,
            retry_backoff_factor=retry.backoff_factor,
            retry_backoff_max=retry.backoff_max,
            timeout=retry.timeout * (retry.max_retries + 1),
        ),
        TelemetryPolicy(service, settings),  # after the retries: one span and measurement per attempt
        _auth_policy(time_bound(credential, retry.timeout, tenant), scope, service),
        # no ContentDecodePolicy: it decoded every answer's JSON a second time (``json_body`` is the one)
    ]
    if budget is not None and settings.hosted.arm_requests_per_second > 0:
        from .budget import BudgetPolicy

        after_retries = next(i for i, p in enumerate(policies) if isinstance(p, CappedRetryPolicy)) + 1
        policies.insert(after_retries, BudgetPolicy(budget, settings.hosted.arm_requests_per_second, settings.hosted.arm_burst))
    if transport is None:
        verify: str | bool = str(settings.ca_bundle) if settings.ca_bundle else True
        transport = SingleAttemptTransport(connection_verify=verify)
    return AsyncPipelineClient(base_url=base_url, policies=policies, transport=transport)


def _auth_policy(credential: Any, scope: str, service: str) -> Any:
    if service == "arm":
        from azure.mgmt.core.policies import AsyncARMChallengeAuthenticationPolicy

        return AsyncARMChallengeAuthenticationPolicy(credential, scope)
    return AsyncBearerTokenCredentialPolicy(credential, scope)
