"""The states of a rebalancing plan and of its transfers, and the `status` query's model."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from domain.audit import AuditEntry
from domain.rebalance.plan import RebalancePlan
from domain.rebalance.screening import ExcludedPosition


class RebalanceState(StrEnum):
    PLANNING = "PLANNING"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    RELEASING = "RELEASING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_VARIANCES = "COMPLETED_WITH_VARIANCES"
    NOTHING_TO_MOVE = "NOTHING_TO_MOVE"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    """The run failed (a refused plan, a WMS or ERP refusal): the audit says why."""


CLOSED_STATES = frozenset(
    {
        RebalanceState.FAILED,
        RebalanceState.COMPLETED,
        RebalanceState.COMPLETED_WITH_VARIANCES,
        RebalanceState.NOTHING_TO_MOVE,
        RebalanceState.REJECTED,
        RebalanceState.CANCELLED,
    }
)


class TransferState(StrEnum):
    PLANNED = "PLANNED"
    APPROVED = "APPROVED"
    RELEASED = "RELEASED"
    PICKED = "PICKED"
    SHIPPED = "SHIPPED"
    RECEIVED = "RECEIVED"
    PARTIALLY_RECEIVED = "PARTIALLY_RECEIVED"
    LOST = "LOST"
    CANCELLED = "CANCELLED"
    CLOSED = "CLOSED"


TERMINAL_TRANSFER_STATES = frozenset(
    {
        TransferState.RECEIVED,
        TransferState.PARTIALLY_RECEIVED,
        TransferState.LOST,
        TransferState.CANCELLED,
        TransferState.CLOSED,
    }
)

PROGRESS_ORDER = (
    TransferState.PLANNED,
    TransferState.APPROVED,
    TransferState.RELEASED,
    TransferState.PICKED,
    TransferState.SHIPPED,
)
"""The states a transfer moves through before its outcome; it never moves back."""

NOT_SHIPPED = frozenset(
    {TransferState.PLANNED, TransferState.APPROVED, TransferState.RELEASED, TransferState.PICKED}
)
"""What a cancel can still stop in the WMS."""


class Variance(BaseModel):
    transfer_id: str
    kind: Literal["SHORT", "OVER", "LOST"]
    units: int
    claim_id: str | None = None
    detail: str


class Transfer(BaseModel):
    transfer_id: str
    source_id: str
    dest_id: str
    item_id: str
    units_planned: int
    state: TransferState = TransferState.PLANNED
    units_picked: int | None = None
    units_shipped: int | None = None
    units_received: int | None = None
    shipped_at: datetime | None = None
    received_at: datetime | None = None
    arrives_by: datetime
    wms_transfer_ref: str | None = None
    note: str | None = None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_TRANSFER_STATES


class ApprovalRecord(BaseModel):
    role: str
    approver: str
    approve: bool
    at: datetime
    comment: str | None = None


class RebalanceStatus(BaseModel):
    plan_id: str
    state: RebalanceState
    reason: str
    parent_promotion_id: str | None
    need_by: datetime
    awaiting_roles: list[str]
    approval_reasons: list[str]
    approvals: list[ApprovalRecord]
    plan: RebalancePlan | None
    transfers: list[Transfer]
    variances: list[Variance]
    excluded: list[ExcludedPosition]
    escalated: bool
    audit: list[AuditEntry]
    unreadable_signals: list[str] = Field(default_factory=list)
    """`wms_event` signals the run could not read (event id and why): never dropped in
    silence; `RetailProblem` is set too."""


def progress_words(transfers: list[Transfer], *, escalated: bool) -> str:
    """`following 2 open transfer(s): 1 received, 2 shipped` (the UI's current details)."""
    counts: dict[str, int] = {}
    for transfer in transfers:
        counts[transfer.state.value] = counts.get(transfer.state.value, 0) + 1
    open_count = sum(1 for t in transfers if not t.terminal)
    summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    tail = " (need-by missed, escalated)" if escalated else ""
    return f"following {open_count} open transfer(s): {summary}{tail}"
