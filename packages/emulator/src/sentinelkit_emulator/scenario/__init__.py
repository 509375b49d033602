"""Scenarios: the initial state of the emulator's world.

``build_store(name)`` makes the topology (tenants, principals, subscriptions, Lighthouse,
workspaces) and then runs each seeder in order; seeders only add to what came before them.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from datetime import UTC, datetime

from ..model import World
from ..store import Store
from .plan import SCENARIOS, ScenarioPlan
from .topology import build_world, seed_topology

Seeder = Callable[[Store, ScenarioPlan, random.Random], None]

#: Seeders run after the topology, in this order (logs last: they describe the ARM state).
SEEDERS = (
    "sentinelkit_emulator.scenario.sentinel:seed_sentinel",
    "sentinelkit_emulator.scenario.monitor:seed_monitor",
    "sentinelkit_emulator.scenario.logs:seed_logs",
)
SEED = 20261125
LOG_SEEDER = SEEDERS[-1]


def _load(path: str) -> Seeder:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def build_store(
    name: str = "mssp",
    now: datetime | None = None,
    seeders: tuple[str, ...] = SEEDERS,
    world: World | None = None,
    *,
    lazy_logs: bool = False,
) -> Store:
    """A fresh store for scenario ``name`` anchored at ``now`` (default: the current time).

    ``world`` reuses existing identities (a reset keeps the secrets clients already hold).
    ``lazy_logs``: the log rows are made when first read (``Store.defer_logs``), from a store of their
    own seeded the same way, since the log seeder describes the ARM state as seeded, which may have
    changed by then.
    """
    try:
        plan = SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None
    store = Store(world or build_world(plan), now or datetime.now(UTC))
    seed_topology(store, plan)
    for path in seeders:
        if lazy_logs and path == LOG_SEEDER:
            store.defer_logs(lambda anchor=store.now, identities=store.world:
                             build_store(name, anchor, seeders, identities).logs)
            continue
        # one generator per seeder, so a change in one seeder does not shift the others' data
        _load(path)(store, plan, random.Random(f"{SEED}:{path}"))
    return store
