"""PromotionLaunch's `status`: what a UI, a script or a test reads.

Pure pydantic. The states follow DESIGN.md: DRAFT -> VALIDATING -> AWAITING_APPROVAL ->
APPROVED -> PREPARING -> PUBLISHING -> SCHEDULED -> LIVE -> ENDING -> ENDED, with the
exits REJECTED, CANCELLED and FAILED.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
)

from domain.audit import AuditEntry
from domain.promotion.approvals import RequiredApproval
from domain.promotion.gates import StoreGateState
from domain.promotion.kpis import PromotionKpis
from domain.promotion.plan import PlanMetrics
from domain.publication.prices import PriceLine

TASKS_SHOWN = 200
"""Tasks listed one by one in `status` (thousands of stores would make it megabytes)."""
STORES_IN_RESULT = 1000
"""Stores listed one by one in a launch's result (its last history payload); the others are
counted in `stores_total` and `store_gates`, so the result stays under 512 KiB at any size."""


class PromotionState(StrEnum):
    DRAFT = "DRAFT"
    VALIDATING = "VALIDATING"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    APPROVED = "APPROVED"
    PREPARING = "PREPARING"
    PUBLISHING = "PUBLISHING"
    SCHEDULED = "SCHEDULED"
    LIVE = "LIVE"
    ENDING = "ENDING"
    ENDED = "ENDED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


OPEN_FOR_OVERRIDES = frozenset(
    {
        PromotionState.PREPARING,
        PromotionState.PUBLISHING,
        PromotionState.SCHEDULED,
        PromotionState.LIVE,
    }
)
"""States in which a held store's gate may be overridden."""
RELEASE_PUBLISHES = frozenset(
    {PromotionState.PUBLISHING, PromotionState.SCHEDULED, PromotionState.LIVE}
)
"""States in which an overridden store is published at once (before: with the others)."""

TERMINAL_STATES = frozenset(
    {PromotionState.ENDED, PromotionState.REJECTED, PromotionState.CANCELLED, PromotionState.FAILED}
)


class ChannelStatus(BaseModel):
    channel: str
    state: Literal["PENDING", "SENT", "CONFIRMED", "FAILED", "RETRACTED", "REVERTED"] = "PENDING"
    version: int = 0
    targets: int = 0
    confirmed: int = 0
    failed: int = 0
    reconciled_by_readback: int = 0
    republished: int = 0
    duplicate_acks_dropped: int = 0
    detail: str = ""


class StoreStatus(BaseModel):
    store_id: str
    store_class: str
    region: str
    timezone: str
    price_zone: str = ""
    price_set: int | None = None
    """Index of the store's prices in `PromotionStatus.price_sets` (one price per item)."""
    gate: StoreGateState = StoreGateState.NOT_READY
    coverage: Decimal | None = None
    threshold: Decimal | None = None
    published: bool = False
    overridden_by: str | None = None
    note: str = ""


class TaskStatus(BaseModel):
    task_id: str
    store_id: str
    kind: str
    due_at: AwareDatetime
    state: Literal["OPEN", "DONE", "LATE", "CANCELLED"] = "OPEN"


class FundingStatus(BaseModel):
    deal_id: str | None = None
    deal_type: str | None = None
    funding_per_unit: Decimal = Decimal(0)
    accrual_id: str | None = None
    accrued: Decimal = Decimal(0)
    reversed: Decimal = Decimal(0)
    claim_id: str | None = None
    claimed: Decimal = Decimal(0)
    claim_capped: bool = False
    released: Decimal = Decimal(0)
    """What the end released of the accrual (accrued minus claimed)."""
    settled: bool = False
    """The accrual is closed in the ERP: settled at the end, or reversed by a rollback."""
    reconciliation: str = ""


class PromotionStatus(BaseModel):
    promotion_id: str
    name: str
    state: PromotionState
    waiting_for: str
    version: int
    offer: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    lines: list[PriceLine]
    """The chain's prices (the offer lines on the ERP's regular prices): what the chain-wide
    channels carry; each store's own are its price set's."""
    price_sets: list[str] = Field(default_factory=list)
    """Each price set in words (zone, group offers, stores, prices): a summary, not cells."""
    metrics: PlanMetrics | None
    tiers: list[str]
    approvals: list[RequiredApproval]
    awaiting_role: str | None
    channels: list[ChannelStatus]
    stores: list[StoreStatus]
    tasks: list[TaskStatus]
    """At most `TASKS_SHOWN` tasks, late and open ones first (see `task_counts`)."""
    task_counts: dict[str, int] = Field(default_factory=dict)
    stores_total: int | None = None
    """Set when `stores` lists only some of the launch's stores (a large launch's result):
    how many it has; `store_gates` counts them all by gate."""
    store_gates: dict[str, int] = Field(default_factory=dict)
    funding: FundingStatus
    rebalance: str
    monitor: str
    kpis: PromotionKpis | None
    reasons: list[str]
    audit: list[AuditEntry]

    def for_result(self, limit: int = STORES_IN_RESULT) -> PromotionStatus:
        """This status as a launch returns it: at most `limit` stores listed (held, not
        ready, overridden or unpublished first), every store counted."""
        if len(self.stores) <= limit:
            return self
        first = sorted(
            self.stores,
            key=lambda st: (
                (st.gate is StoreGateState.READY and not st.overridden_by) and st.published
            ),
        )
        return self.model_copy(
            update={
                "stores": first[:limit],
                "stores_total": len(self.stores),
                "store_gates": self.store_counts(),
            }
        )

    def store_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for store in self.stores:
            counts[store.gate.value] = counts.get(store.gate.value, 0) + 1
        return counts


class DecisionView(BaseModel):
    """What a person signs a decision over (`decision_view`): the parts of `status` a token's
    subject and role are built from, and the one store an override names. Its size does not
    grow with the launch's stores, so signing costs the same at 50 or 5,000 stores (`status`
    is a megabyte at 5,000)."""

    promotion_id: str
    version: int
    lines: list[PriceLine]
    metrics: PlanMetrics | None
    approvals: list[RequiredApproval]
    awaiting_role: str | None
    store: StoreStatus | None = None
    """The store asked for (an override's), None when none was asked or it is not in the
    launch."""


def final_words(final: PromotionState, reasons: list[str]) -> str:
    """How a launch that ended in `final` sums itself up (the last reasons, in words)."""
    if final is PromotionState.ENDED:
        return "ended: prices reverted, funding claimed, KPIs computed"
    if final is PromotionState.REJECTED:
        return "rejected: " + "; ".join(reasons[-3:])
    if final is PromotionState.CANCELLED:
        return "cancelled and rolled back"
    return "failed and rolled back: " + "; ".join(reasons[-2:])
