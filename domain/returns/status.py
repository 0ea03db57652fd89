"""The states of a return and what the `status` query answers (also the workflow's result)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.audit import AuditEntry
from domain.money import ZERO
from domain.returns.contract import InspectionResult
from domain.returns.disposition import Disposition, FollowUp
from domain.returns.eligibility import Decline
from domain.returns.fraud import FraudAssessment
from domain.returns.policy import Role
from domain.returns.refund import RefundQuote, TenderAllocation
from domain.returns.request import AwareDatetime, Channel, Money, ReasonCode


class ReturnState(StrEnum):
    REQUESTED = "REQUESTED"
    AUTHORIZED = "AUTHORIZED"
    DECLINED = "DECLINED"
    AWAITING_ITEM = "AWAITING_ITEM"
    EXPIRED = "EXPIRED"
    RECEIVED = "RECEIVED"
    INSPECTED = "INSPECTED"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    REJECTED = "REJECTED"
    REFUNDING = "REFUNDING"
    REFUNDED = "REFUNDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    CLOSED = "CLOSED"


TERMINAL_STATES = frozenset(
    {ReturnState.DECLINED, ReturnState.EXPIRED, ReturnState.REJECTED, ReturnState.CLOSED}
)

RECEIVING_STATES = frozenset(
    {ReturnState.REQUESTED, ReturnState.AUTHORIZED, ReturnState.AWAITING_ITEM}
)
"""States in which an `item_received` signal is taken (later ones are on the record only)."""


class LegState(StrEnum):
    PENDING = "PENDING"
    REFUNDED = "REFUNDED"
    FELL_BACK_TO_STORE_CREDIT = "FELL_BACK_TO_STORE_CREDIT"
    FAILED = "FAILED"


class TenderRefund(BaseModel):
    allocation: TenderAllocation
    state: LegState = LegState.PENDING
    refunded: Money = ZERO
    refund_id: str | None = None
    failure: str | None = None


APPROVED, REJECTED = "approved", "rejected"
"""`ApprovalRecord.decision` (and the audit trail's words for a decision)."""


class ApprovalRecord(BaseModel):
    decision: str
    approver: str
    role: Role
    note: str = ""
    at: AwareDatetime


class ReturnStatus(BaseModel):
    """What the `status` query answers: everything a UI or a script needs."""

    rma_id: str
    order_id: str
    state: ReturnState
    channel: Channel
    store_id: str | None
    customer: str = Field(description="masked e-mail: no personal data in plain text here")
    reason: ReasonCode
    declines: list[Decline] = []
    quote: RefundQuote | None = None
    fraud: FraudAssessment | None = None
    awaiting_role: list[Role] = []
    approval: ApprovalRecord | None = None
    escalated: bool = False
    item_deadline: AwareDatetime | None = None
    received_at: AwareDatetime | None = None
    receipt_id: str | None = None
    inspection: InspectionResult | None = None
    dispositions: dict[str, Disposition] = {}
    follow_ups: list[FollowUp] = []
    tenders: list[TenderRefund] = []
    expected_refund: Money | None = None
    refunded_total: Money = ZERO
    outcome: ReturnState | None = Field(
        default=None, description="REFUNDED or PARTIALLY_REFUNDED once the refund is done"
    )
    mismatch: Decimal = ZERO
    exception: str | None = None
    credit_memo_id: str | None = None
    refund_due_at: AwareDatetime | None = None
    refunded_at: AwareDatetime | None = None
    receipt_to_refund_seconds: float | None = None
    refund_sla_met: bool | None = None
    audit: list[AuditEntry] = []

    @property
    def closed(self) -> bool:
        return self.state in TERMINAL_STATES
