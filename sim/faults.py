"""Fault profiles, set through the backoffice's faults API (`/control/faults`) for the week.

The shoppers' till (`pos/record_sale`), price look-ups and the KPI read-back are never
faulted: the faults hit the product's own calls, and they are cleared before the figures
are read so the report reads the systems of record as they are.
"""

from __future__ import annotations

from typing import Any

from adapters.control import ControlClient
from wire.control import FaultSpec

PROFILES = ("none", "typical", "bad-day")


def profile_specs(profile: str, seed: int) -> list[FaultSpec]:
    """The faults of a profile, seeded (the same seed and calls give the same faults)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown fault profile {profile!r}: choose one of {', '.join(PROFILES)}")
    specs: list[dict[str, Any]] = []
    if profile == "typical":
        specs = [
            {"system": "pos", "operation": "publish_prices", "error_rate": 0.05},
            {"system": "ecommerce", "operation": "events", "duplicate_rate": 0.1},
            {"system": "erp", "operation": "claim", "error_rate": 0.05},
            {"system": "wms", "operation": "create_transfer", "error_rate": 0.05},
            {"system": "tasks", "operation": "create_task", "latency_ms": 30},
            {"system": "pos", "operation": "refund.card", "error_rate": 0.05},
        ]
    elif profile == "bad-day":
        specs = [
            {"system": "pos", "operation": "publish_prices", "error_rate": 0.5},
            {"system": "ecommerce", "operation": "events", "drop_rate": 0.3},
            {"system": "erp", "operation": "claim", "error_rate": 0.3},
            {"system": "wms", "operation": "create_transfer", "error_rate": 0.5},
            {"system": "wms", "operation": "release_transfer", "error_rate": 0.3},
            {"system": "pos", "operation": "refund.card", "refusal_rate": 0.3},
            {"system": "fraud", "operation": "score", "error_rate": 0.2},
        ]
    return [FaultSpec.model_validate({**s, "seed": seed + n}) for n, s in enumerate(specs)]


async def apply_profile(
    url: str, profile: str, seed: int, extra: list[dict[str, Any]] | None = None
) -> list[FaultSpec]:
    specs = profile_specs(profile, seed) + [FaultSpec.model_validate(e) for e in extra or []]
    async with ControlClient(url) as control:
        for spec in specs:
            await control.set_fault(spec)
    return specs


async def clear(url: str) -> int:
    async with ControlClient(url) as control:
        return await control.clear_faults()
