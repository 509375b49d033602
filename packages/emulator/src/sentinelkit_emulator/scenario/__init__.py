"""Scenarios: the initial state of the emulator's world.

``build_store(name)`` makes the topology (tenants, principals, subscriptions, Lighthouse,
workspaces) and then runs each seeder in order; seeders only add to what came before them.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from ..model import World
from ..store import LogRow, Store
from .plan import SCENARIOS, ScenarioPlan, WorkspacePlan, scaled
from .topology import build_world, seed_topology, workspace_id

Seeder = Callable[[Store, ScenarioPlan, random.Random], None]

#: Seeders run after the topology, in this order (logs last: they describe the ARM state).
SEEDERS = (
    "sentinelkit_emulator.scenario.sentinel:seed_sentinel",
    "sentinelkit_emulator.scenario.monitor:seed_monitor",
    "sentinelkit_emulator.scenario.logs:seed_logs",
)
SEED = 20261125
LOG_SEEDER = SEEDERS[-1]
#: what the log seed of a generated (light) workspace reads: its Sentinel resources, not its tables
LIGHT_LOG_INPUTS = (SEEDERS[0], LOG_SEEDER)


def _load(path: str) -> Seeder:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


#: a world of any size: (customer tenants, workspaces per tenant); None for the scenario as written
WorldSize = tuple[int, int] | None


def plan_for(name: str, size: WorldSize = None) -> ScenarioPlan:
    """The plan of scenario ``name``, or of a generated world of ``size`` (see ``plan.scaled``)."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")
    return scaled(*size) if size is not None else SCENARIOS[name]


def build_store(
    name: str = "mssp",
    now: datetime | None = None,
    seeders: tuple[str, ...] = SEEDERS,
    world: World | None = None,
    *,
    lazy_logs: bool = False,
    size: WorldSize = None,
) -> Store:
    """A fresh store for scenario ``name`` anchored at ``now`` (default: the current time).

    ``world`` reuses existing identities (a reset keeps the secrets clients already hold).
    ``lazy_logs``: the log rows are made when first read (``Store.defer_logs``), from a store of their
    own seeded the same way, since the log seeder describes the ARM state as seeded, which may have
    changed by then.
    ``size``: a generated world of that many customer tenants and workspaces per tenant instead of the
    scenario's own; each workspace is seeded at its first use (``Store.defer_workspace``).
    """
    plan = plan_for(name, size)
    store = Store(world or build_world(plan), now or datetime.now(UTC))
    seed_topology(store, plan)
    if size is not None:
        for wp in plan.workspaces:
            _defer(store, plan, wp, seeders)
        return store
    for path in seeders:
        if lazy_logs and path == LOG_SEEDER:
            store.defer_logs(lambda anchor=store.now, identities=store.world:
                             build_store(name, anchor, seeders, identities).logs)
            continue
        # one generator per seeder, so a change in one seeder does not shift the others' data
        _load(path)(store, plan, random.Random(f"{SEED}:{path}"))
    return store


def _seed_workspace(store: Store, one: ScenarioPlan, seeders: tuple[str, ...]) -> None:
    """Run ``seeders`` for the one workspace of ``one``, each with a generator of its own for that workspace,
    so that what it gets does not depend on which workspaces were seeded before it."""
    for path in seeders:
        _load(path)(store, one, random.Random(f"{SEED}:{path}:{one.workspaces[0].name}"))


def _defer(store: Store, plan: ScenarioPlan, wp: WorkspacePlan, seeders: tuple[str, ...]) -> None:
    """Seed ``wp`` at its first use; its log rows at their first read, from a store of their own seeded the
    same way (the log seeder describes the ARM state as seeded, which may have changed by then)."""
    managing = next(t for t in plan.tenants if t.role == "managing")
    one = replace(plan, tenants=(managing, plan.tenant(wp.tenant)), workspaces=(wp,))
    arm_seeders = tuple(p for p in seeders if p != LOG_SEEDER)
    ws_id = workspace_id(one, wp)
    workspace = store.get(ws_id)
    assert workspace is not None, f"the topology seeder makes {ws_id}"
    customer_id = str(workspace["properties"]["customerId"])
    anchor, world = store.now, store.world

    def logs() -> dict[str, list[LogRow]]:
        scratch = Store(world, anchor)
        seed_topology(scratch, one)
        _seed_workspace(scratch, one, tuple(p for p in seeders if not wp.light or p in LIGHT_LOG_INPUTS))
        return scratch.workspace_logs(customer_id)

    store.defer_workspace(ws_id, lambda: _seed_workspace(store, one, arm_seeders),
                          logs if LOG_SEEDER in seeders else None, customer_id)
