"""Control-plane wire schemas: fault injection, the effects ledger and the event outbox.

Fault kinds (one :class:`FaultSpec` per system and operation; ``operation="*"`` matches
every operation of the system, ``system="*"`` every system):

* ``error_rate``: share of calls answered ``503`` (a ``TransientError``);
* ``refusal_rate``: share of calls refused with ``422`` (a ``BusinessRefusal``; for
  refunds the code is ``tender_declined``);
* ``latency_ms``: added to every matching call;
* ``outage_seconds`` (from now) or ``outage_from``/``outage_until``: every call ``503``;
* on the system's asynchronous events (operation ``events`` or ``*``):
  ``duplicate_rate`` (+ ``duplicate_count`` extra deliveries of the same ``event_id``),
  ``drop_rate`` (never delivered), ``late_seconds`` (delivered that much later);
* on WMS positions (operation ``positions`` or ``*``): ``stale_stock`` (figures ignore
  movements since the fault was set, ``as_of`` says so), ``wrong_stock_rate`` (share of
  positions whose on-hand figure is wrong) and ``stock_factor`` (every on-hand figure
  reported times this factor: 20 inflates the feed, -1 makes it negative); with
  ``stores``, only the positions of those locations (stores or DCs) are changed.

Every random decision comes from ``seed`` and the order of calls, so the same seed and the
same calls give the same faults.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from wire.common import Model, ResultModel

SYSTEMS = ("erp", "pos", "wms", "ecommerce", "marketplace", "tasks", "fraud")
SystemName = Literal["erp", "pos", "wms", "ecommerce", "marketplace", "tasks", "fraud", "*"]


class FaultSpec(Model):
    """How one system/operation should misbehave (see the module doc for each kind)."""

    system: SystemName
    operation: str = Field(default="*", min_length=1, max_length=100)
    seed: int = 0
    error_rate: float = Field(default=0.0, ge=0, le=1)
    refusal_rate: float = Field(default=0.0, ge=0, le=1)
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    outage_seconds: float | None = Field(default=None, gt=0)
    outage_from: AwareDatetime | None = None
    outage_until: AwareDatetime | None = None
    duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    duplicate_count: int = Field(default=1, ge=1, le=10)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    late_seconds: float = Field(default=0.0, ge=0, le=86_400)
    late_rate: float = Field(default=1.0, ge=0, le=1)
    stale_stock: bool = False
    wrong_stock_rate: float = Field(default=0.0, ge=0, le=1)
    stock_factor: float | None = Field(default=None, ge=-1000, le=1000)
    """WMS positions: each on-hand figure reported times this (None: as it is)."""
    stores: list[str] = Field(default_factory=list, max_length=10_000)
    """Only calls naming one of these stores misbehave (empty: every call). Lets a drill
    fail the POS of one region while the rest of the estate answers. On WMS positions: only
    the positions of these locations are stale, wrong or scaled."""

    @model_validator(mode="after")
    def _window(self) -> FaultSpec:
        if self.outage_seconds is not None and (self.outage_from or self.outage_until):
            raise ValueError("give either outage_seconds or outage_from/outage_until, not both")
        if self.outage_from and self.outage_until and self.outage_until <= self.outage_from:
            raise ValueError("outage_until must be after outage_from (the window is backwards)")
        return self


class Fault(ResultModel):
    """A fault in force, with what it has done so far."""

    fault_id: str
    spec: FaultSpec
    created_at: datetime
    outage_from: datetime | None = None
    outage_until: datetime | None = None
    calls: int = 0
    injected: dict[str, int] = Field(default_factory=dict)


class LedgerEntry(ResultModel):
    """One external effect the backoffice performed (one per idempotency key)."""

    id: int
    system: str
    operation: str
    subject: str
    idempotency_key: str
    amount: Decimal | None = None
    quantity: int | None = None
    detail: dict[str, object] = Field(default_factory=dict)
    created_at: datetime


class LedgerPage(ResultModel):
    """Matching ledger entries and their count (``count`` is exact; entries may be cut)."""

    count: int
    entries: list[LedgerEntry]


class OutboxEvent(ResultModel):
    event_id: str
    system: str
    workflow_id: str
    signal: str
    status: Literal["pending", "delivered", "dropped", "failed"]
    deliveries: int
    attempts: int
    deliver_after: datetime
    last_error: str | None = None
    payload: dict[str, Any]


__all__ = [
    "SYSTEMS",
    "Fault",
    "FaultSpec",
    "LedgerEntry",
    "LedgerPage",
    "OutboxEvent",
    "SystemName",
]
