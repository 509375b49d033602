"""Each target tenant's ARM request budget, as a pipeline policy: every attempt (retries included) waits
for a token of its tenant's bucket, which all replicas share through Redis (see ``sentinelkit.sharedstate``),
so N replicas together never send one tenant more than ``[hosted] arm_requests_per_second``."""

from __future__ import annotations

from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import AsyncHTTPPolicy

#: the attribute ``Transport.send`` sets on each request: the id of the tenant that owns its target
TENANT_ATTRIBUTE = "sentinelkit_tenant"


class BudgetPolicy(AsyncHTTPPolicy):  # type: ignore[type-arg]
    def __init__(self, shared: Any, rate: float, burst: int, service: str = "arm") -> None:
        super().__init__()
        self.shared = shared
        self.rate = rate
        self.burst = burst
        self.service = service

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        tenant = getattr(request.http_request, TENANT_ATTRIBUTE, None)
        if tenant:
            await self.shared.acquire(f"{self.service}:{str(tenant).lower()}", self.rate, self.burst)
        return await self.next.send(request)
