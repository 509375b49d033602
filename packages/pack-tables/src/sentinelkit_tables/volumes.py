"""What each table ingested in the last 30 days, from the workspace's ``Usage`` table: the figure that
tells whether a plan or retention change is worth it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sentinelkit import AzureError, Kit, Workspace

#: Usage.Quantity is in MB; answers give GB
_KQL = ("Usage | where TimeGenerated > ago(30d) "
        "| summarize MB = sum(Quantity), BillableMB = sumif(Quantity, IsBillable == true) by DataType")


@dataclass
class Volumes:
    """GB per table over the last 30 days; ``error`` when Usage could not be read (volumes unknown)."""

    total_gb: dict[str, float] = field(default_factory=dict)
    billable_gb: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def of(self, table: str) -> float | None:
        if self.error is not None:
            return None
        return self.total_gb.get(table, 0.0)

    def billable(self, table: str) -> float | None:
        if self.error is not None:
            return None
        return self.billable_gb.get(table, 0.0)

    def has_data(self, table: str) -> bool:
        return self.total_gb.get(table, 0.0) > 0


async def volumes(kit: Kit, ws: Workspace, *, refresh: bool = False) -> Volumes:
    """The 30-day volumes of ``ws`` (cached for the server's TTL, keyed under the workspace's tables)."""
    key = f"{ws.id}/tables?usage=30d"
    if not refresh:
        hit = kit.cache.get("tables", key)
        if isinstance(hit, Volumes):
            return hit
    try:
        rows = await kit.query(ws, _KQL, timespan="P30D")
    except AzureError as exc:
        return Volumes(error=f"ingestion volumes unknown: {exc}")
    found = Volumes(total_gb={str(r["DataType"]): round(float(r["MB"] or 0) / 1000, 3) for r in rows},
                    billable_gb={str(r["DataType"]): round(float(r["BillableMB"] or 0) / 1000, 3) for r in rows},
                    error=rows.partial_error)
    kit.cache.put("tables", key, found)
    return found
