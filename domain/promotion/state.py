"""The whole state of one PromotionLaunch run, as one model.

The workflow keeps exactly this (plus the handles of its children, which are not data);
`status()` is a view of it. Pure pydantic: phases and handlers change it, and the rules
in the sibling modules judge it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from domain.audit import AuditEntry
from domain.promotion.approvals import RequiredApproval, current_approval
from domain.promotion.contract import CancelRequest, LaunchInput, TaskDone
from domain.promotion.gates import StoreGateState
from domain.promotion.kpis import PromotionKpis
from domain.promotion.plan import PlanFacts, PlanMetrics, PromotionPlan, VendorDeal
from domain.promotion.policy import PromotionPolicy
from domain.promotion.status import (
    TASKS_SHOWN,
    ChannelStatus,
    DecisionView,
    FundingStatus,
    PromotionState,
    PromotionStatus,
    StoreStatus,
    TaskStatus,
)
from domain.promotion.targeting import PriceSet
from domain.publication.prices import PriceLine


class ApprovedVersion(BaseModel):
    """The last fully approved version of the offer: what stays in force when a later price
    change is rejected."""

    plan: PromotionPlan
    version: int
    lines: list[PriceLine]
    metrics: PlanMetrics | None
    tiers: list[str]
    approvals: list[RequiredApproval]
    price_sets: list[PriceSet] = Field(default_factory=list)


class LaunchState(BaseModel):
    """Everything a launch knows; the workflow's only data attribute."""

    plan: PromotionPlan
    policy: PromotionPolicy
    launched_by: str
    state: PromotionState = PromotionState.DRAFT
    waiting_for: str = "starting"
    version: int = 1
    lines: list[PriceLine] = Field(default_factory=list)
    price_sets: list[PriceSet] = Field(default_factory=list)
    """Every store's prices by the one-price rule, stores with the same prices together
    (empty for runs recorded before store groups and zones: every store has `lines`)."""
    metrics: PlanMetrics | None = None
    tiers: list[str] = Field(default_factory=list)
    approvals: list[RequiredApproval] = Field(default_factory=list)
    approval_round: int = 1
    decisions: int = 0
    """Counts decisions (and escalations): the approval wait wakes when it moves."""
    facts: PlanFacts | None = None
    deal: VendorDeal | None = None
    stores: dict[str, StoreStatus] = Field(default_factory=dict)
    channels: dict[str, ChannelStatus] = Field(default_factory=dict)
    tasks: dict[str, TaskStatus] = Field(default_factory=dict)
    funding: FundingStatus = Field(default_factory=FundingStatus)
    rebalance: str = "not needed"
    monitor: str = "not started"
    kpis: PromotionKpis | None = None
    reasons: list[str] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)
    cancel: CancelRequest | None = None
    price_pending: bool = False
    """A price change accepted after approval, waiting to be applied by the main flow."""
    reapproval: list[str] = Field(default_factory=list)
    """Roles the pending price change re-opens."""
    release: list[str] = Field(default_factory=list)
    """Stores released by a gate override, waiting to be published."""
    seen_events: set[str] = Field(default_factory=set)
    tokens: set[str] = Field(default_factory=set)
    """Ids of the decision tokens already spent (a token decides once)."""
    published: dict[str, list[str]] = Field(default_factory=dict)
    """Targets confirmed per channel (in order)."""
    attempted: dict[str, list[str]] = Field(default_factory=dict)
    """Targets ever sent per channel (in order): what a rollback retracts."""
    targets_planned: int = 0
    targets_on_time: int = 0
    approved: ApprovedVersion | None = None
    """Set each time every required role has approved (the version in force)."""
    _span: tuple[Any, ...] | None = PrivateAttr(default=None)
    """(facts, plan, store count, first start, last end): `first_start` and `last_end` of
    the facts and plan in force, so thousands of stores are walked once, not at every
    call. Compared by identity: a new plan or facts (a price change, a restored version)
    is a new span."""

    @classmethod
    def start(cls, inp: LaunchInput) -> LaunchState:
        return cls(
            plan=inp.plan,
            policy=inp.policy,
            launched_by=inp.launched_by or inp.plan.submitted_by,
            channels={c.value: ChannelStatus(channel=c.value) for c in inp.plan.channels},
            funding=FundingStatus(deal_id=inp.plan.vendor_deal_id),
        )

    # ------------------------------------------------------------------ approved versions

    def remember_approved(self) -> None:
        """Every required role approved the current version: it is the one in force."""
        self.approved = ApprovedVersion(
            plan=self.plan,
            version=self.version,
            lines=list(self.lines),
            metrics=self.metrics,
            tiers=list(self.tiers),
            approvals=[a.model_copy() for a in self.approvals],
            price_sets=list(self.price_sets),
        )

    def restore_approved(self) -> int:
        """Put the last approved version back in force; returns the version dropped."""
        assert self.approved is not None
        dropped = self.version
        a = self.approved
        self.plan = a.plan
        self.version = a.version
        self.lines = list(a.lines)
        self.set_prices(a.price_sets)
        self.metrics = a.metrics
        self.tiers = list(a.tiers)
        self.approvals = [x.model_copy() for x in a.approvals]
        return dropped

    # ------------------------------------------------------------------ store prices

    def set_prices(self, sets: list[PriceSet]) -> None:
        """Put price sets in force and note each store's set."""
        self.price_sets = list(sets)
        for index, ps in enumerate(sets):
            for store_id in ps.stores:
                status = self.stores.get(store_id)
                if status is not None:
                    status.price_set = index

    def lines_for(self, store_id: str) -> list[PriceLine]:
        """A store's prices: its price set's, or the chain's (runs without price sets)."""
        status = self.stores.get(store_id)
        if status is not None and status.price_set is not None:
            if status.price_set < len(self.price_sets):
                return self.price_sets[status.price_set].lines
        return self.lines

    # ------------------------------------------------------------------ store windows

    def window(self, store_id: str) -> tuple[datetime, datetime]:
        """A store's window in UTC: its own when the plan runs in store time."""
        facts = self.facts.stores.get(store_id) if self.facts is not None else None
        if facts is not None and facts.starts_at is not None and facts.ends_at is not None:
            return facts.starts_at, facts.ends_at
        return self.plan.starts_at, self.plan.ends_at

    @property
    def first_start(self) -> datetime:
        return self._window_span()[0]

    @property
    def last_end(self) -> datetime:
        return self._window_span()[1]

    def _window_span(self) -> tuple[datetime, datetime]:
        """The earliest start and the latest end over the stores' windows."""
        span = self._span
        current = span is not None and span[0] is self.facts and span[1] is self.plan
        if span is None or not current or span[2] != len(self.stores):
            windows = [self.window(s) for s in self.stores]
            first = min([w[0] for w in windows] or [self.plan.starts_at])
            last = max([w[1] for w in windows] or [self.plan.ends_at])
            span = (self.facts, self.plan, len(self.stores), first, last)
            self._span = span
        return span[3], span[4]

    # ------------------------------------------------------------------ views

    def stores_in(self, gate: StoreGateState) -> list[str]:
        return [s for s, st in self.stores.items() if st.gate is gate]

    def live_stores(self) -> list[str]:
        return [s for s, st in self.stores.items() if st.published]

    def awaiting_role(self) -> str | None:
        current = current_approval(self.approvals)
        if current is None or self.state is not PromotionState.AWAITING_APPROVAL:
            return None
        return current.role

    def task_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for task in self.tasks.values():
            counts[task.state] = counts.get(task.state, 0) + 1
        return counts

    def status(self) -> PromotionStatus:
        return PromotionStatus(
            promotion_id=self.plan.promotion_id,
            name=self.plan.name,
            state=self.state,
            waiting_for=self.waiting_for,
            version=self.version,
            offer=self.plan.offer_words(),
            starts_at=self.first_start,
            ends_at=self.last_end,
            lines=list(self.lines),
            price_sets=[ps.summary() for ps in self.price_sets],
            metrics=self.metrics,
            tiers=self.tiers,
            approvals=self.approvals,
            awaiting_role=self.awaiting_role(),
            channels=list(self.channels.values()),
            stores=list(self.stores.values()),
            tasks=sorted(
                self.tasks.values(),
                key=lambda t: ({"LATE": 0, "OPEN": 1}.get(t.state, 2), t.task_id),
            )[:TASKS_SHOWN],
            task_counts=self.task_counts(),
            funding=self.funding,
            rebalance=self.rebalance,
            monitor=self.monitor,
            kpis=self.kpis,
            reasons=self.reasons,
            audit=self.audit,
        )

    def task_done(self, event: TaskDone) -> None:
        """A store task completed or cancelled (a delivery seen before is dropped)."""
        if event.event_id in self.seen_events:
            return
        self.seen_events.add(event.event_id)
        task = self.tasks.get(event.task_id)
        if task is not None:
            task.state = "DONE" if event.status == "completed" else "CANCELLED"

    def decision_view(self, store_id: str = "") -> DecisionView:
        return DecisionView(
            promotion_id=self.plan.promotion_id,
            version=self.version,
            lines=list(self.lines),
            metrics=self.metrics,
            approvals=self.approvals,
            awaiting_role=self.awaiting_role(),
            store=self.stores.get(store_id) if store_id else None,
        )
