"""The reference systems' answers as the launch's domain models: an ERP store master as
plan facts, a task system task as a task status, WMS positions as stock per store."""

from __future__ import annotations

from typing import Any, Literal

from domain.promotion.plan import StoreFacts
from domain.promotion.status import TaskStatus

TASK_STATES: dict[str, Literal["OPEN", "DONE", "CANCELLED"]] = {
    "OPEN": "OPEN",
    "COMPLETED": "DONE",
    "CANCELLED": "CANCELLED",
}


def store_facts(store: Any) -> StoreFacts:
    """An ERP store master as the plan's facts carry it."""
    return StoreFacts(
        store_id=store.store_id,
        store_class=store.store_class,
        region=store.region,
        timezone=store.timezone,
        format=store.format,
        price_zone=store.price_zone,
        dc_id=store.dc_id,
    )


def task_status(task: Any) -> TaskStatus:
    """A task of the task system as the launch follows it."""
    return TaskStatus(
        task_id=task.task_id,
        store_id=task.store_id,
        kind=task.kind,
        due_at=task.due_at,
        state=TASK_STATES[task.status],
    )


def stock_of(positions: list[Any], wanted: set[str]) -> dict[str, dict[str, int]]:
    """(on hand + in transit) per store and item of the `wanted` stores, as
    `domain.promotion.gates.stock_by_store` indexes it (a negative figure counts as none),
    without a model per position."""
    stock: dict[str, dict[str, int]] = {}
    for p in positions:
        if p.location_id in wanted:
            per_store = stock.setdefault(p.location_id, {})
            held = max(p.on_hand, 0) + max(p.in_transit, 0)
            per_store[p.item_id] = per_store.get(p.item_id, 0) + held
    return stock
