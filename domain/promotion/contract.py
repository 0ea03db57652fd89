"""The PromotionLaunch contract: its names, its messages, its activities and their options.

Workflow type `PromotionLaunch`, id `promotion-{promotion_id}` (a business key: a second
start is refused). Everything that talks to the workflow (the CLI, the ingress, tests,
benchmarks) and everything it calls takes names and payload types from here.

Messages: updates `approve`, `reject`, `change_price`, `override_gate`, `cancel` (each with a
validator); signals `approval` (the decision of a signal-only system; a refused one is
written to the audit trail) and `store_task_done`; queries `status` and `decision_view` (what
a decision is signed over, the same size at any number of stores).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter
from temporalio.common import VersioningBehavior

from domain.activity_options import (
    BACKOFFICE_RETRY,
    HEARTBEAT_TIMEOUT,
    MONEY_RETRY,
    PRIORITY_PROCESS,
    READ_RETRY,
    ActivitySpec,
)
from domain.promotion.gates import Position, StoreCoverage
from domain.promotion.plan import Offer, PlanFacts, PromotionPlan, StoreFacts
from domain.promotion.policy import PromotionPolicy
from domain.promotion.status import PromotionState, TaskStatus
from domain.publication.contract import Channel
from domain.publication.prices import PriceLine

WORKFLOW_TYPE = "PromotionLaunch"

PRIORITY = PRIORITY_PROCESS
"""The launch's own steps: behind refunds and publication, ahead of monitoring and
rebalancing (`domain.activity_options`, "Priority")."""

VERSIONING = VersioningBehavior.AUTO_UPGRADE
"""A launch lives for weeks (approval to end of the live window): pinned, every build would
have to run that long. It moves to the current build at its next task instead, so a change
to its code goes behind `workflow.patched`, with recorded histories replaying (tests)."""

# updates
APPROVE = "approve"
REJECT = "reject"
CHANGE_PRICE = "change_price"
OVERRIDE_GATE = "override_gate"
CANCEL = "cancel"
# signals
APPROVAL = "approval"
STORE_TASK_DONE = "store_task_done"
# queries
STATUS = "status"
DECISION_VIEW = "decision_view"
"""What a decision is signed over (`domain.promotion.status.DecisionView`); argument: the
store id an override names, or ""."""

# refusal types of the updates' validators (`ApplicationError.type`, non-retryable)
DECISION_REFUSED = "decision_refused"
PRICE_CHANGE_REFUSED = "price_change_refused"
OVERRIDE_REFUSED = "override_refused"
CANCEL_REFUSED = "cancel_refused"


def workflow_id(promotion_id: str) -> str:
    """`promotion-{promotion_id}`: the business key of a launch."""
    return f"promotion-{promotion_id}"


def preposition_plan_id(promotion_id: str, round_: int) -> str:
    """The plan id of the InventoryRebalance child that pre-positions stock for a launch."""
    return f"{promotion_id}-preposition-{round_}"


COVERAGE_BATCH = 500
"""Stores per coverage read (one WMS call each, run side by side)."""
POSITIONS_PER_READ = 20_000
"""Stores x items one WMS read of a coverage summary asks for at most."""

TASK_BATCH = 1000
"""Stores per store-task activity (its tasks in bulk calls of 500): the result of one stays
far under the 512 KiB payload limit at any number of stores."""

TASK_CALLBACK_LIMIT = 100
"""Up to this many stores, each task completion is signalled back; above, the SLA check
reads task states in bulk (thousands of signals would bloat the history)."""

AUDITED_STORES = 20
"""Held stores named one by one in the audit trail; the rest are counted."""

LONG_READ = timedelta(minutes=5)
"""`start_to_close_timeout` of the calls that read or write thousands of stores; they
heartbeat (`HEARTBEAT_TIMEOUT`), so a worker killed mid-call is noticed in seconds."""
REBALANCE_WAIT_FLOOR = timedelta(seconds=1)
MONITOR_WRAP_UP = timedelta(hours=1)
"""How long the launch waits for its sell-through monitor to finish after the end."""


# --------------------------------------------------------------------------- messages


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
    token: str | None = None
    """The signed decision token (domain.identity): who, role, step, what they saw."""


class SignalledDecision(Decision):
    """The `approval` signal: the same decision, with approve or reject spelled out."""

    approve: bool = True


class PriceChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requested_by: str = Field(min_length=1)
    offer: Offer
    reason: str = Field(min_length=1)
    token: str | None = None
    """The signed decision token (domain.identity): who, role, step, what they saw."""


class GateOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approver: str = Field(min_length=1)
    store_id: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    role: str | None = None
    token: str | None = None
    """The signed decision token (domain.identity): who, role, step, what they saw."""


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requested_by: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    role: str | None = None
    token: str | None = None
    """The signed decision token (domain.identity): who, role, step, what they saw."""


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


# --------------------------------------------------------------------------- activity payloads


class LookupRequest(BaseModel):
    plan: PromotionPlan


class DealCheckInput(BaseModel):
    promotion_id: str
    deal_id: str
    item_ids: list[str]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    units_forecast: int = Field(ge=0)


class DealCheckResult(BaseModel):
    deal_id: str
    valid: bool
    reasons: list[str] = Field(default_factory=list)
    deal_type: str
    funding_per_unit: Decimal
    fundable_units: int
    fundable_amount: Decimal


class AccrueInput(BaseModel):
    promotion_id: str
    deal_id: str
    units: int = Field(ge=0)
    amount: Decimal = Field(ge=0)


class AccrualResult(BaseModel):
    accrual_id: str
    amount: Decimal
    status: str


class ReverseInput(BaseModel):
    promotion_id: str
    accrual_id: str
    reason: str


class SettleInput(BaseModel):
    promotion_id: str
    accrual_id: str
    reason: str


class SettlementResult(BaseModel):
    """The accrual closed at the end: `claimed` consumed by the claim, `released` freed."""

    accrual_id: str
    accrued: Decimal
    claimed: Decimal
    released: Decimal
    status: Literal["SETTLED", "REVERSED"]


class ClaimInput(BaseModel):
    promotion_id: str
    deal_id: str
    units: int = Field(ge=0)


class ClaimResult(BaseModel):
    claim_id: str
    amount: Decimal
    capped: bool
    accrued_amount: Decimal
    reversed_amount: Decimal = Decimal(0)


class CoverageInput(BaseModel):
    store_ids: list[str]
    item_ids: list[str]


class CoverageResult(BaseModel):
    positions: list[Position]


class StoreCoverageInput(BaseModel):
    """Judge the inventory gate of a batch of stores where the stock is (the activity reads
    it and returns one summary a store: a weekly ad's stores x items never cross history)."""

    plan: PromotionPlan
    policy: PromotionPolicy
    stores: list[StoreFacts]


class StoreCoverageResult(BaseModel):
    coverage: list[StoreCoverage]


class CreateTasksInput(BaseModel):
    promotion_id: str
    store_ids: list[str]
    kind: Literal["signage", "labor"]
    description: str
    due_at: AwareDatetime
    callback_workflow_id: str | None = None
    grouped: bool = False
    """Answer in `TasksResult.groups` (tasks alike but for their store together). Runs
    built before groups do not ask, and read `tasks`."""


class TaskGroup(BaseModel):
    """Neighbouring tasks alike but for their store: one kind, due time and state."""

    kind: str
    due_at: AwareDatetime
    state: Literal["OPEN", "DONE", "LATE", "CANCELLED"] = "OPEN"
    task_ids: list[str]
    store_ids: list[str]


class TasksResult(BaseModel):
    tasks: list[TaskStatus] = Field(default_factory=list)
    """One entry a task (results recorded before groups, and callers not asking for them)."""
    groups: list[TaskGroup] = Field(default_factory=list)
    """The tasks grouped (`CreateTasksInput.grouped`): 10,000 tasks of 5,000 stores cross
    history as a few groups, not 10,000 entries to decode in the workflow."""

    @classmethod
    def of(cls, tasks: list[TaskStatus], *, grouped: bool) -> TasksResult:
        if not grouped:
            return cls(tasks=tasks)
        return cls.from_rows((t.task_id, t.store_id, t.kind, t.due_at, t.state) for t in tasks)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str, datetime, str]]) -> TasksResult:
        """Grouped from (task id, store id, kind, due at, state) rows: neighbours alike but
        for their store in one group, without a model per task."""
        groups: list[TaskGroup] = []
        key: tuple[str, datetime, str] | None = None
        for task_id, store_id, kind, due_at, state in rows:
            if key != (kind, due_at, state):
                key = (kind, due_at, state)
                group = {"kind": kind, "due_at": due_at, "state": state}
                groups.append(TaskGroup.model_validate({**group, "task_ids": [], "store_ids": []}))
            groups[-1].task_ids.append(task_id)
            groups[-1].store_ids.append(store_id)
        return cls(groups=groups)

    def all_tasks(self) -> list[TaskStatus]:
        """Every task, in the order the activity answered them."""
        return self.tasks + _TASKS.validate_python(
            [
                {
                    "task_id": task_id,
                    "store_id": store_id,
                    "kind": g.kind,
                    "due_at": g.due_at,
                    "state": g.state,
                }
                for g in self.groups
                for task_id, store_id in zip(g.task_ids, g.store_ids, strict=True)
            ]
        )


_TASKS = TypeAdapter(list[TaskStatus])
"""Tasks out of their groups, validated as one list (one call into pydantic)."""


class TaskStatesInput(BaseModel):
    promotion_id: str


class CancelTasksInput(BaseModel):
    promotion_id: str
    reason: str


class CancelTasksResult(BaseModel):
    cancelled: int


class AlertInput(BaseModel):
    promotion_id: str
    severity: Literal["info", "warning", "critical"]
    audience: str
    message: str


class ActualsInput(BaseModel):
    promotion_id: str
    item_ids: list[str]
    store_ids: list[str]
    since: datetime
    until: datetime


class ActualsResult(BaseModel):
    units_by_item: dict[str, int]
    revenue: Decimal
    stores_stocked_out: list[str]


class VerifyInput(BaseModel):
    promotion_id: str
    channel: Channel
    store_ids: list[str]
    lines: list[PriceLine]
    expect: Literal["regular", "promo"]


class VerifyResult(BaseModel):
    channel: Channel
    checked: int
    mismatches: list[str]


# --------------------------------------------------------------------------- activities

LOOKUP_FACTS = ActivitySpec(
    "promotion_lookup_facts",
    LookupRequest,
    PlanFacts,
    READ_RETRY,
    start_to_close=LONG_READ,
    heartbeat=HEARTBEAT_TIMEOUT,
    priority=PRIORITY,
)
"""Items, stores (groups resolved), overlapping promotions and the deal, from ERP."""
CHECK_DEAL = ActivitySpec(
    "promotion_check_deal",
    DealCheckInput,
    DealCheckResult,
    READ_RETRY,
    heartbeat=HEARTBEAT_TIMEOUT,
    priority=PRIORITY,
)
"""The vendor deal valid for these items, window and units (ERP)."""
ACCRUE_FUNDING = ActivitySpec(
    "promotion_accrue_funding",
    AccrueInput,
    AccrualResult,
    MONEY_RETRY,
    heartbeat=HEARTBEAT_TIMEOUT,
    priority=PRIORITY,
)
"""Accrue vendor funding at launch (ERP; idempotent per promotion)."""
REVERSE_ACCRUAL = ActivitySpec(
    "promotion_reverse_accrual",
    ReverseInput,
    AccrualResult,
    MONEY_RETRY,
    heartbeat=HEARTBEAT_TIMEOUT,
    priority=PRIORITY,
)
"""Reverse the accrual in a rollback (ERP)."""
CLAIM_FUNDING = ActivitySpec(
    "promotion_claim_funding", ClaimInput, ClaimResult, MONEY_RETRY, priority=PRIORITY
)
"""Claim vendor funding on actual units at the end (ERP)."""
SETTLE_ACCRUAL = ActivitySpec(
    "promotion_settle_accrual", SettleInput, SettlementResult, MONEY_RETRY, priority=PRIORITY
)
"""Close the accrual against the claim at the end, releasing what was not claimed (ERP)."""
READ_COVERAGE = ActivitySpec(
    "promotion_read_coverage",
    CoverageInput,
    CoverageResult,
    READ_RETRY,
    start_to_close=LONG_READ,
    heartbeat=HEARTBEAT_TIMEOUT,
    priority=PRIORITY,
)
"""Stock positions (on hand, in transit) of a batch of stores (WMS); runs recorded before
`STORE_COVERAGE` replay with it."""
STORE_COVERAGE = ActivitySpec(
    "promotion_store_coverage",
    StoreCoverageInput,
    StoreCoverageResult,
    READ_RETRY,
    start_to_close=LONG_READ,
    heartbeat=HEARTBEAT_TIMEOUT,
    priority=PRIORITY,
)
"""Coverage of a batch of stores against the policy, judged beside the WMS read (one summary
a store, the worst short items named)."""
CREATE_TASKS = ActivitySpec(
    "promotion_create_tasks",
    CreateTasksInput,
    TasksResult,
    BACKOFFICE_RETRY,
    start_to_close=LONG_READ,
    heartbeat=HEARTBEAT_TIMEOUT,
    priority=PRIORITY,
)
"""Signage and labor tasks in the stores, with their SLA (store tasks)."""
TASK_STATES = ActivitySpec(
    "promotion_task_states", TaskStatesInput, TasksResult, READ_RETRY, priority=PRIORITY
)
"""The states of the promotion's store tasks (store tasks)."""
CANCEL_TASKS = ActivitySpec(
    "promotion_cancel_tasks",
    CancelTasksInput,
    CancelTasksResult,
    BACKOFFICE_RETRY,
    start_to_close=LONG_READ,
    heartbeat=HEARTBEAT_TIMEOUT,
    priority=PRIORITY,
)
"""Cancel the promotion's open store tasks (store tasks)."""
ALERT: ActivitySpec[None] = ActivitySpec(
    "promotion_alert", AlertInput, None, BACKOFFICE_RETRY, priority=PRIORITY
)
"""Alert a role (reminders, escalations, missed SLAs, failed verification)."""
READ_ACTUALS = ActivitySpec(
    "promotion_read_actuals",
    ActualsInput,
    ActualsResult,
    READ_RETRY,
    start_to_close=LONG_READ,
    heartbeat=HEARTBEAT_TIMEOUT,
    priority=PRIORITY,
)
"""Units sold per item in the live stores during the window (POS)."""
VERIFY_PRICES = ActivitySpec(
    "promotion_verify_prices",
    VerifyInput,
    VerifyResult,
    READ_RETRY,
    start_to_close=LONG_READ,
    heartbeat=HEARTBEAT_TIMEOUT,
    priority=PRIORITY,
)
"""Read a channel back: regular (after the end) or promotional prices expected."""
