"""The `InventoryRebalance` contract: names, id, messages, input/output and its activities.

Workflow, activities, CLI, tests and benchmarks take every name from here. The values are
the ones recorded in tests/histories/inventory_rebalance.json: never rename them.

| name | kind | payload |
|---|---|---|
| `InventoryRebalance` (id `rebalance-{plan_id}`) | workflow | `RebalanceRequest` -> `RebalanceResult` |
| `approve` | update | `ApprovalDecision` -> `RebalanceStatus` |
| `cancel` | update | `CancelRequest` -> `CancelReport` |
| `approval` | signal | `ApprovalDecision` (the same checks; a refusal is audited) |
| `wms_event` | signal | `WmsEvent` |
| `status` | query | `RebalanceStatus` |
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from temporalio.common import RetryPolicy, VersioningBehavior
from temporalio.workflow import ActivityCancellationType

from domain.activity_options import PRIORITY_BACKGROUND, ActivitySpec
from domain.rebalance.estate import Estate, aware_utc
from domain.rebalance.policy import RebalancePolicy
from domain.rebalance.screening import ExcludedPosition, ExclusionReason
from domain.rebalance.status import RebalanceState, Variance

WORKFLOW_TYPE = "InventoryRebalance"

PRIORITY = PRIORITY_BACKGROUND
"""Transfers have hours or days of slack: after every other process on the queue
(`domain.activity_options`, "Priority")."""

VERSIONING = VersioningBehavior.AUTO_UPGRADE
"""Transfers are followed for days, to receipt: like the launch it is a child of, it moves to
the current build at its next task (changes behind `workflow.patched`)."""

APPROVE = "approve"
CANCEL = "cancel"
APPROVAL = "approval"
WMS_EVENT = "wms_event"
STATUS = "status"

WORKFLOW_ID_PREFIX = "rebalance-"

MAX_SCOPE_PAIRS = 20_000
"""Largest stores x items one workflow plans; larger scopes are split (payload size)."""


def workflow_id(plan_id: str) -> str:
    """The business key: one workflow per plan, a second start is refused."""
    return f"{WORKFLOW_ID_PREFIX}{plan_id}"


# --------------------------------------------------------------------------- the request


class RebalanceScope(BaseModel):
    stores: list[str] = Field(min_length=1)
    items: list[str] = Field(min_length=1)

    @field_validator("stores", "items")
    @classmethod
    def _no_blank_or_duplicate(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("contains an empty id")
        if len(set(values)) != len(values):
            dupes = sorted({v for v in values if values.count(v) > 1})
            raise ValueError(f"lists the same id twice: {', '.join(dupes)}")
        return values

    @model_validator(mode="after")
    def _not_too_large(self) -> RebalanceScope:
        pairs = len(self.stores) * len(self.items)
        if pairs > MAX_SCOPE_PAIRS:
            raise ValueError(
                f"{pairs} store/item pairs is more than one plan handles ({MAX_SCOPE_PAIRS}); "
                "split the scope by region or item group"
            )
        return self


class DemandOverride(BaseModel):
    store_id: str
    item_id: str
    units: int = Field(ge=0)


class RebalanceRequest(BaseModel):
    plan_id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    reason: Literal["promotion_preposition", "periodic", "manual"]
    scope: RebalanceScope
    need_by: datetime
    policy: RebalancePolicy
    demand_override: list[DemandOverride] = Field(default_factory=list)
    parent_promotion_id: str | None = None
    requested_by: str | None = None
    wms_progress: Literal["auto", "manual"] | None = Field(
        default=None, description="WMS pacing for drills and tests; None keeps the WMS default"
    )

    _utc_need_by = field_validator("need_by")(aware_utc)

    @model_validator(mode="after")
    def _overrides_in_scope(self) -> RebalanceRequest:
        stores, items = set(self.scope.stores), set(self.scope.items)
        outside = [
            f"{o.store_id}/{o.item_id}"
            for o in self.demand_override
            if o.store_id not in stores or o.item_id not in items
        ]
        if outside:
            raise ValueError(f"demand override outside the scope: {', '.join(outside[:5])}")
        return self


# --------------------------------------------------------------------------- messages


class ApprovalDecision(BaseModel):
    """`approve` update / `approval` signal: approve (or, approve=false, reject) a plan."""

    approver: str = Field(min_length=1)
    role: str = Field(min_length=1)
    approve: bool = True
    comment: str | None = None
    token: str | None = Field(
        default=None,
        description="the signed decision (domain.identity); required unless the policy "
        "accepts unsigned decisions",
    )


class CancelRequest(BaseModel):
    requested_by: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    role: str | None = Field(default=None, description="the role cancelling (in the token)")
    token: str | None = Field(default=None, description="the signed cancel (domain.identity)")


class CancelReport(BaseModel):
    cancelled: list[str]
    already_moving: list[str]
    finished: list[str]


class EventLine(BaseModel):
    item_id: str
    quantity: int = Field(ge=0)


class WmsEvent(BaseModel):
    """What the WMS says about a transfer: picked, shipped or received, with quantities.

    Same shape as the backoffice ingress sends (extra fields such as `kind`, `source_id`
    are ignored), so a `wms_event` signal from the WMS and one from a person or a test
    read alike.
    """

    event_id: str = Field(min_length=1)
    transfer_id: str = Field(min_length=1)
    step: Literal["picked", "shipped", "received"]
    lines: list[EventLine] = Field(default_factory=list)
    occurred_at: datetime | None = None

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


# --------------------------------------------------------------------------- the result


class StoreItemOutcome(BaseModel):
    store_id: str
    item_id: str
    demand: int
    coverage: Decimal
    units_planned: int
    units_received: int
    unmet_demand: int
    excluded_reason: ExclusionReason | None = None


class RebalanceResult(BaseModel):
    plan_id: str
    state: RebalanceState
    outcomes: list[StoreItemOutcome]
    variances: list[Variance]
    excluded: list[ExcludedPosition]
    total_cost: Decimal
    units_planned: int
    units_received: int
    unmet_demand_before: int
    unmet_demand_after: int

    def coverage_for(self, store_id: str) -> Decimal:
        """The lowest coverage of a store across the items in scope (for a parent's gate)."""
        values = [o.coverage for o in self.outcomes if o.store_id == store_id]
        return min(values) if values else Decimal(0)


# --------------------------------------------------------------------------- activity payloads


class EstateQuery(BaseModel):
    plan_id: str
    stores: list[str]
    items: list[str]
    planned_at: datetime
    need_by: datetime
    read_demand: bool = True
    sales_history: timedelta = timedelta(days=28)


class TransferOrder(BaseModel):
    transfer_id: str
    source_id: str
    dest_id: str
    item_id: str
    units: int


class ReleaseBatch(BaseModel):
    plan_id: str
    workflow_id: str
    signal: str = WMS_EVENT
    transfers: list[TransferOrder]
    progress: Literal["auto", "manual"] | None = None


class ReleasedTransfer(BaseModel):
    transfer_id: str
    wms_status: str


class CancelBatch(BaseModel):
    plan_id: str
    transfer_ids: list[str]
    reason: str


class CancelOutcome(BaseModel):
    transfer_id: str
    cancelled: bool
    wms_status: str
    detail: str = ""


class TransferReadBack(BaseModel):
    transfer_id: str
    wms_status: str
    picked: int
    shipped: int
    received: int


class ClaimInput(BaseModel):
    plan_id: str
    transfer_id: str
    kind: Literal["short", "over", "lost"]
    item_id: str
    units: int
    reason: str


class ClaimFiled(BaseModel):
    claim_id: str
    amount: Decimal


# --------------------------------------------------------------------------- activities

# Process-specific policies (the values the workflow used before the house policies in
# domain.activity_options existed; keeping them keeps its behaviour): retries bounded by
# attempts, not by a schedule-to-close deadline. Reads give up after 8 attempts and treat
# an unknown store or item as final (the estate read refuses with those types); writes give
# up after 20 (about 15 minutes of retries at the 1-minute cap), each with its idempotency key.
READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
    non_retryable_error_types=["unknown_store", "unknown_item", "invalid_input", "not_found"],
)
WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=20,
    non_retryable_error_types=["invalid_input", "idempotency_conflict", "not_found"],
)
BATCH_TIMEOUT = timedelta(minutes=2)
BATCH_HEARTBEAT = timedelta(seconds=30)
ONE_CALL_TIMEOUT = timedelta(seconds=30)

READ_ESTATE = ActivitySpec(
    "rebalance_read_estate",
    EstateQuery,
    Estate,
    READ_RETRY,
    start_to_close=BATCH_TIMEOUT,
    schedule_to_close=None,
    priority=PRIORITY,
)
"""Stores, DCs, items, positions (WMS) and demand from POS sales: the planner's input."""

RELEASE_TRANSFERS = ActivitySpec(
    "rebalance_release_transfers",
    ReleaseBatch,
    list[ReleasedTransfer],
    WRITE_RETRY,
    start_to_close=BATCH_TIMEOUT,
    schedule_to_close=None,
    heartbeat=BATCH_HEARTBEAT,
    cancellation=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    priority=PRIORITY,
)
"""Create and release up to `RELEASE_BATCH` transfer orders in the WMS (heartbeats). A
workflow cancellation waits until it has stopped: the compensation must see every transfer
it created."""

CANCEL_TRANSFERS = ActivitySpec(
    "rebalance_cancel_transfers",
    CancelBatch,
    list[CancelOutcome],
    WRITE_RETRY,
    start_to_close=BATCH_TIMEOUT,
    schedule_to_close=None,
    heartbeat=BATCH_HEARTBEAT,
    priority=PRIORITY,
)
"""Cancel what has not shipped; a shipped transfer is reported, not an error."""

READ_TRANSFER = ActivitySpec(
    "rebalance_read_transfer",
    str,
    TransferReadBack,
    READ_RETRY,
    start_to_close=ONE_CALL_TIMEOUT,
    schedule_to_close=None,
    priority=PRIORITY,
)
"""Read one transfer back from the WMS (aging checks)."""

FILE_CLAIM = ActivitySpec(
    "rebalance_file_claim",
    ClaimInput,
    ClaimFiled,
    WRITE_RETRY,
    start_to_close=ONE_CALL_TIMEOUT,
    schedule_to_close=None,
    priority=PRIORITY,
)
"""An ERP transfer claim for a short, over or lost transfer, valued at item cost."""

RELEASE_BATCH = 50
"""Transfer orders per release call."""
