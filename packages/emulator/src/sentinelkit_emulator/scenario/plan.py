"""The MSSP scenario's plan: who exists, which workspaces, and what is planted as unhealthy.

This is the single source of truth that the seeders (ARM resources, Log Analytics rows) and the
scenario documentation (docs/scenario.md) follow, and that tests of later packs assert against.
Ids are derived deterministically from names (uuid5), so they are the same on every run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

_NS = uuid.UUID("5e17c0de-0000-4000-8000-00000000e1a0")


def stable_id(*parts: str) -> str:
    """A GUID that is the same on every run for the same name parts."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


@dataclass(frozen=True)
class WorkspacePlan:
    tenant: str  # tenant short name
    subscription: str  # subscription display name
    resource_group: str
    name: str
    location: str
    sentinel: bool  # Microsoft Sentinel onboarded
    incidents: int  # how many incidents over the last 30 days
    #: planted problems, as short keys documented in docs/scenario.md
    problems: tuple[str, ...] = ()
    #: a workspace of a world of any size (``scaled``): seeded at its first use, with fewer log tables,
    #: and nothing beside it in its resource group (no data collection rules, no workbooks)
    light: bool = False


@dataclass(frozen=True)
class TenantPlan:
    name: str
    display_name: str
    role: str  # "managing" | "customer"
    delegated: bool  # delegates its subscription to the managing tenant through Lighthouse
    subscription: str
    analysts: tuple[str, ...] = ()  # user short names in this tenant

    @property
    def id(self) -> str:
        return stable_id("tenant", self.name)

    @property
    def domain(self) -> str:
        return f"{self.name}.onmicrosoft.com"

    @property
    def subscription_id(self) -> str:
        return stable_id("subscription", self.name)


@dataclass(frozen=True)
class ScenarioPlan:
    tenants: tuple[TenantPlan, ...]
    workspaces: tuple[WorkspacePlan, ...]
    #: policy the "detailed" health check compares against (documented; packs may configure their own)
    retention_policy_days: int = 90
    notes: dict[str, str] = field(default_factory=dict)

    def tenant(self, name: str) -> TenantPlan:
        return next(t for t in self.tenants if t.name == name)


MSSP = ScenarioPlan(
    tenants=(
        TenantPlan("contoso-mssp", "Contoso MSSP", "managing", False, "Contoso MSSP SOC",
                   analysts=("alice.analyst", "bob.lead", "carol.tier1")),
        TenantPlan("fabrikam", "Fabrikam Ltd", "customer", True, "Fabrikam Production", analysts=("dave.admin",)),
        TenantPlan("northwind", "Northwind Traders", "customer", True, "Northwind Security", analysts=("erin.it",)),
        TenantPlan("tailspin", "Tailspin Toys", "customer", True, "Tailspin Shared Services", analysts=("frank.ops",)),
        TenantPlan("woodgrove", "Woodgrove Bank", "customer", False, "Woodgrove Bank SecOps", analysts=("grace.sec",)),
    ),
    workspaces=(
        WorkspacePlan("contoso-mssp", "Contoso MSSP SOC", "rg-soc", "law-contoso-soc", "westeurope", True, 80),
        WorkspacePlan("fabrikam", "Fabrikam Production", "rg-sentinel", "law-fabrikam-prod", "westeurope", True, 150,
                      problems=("rule_failing", "rules_disabled", "backlog_high_unassigned", "dcr_no_association",
                                "basic_plan_custom_table")),
        WorkspacePlan("fabrikam", "Fabrikam Production", "rg-sentinel", "law-fabrikam-ops", "westeurope", False, 0,
                      problems=("sentinel_not_onboarded",)),
        WorkspacePlan("northwind", "Northwind Security", "rg-security", "law-northwind", "northeurope", True, 100,
                      problems=("connector_failing", "heartbeat_stopped", "automation_failing", "retention_below_policy",
                                "dce_no_association", "ingestion_drop")),
        WorkspacePlan("tailspin", "Tailspin Shared Services", "rg-sentinel-weu", "law-tailspin", "westeurope", True, 70,
                      problems=("ingestion_stopped", "dcr_destination_stopped", "rule_auto_disabled",
                                "watchlist_near_expiry")),
        WorkspacePlan("woodgrove", "Woodgrove Bank SecOps", "rg-secops", "law-woodgrove", "eastus", True, 60),
    ),
)

SCENARIOS: dict[str, ScenarioPlan] = {"mssp": MSSP}


#: what a generated workspace holds: incidents over the last 30 days
SCALED_INCIDENTS = 30
_LOCATIONS = ("westeurope", "northeurope", "eastus", "uksouth")


def scaled(tenants: int, workspaces_per_tenant: int) -> ScenarioPlan:
    """An MSSP world of any size: the ``mssp`` scenario's managing tenant (its principals and analysts)
    and ``tenants`` customers, each delegated to it through Lighthouse, each with its own subscription
    and ``workspaces_per_tenant`` healthy Sentinel workspaces. Names and ids follow from the numbers,
    so the same size is the same world on every run."""
    if tenants < 1 or workspaces_per_tenant < 1:
        raise ValueError("a world needs at least one tenant and one workspace per tenant")
    width = max(3, len(str(tenants)))
    customers = tuple(
        TenantPlan(f"customer-{i:0{width}d}", f"Customer {i:0{width}d}", "customer", True,
                   f"Customer {i:0{width}d} Security", analysts=("soc.admin",))
        for i in range(1, tenants + 1))
    workspaces = tuple(
        WorkspacePlan(t.name, t.subscription, "rg-sentinel", f"law-{t.name}-{j:02d}",
                      _LOCATIONS[(i + j) % len(_LOCATIONS)], True, SCALED_INCIDENTS, light=True)
        for i, t in enumerate(customers) for j in range(1, workspaces_per_tenant + 1))
    return ScenarioPlan(tenants=(MSSP.tenants[0], *customers), workspaces=workspaces)
