"""The `ReturnToRefund` contract: names, id, messages and activities, in one place.

Workflow type `ReturnToRefund`, id `return-{rma_id}`, task queue `retail-ops`. It starts
with `ReturnInput` and answers (its result and its `status` query) with
`domain.returns.status.ReturnStatus`.

Messages: signals `item_received` (`ItemReceived`), `inspection_result`
(`InspectionResult`) and `approval` (`ApprovalSignal`, for senders that can only signal);
updates `approve` and `reject` (`Decision`); query `status`.

Activities: one `ActivitySpec` each below, with its payload models, timeouts and retries.
The values of every name here are recorded in histories: never rename one.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import RetryPolicy, VersioningBehavior

from domain.activity_options import (
    CALL_TIMEOUT,
    MONEY_RETRY,
    NON_RETRYABLE_TYPES,
    PRIORITY_URGENT,
    READ_RETRY,
    ActivitySpec,
)
from domain.returns.disposition import Condition, Disposition, FollowUp
from domain.returns.policy import DEFAULT_POLICY, ReturnPolicy, Role
from domain.returns.refund import TenderAllocation
from domain.returns.request import (
    AwareDatetime,
    Channel,
    Customer,
    Money,
    OrderRecord,
    ReasonCode,
    ReturnLineRequest,
    ReturnRequest,
    TenderType,
)

WORKFLOW_TYPE = "ReturnToRefund"

PRIORITY = PRIORITY_URGENT
"""A customer waits for the refund: every activity of a return goes ahead of the rest of the
queue (`domain.activity_options`, "Priority")."""

VERSIONING = VersioningBehavior.PINNED
"""A refund saga finishes on the build it started on (README, "Safe upgrades"): the legs, the
store-credit fallback and the memo are run by the code that planned them, whatever was
deployed since. Its worker version drains when its last return closes."""
RETAIL_KIND = "return"
"""The `RetailKind` search attribute of every return (`return list` filters on it)."""

ITEM_RECEIVED = "item_received"
INSPECTION_RESULT = "inspection_result"
APPROVAL = "approval"
APPROVE = "approve"
REJECT = "reject"
STATUS = "status"

WORKFLOW_ID_PREFIX = "return-"


def workflow_id(rma_id: str) -> str:
    """The business key: one workflow per RMA, a duplicate start is refused."""
    return f"{WORKFLOW_ID_PREFIX}{rma_id}"


# ----------------------------------------------------------------------------- workflow I/O


class ReturnInput(BaseModel):
    """What `ReturnToRefund` starts with: the request and the policy in force."""

    request: ReturnRequest
    policy: ReturnPolicy = DEFAULT_POLICY


# ----------------------------------------------------------------------------- messages


class ItemReceived(BaseModel):
    """`item_received` signal: a store scan or a warehouse receipt."""

    model_config = ConfigDict(extra="forbid")

    event_id: str | None = None
    """The ingress's delivery id when a system pushes the receipt (duplicates are dropped
    by `receipt_id`)."""
    receipt_id: str = Field(min_length=1)
    source: str = Field(default="store_scan", pattern="^(store_scan|warehouse_receipt)$")
    location: str = ""
    received_by: str = ""


class InspectionResult(BaseModel):
    """`inspection_result` signal: condition, and an optional disposition override."""

    model_config = ConfigDict(extra="forbid")

    event_id: str | None = None
    """The ingress's delivery id when a system pushes the result."""
    inspector: str = Field(min_length=1)
    condition: Condition
    disposition: Disposition | None = None
    notes: str = ""


class Decision(BaseModel):
    """`approve` / `reject` update payload."""

    model_config = ConfigDict(extra="forbid")

    approver: str = Field(min_length=1)
    role: Role
    note: str = ""
    token: str | None = None
    """The signed decision (domain.identity); required unless the policy accepts unsigned."""


class ApprovalSignal(Decision):
    """`approval` signal: the same decision from a system that can only signal."""

    verdict: str = Field(pattern=f"^({APPROVE}|{REJECT})$")

    def decision(self) -> Decision:
        return Decision(approver=self.approver, role=self.role, note=self.note, token=self.token)

    @property
    def approves(self) -> bool:
        return self.verdict == APPROVE


# ----------------------------------------------------------------------------- activity payloads


class OrderLookup(BaseModel):
    rma_id: str
    order_id: str
    channel: Channel


class OrderFound(BaseModel):
    """The receipt lookup's answer: the order, or why there is none."""

    order: OrderRecord | None = None
    problem: str = ""


class FraudQuery(BaseModel):
    rma_id: str
    customer_id: str
    value: Money
    has_receipt: bool
    days_since_purchase: int
    reason: ReasonCode
    item_count: int


class FraudScoreResult(BaseModel):
    score: int
    reasons: list[str] = []
    model_version: str = ""


class NotificationKind(StrEnum):
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    EXPIRED = "expired"
    REJECTED = "rejected"
    STORE_CREDIT_FALLBACK = "store_credit_fallback"
    REFUNDED = "refunded"


class CustomerNotice(BaseModel):
    rma_id: str
    store_id: str | None
    customer: Customer
    kind: NotificationKind
    message: str
    idempotency_key: str


class RefundLeg(BaseModel):
    rma_id: str
    order_id: str
    allocation: TenderAllocation
    reason: str = ""
    lines: list[ReturnLineRequest] = Field(default_factory=list)
    """What the return takes back: the POS records it against the order lines (once per
    RMA, whatever the number of legs), so a later return sees it as already returned."""


class LegResult(BaseModel):
    refund_id: str
    amount: Money
    method: TenderType
    store_credit_id: str | None = None


class FollowUpOrder(BaseModel):
    rma_id: str
    location_id: str
    follow_up: FollowUp
    idempotency_key: str


class CreditMemo(BaseModel):
    rma_id: str
    order_id: str
    customer_id: str
    amount: Money
    restocking_fee: Money
    idempotency_key: str


class ReturnException(BaseModel):
    """Something a person must look at (refund mismatch, approval past its SLA)."""

    rma_id: str
    store_id: str | None
    kind: str
    message: str
    due_at: AwareDatetime
    idempotency_key: str


# ----------------------------------------------------------------------------- activities

NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)
"""Customer notices: patient (a messaging outage of some minutes), but bounded: a notice
that cannot be sent never blocks the money; the workflow records it and goes on."""

LOOKUP_ORDER = ActivitySpec(
    "returns.lookup_order", OrderLookup, OrderFound, READ_RETRY, priority=PRIORITY
)
"""The receipt lookup: the order with its lines (category, vendor, cost) and tenders."""

SCORE_FRAUD = ActivitySpec(
    "returns.score_fraud", FraudQuery, FraudScoreResult, READ_RETRY, priority=PRIORITY
)

# Money, postings, stock and exceptions for people: every call carries an idempotency key,
# so retrying is safe and an outage only delays the return (MONEY_RETRY, and no deadline:
# a deadline would turn an outage into a store-credit fallback). A refusal is never
# retried: it is "failed for good" (a declined tender falls back to store credit).
REFUND_TENDER = ActivitySpec(
    "returns.refund_tender",
    RefundLeg,
    LegResult,
    MONEY_RETRY,
    schedule_to_close=None,
    priority=PRIORITY,
)
POST_CREDIT_MEMO = ActivitySpec(
    "returns.post_credit_memo",
    CreditMemo,
    str,
    MONEY_RETRY,
    schedule_to_close=None,
    priority=PRIORITY,
)
FOLLOW_UP = ActivitySpec(
    "returns.follow_up", FollowUpOrder, str, MONEY_RETRY, schedule_to_close=None, priority=PRIORITY
)
"""A disposition's follow-up: restock in the WMS, vendor claim or write-off in the ERP."""
OPEN_EXCEPTION = ActivitySpec(
    "returns.open_exception",
    ReturnException,
    str,
    MONEY_RETRY,
    schedule_to_close=None,
    priority=PRIORITY,
)
"""An exception for a person (refund mismatch, approval overdue): a store task."""

NOTIFY_CUSTOMER = ActivitySpec(
    "returns.notify_customer",
    CustomerNotice,
    str,
    NOTIFY_RETRY,
    start_to_close=CALL_TIMEOUT,
    schedule_to_close=None,
    priority=PRIORITY,
)


# ----------------------------------------------------------------------------- idempotency keys


def notice_key(rma_id: str, kind: NotificationKind, about: str = "") -> str:
    """One notice per kind (and per tender with `about`): `notify-{rma}-{kind}[-{about}]`."""
    suffix = f"-{about}" if about else ""
    return f"notify-{rma_id}-{kind.value}{suffix}"


def follow_up_key(rma_id: str, n: int, follow: FollowUp) -> str:
    return f"followup-{rma_id}-{n}-{follow.kind.value}"


def exception_key(rma_id: str, kind: str) -> str:
    return f"exception-{rma_id}-{kind}"


def credit_memo_key(rma_id: str) -> str:
    return f"credit-memo-{rma_id}"
