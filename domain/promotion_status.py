"""PromotionLaunch's messages and its `status`: what a UI, a script or a test reads.

Pure pydantic. The states follow DESIGN.md: DRAFT -> VALIDATING -> AWAITING_APPROVAL ->
APPROVED -> PREPARING -> PUBLISHING -> SCHEDULED -> LIVE -> ENDING -> ENDED, with the
exits REJECTED, CANCELLED and FAILED.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.promotion import (
    Offer,
    PlanMetrics,
    PromotionKpis,
    PromotionPlan,
    PromotionPolicy,
    RequiredApproval,
    StoreGateState,
)
from domain.publication.prices import PriceLine

WORKFLOW_TYPE = "PromotionLaunch"
TASKS_SHOWN = 200
"""Tasks listed one by one in `status` (thousands of stores would make it megabytes)."""


def workflow_id_for(promotion_id: str) -> str:
    return f"promotion-{promotion_id}"


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


TERMINAL_STATES = frozenset(
    {PromotionState.ENDED, PromotionState.REJECTED, PromotionState.CANCELLED, PromotionState.FAILED}
)


class LaunchInput(BaseModel):
    """What `promotion launch FILE` starts the workflow with: the plan and the policy."""

    plan: PromotionPlan
    policy: PromotionPolicy
    launched_by: str = ""


# --------------------------------------------------------------------------- messages


class Decision(BaseModel):
    """`approve` / `reject` update (and the `approval` signal) payload."""

    model_config = ConfigDict(extra="forbid")

    approver: str = Field(min_length=1)
    role: str | None = None
    comment: str = ""


class SignalledDecision(Decision):
    """The `approval` signal: the same decision, with approve or reject spelled out."""

    approve: bool = True


class PriceChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requested_by: str = Field(min_length=1)
    offer: Offer
    reason: str = Field(min_length=1)


class GateOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approver: str = Field(min_length=1)
    store_id: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    role: str | None = None


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requested_by: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    role: str | None = None


class TaskDone(BaseModel):
    """`store_task_done` signal (the backoffice's task event, or any system that pushes)."""

    model_config = ConfigDict(extra="allow")

    event_id: str
    task_id: str
    status: Literal["completed", "cancelled"] = "completed"
    completed_by: str | None = None


class UpdateAnswer(BaseModel):
    """What every update returns: the state afterwards and a sentence."""

    state: PromotionState
    message: str


# --------------------------------------------------------------------------- status


class AuditEntry(BaseModel):
    at: AwareDatetime
    actor: str
    action: str
    detail: str = ""


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
    metrics: PlanMetrics | None
    tiers: list[str]
    approvals: list[RequiredApproval]
    awaiting_role: str | None
    channels: list[ChannelStatus]
    stores: list[StoreStatus]
    tasks: list[TaskStatus]
    """At most `TASKS_SHOWN` tasks, late and open ones first (see `task_counts`)."""
    task_counts: dict[str, int] = Field(default_factory=dict)
    funding: FundingStatus
    rebalance: str
    monitor: str
    kpis: PromotionKpis | None
    reasons: list[str]
    audit: list[AuditEntry]

    def store_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for store in self.stores:
            counts[store.gate.value] = counts.get(store.gate.value, 0) + 1
        return counts
