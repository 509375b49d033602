"""sentinelkit-emulator: an offline, multi-tenant stand-in for Entra ID, Azure Resource Manager and
the Log Analytics query API, seeded with a realistic MSSP scenario (see SCENARIO.md)."""

from __future__ import annotations

from .runner import Emulator

__all__ = ["Emulator"]
__version__ = "0.1.0"
