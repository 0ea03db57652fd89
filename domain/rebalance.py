"""Inventory rebalancing: the request, the policy, the pure planner and the transfer rules.

Everything here is deterministic: the same estate, request and planning time give the same
plan, byte for byte, so the workflow can call it directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from domain.inventory import (
    Estate,
    ExcludedPosition,
    ExclusionReason,
    ItemRule,
    Lane,
    Position,
    screen_positions,
)

COVERAGE_CAP = Decimal("99.99")
"""Coverage reported for a store/item without demand (nothing to cover)."""

MAX_SCOPE_PAIRS = 20_000
"""Largest stores x items one workflow plans; larger scopes are split (payload size)."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be timezone-aware (for example 2026-11-23T10:00:00Z)")
    return value.astimezone(UTC)


# --------------------------------------------------------------------------- request & policy


class ApprovalPolicy(BaseModel):
    """A plan whose cost or units pass a threshold waits for every role listed here."""

    cost_threshold: Decimal = Field(default=Decimal("5000"), ge=0)
    units_threshold: int = Field(default=10_000, ge=0)
    roles: list[str] = Field(default_factory=lambda: ["supply_chain"], min_length=1)
    approvers: dict[str, list[str]] = Field(
        default_factory=dict, description="role -> the people who hold it"
    )

    @model_validator(mode="after")
    def _every_role_has_approvers(self) -> ApprovalPolicy:
        missing = [role for role in self.roles if not self.approvers.get(role)]
        if missing:
            raise ValueError(f"no approvers listed for role(s): {', '.join(missing)}")
        return self


class RebalancePolicy(BaseModel):
    approval: ApprovalPolicy
    target_coverage: Decimal = Field(
        default=Decimal("1"), gt=0, description="cover this multiple of demand, plus safety stock"
    )
    handling_time: timedelta = Field(
        default=timedelta(hours=4), description="release to dispatch, added to lane lead time"
    )
    feed_max_age: timedelta = Field(default=timedelta(hours=24))
    implausible_multiple: Decimal = Field(default=Decimal("50"), gt=0)
    in_transit_max: timedelta = Field(
        default=timedelta(days=5), description="shipped longer ago than this: check, then LOST"
    )
    receipt_tolerance_units: int = Field(default=0, ge=0)
    escalation_role: str = "supply_chain"
    max_transfers: int = Field(default=1000, ge=1)
    missing_position: Literal["zero", "exclude"] = Field(
        default="zero",
        description="a store/item absent from the feed: count it as empty, or exclude it",
    )


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

    _utc_need_by = field_validator("need_by")(_utc)

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


def workflow_id_for(plan_id: str) -> str:
    return f"rebalance-{plan_id}"


# --------------------------------------------------------------------------- the plan


class PlannedMove(BaseModel):
    source_id: str
    dest_id: str
    item_id: str
    units: int
    lead_time: timedelta
    cost: Decimal
    arrives_by: datetime


class Shortfall(BaseModel):
    store_id: str
    item_id: str
    units: int
    reason: str


class StoreItemCoverage(BaseModel):
    store_id: str
    item_id: str
    demand: int
    available_before: int
    planned_inbound: int
    coverage_before: Decimal
    coverage_planned: Decimal
    excluded_reason: ExclusionReason | None = None


class RebalancePlan(BaseModel):
    plan_id: str
    planned_at: datetime
    moves: list[PlannedMove]
    shortfalls: list[Shortfall]
    excluded: list[ExcludedPosition]
    coverage: list[StoreItemCoverage]
    total_units: int
    total_cost: Decimal
    unmet_demand_before: int
    unmet_demand_after: int
    short_of_target_before: int
    short_of_target_after: int


def coverage_ratio(available: int, demand: int) -> Decimal:
    """(on hand + in transit + inbound) / demand, two decimals, capped."""
    if demand <= 0:
        return COVERAGE_CAP
    value = (Decimal(available) / Decimal(demand)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return min(value, COVERAGE_CAP)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _target_units(demand: int, target: Decimal) -> int:
    return int((target * demand).to_integral_value(rounding="ROUND_CEILING"))


def plan_rebalance(
    request: RebalanceRequest, estate: Estate, planned_at: datetime
) -> RebalancePlan:
    """Move stock from surplus to deficit, cheapest on-time lane first.

    Invariants (tests/domain/test_rebalance_properties.py):
    - a source never goes below its safety stock plus its own requirement (demand x target);
    - every move is a whole number of packs and at least the item's minimum move;
    - a source's outbound capacity and a lane's capacity are never exceeded;
    - only lanes arriving by `need_by` are used; among them the lowest unit cost first;
    - what could not be covered is reported per store and item.
    """
    policy = request.policy
    target = policy.target_coverage
    stores = list(request.scope.stores)
    items = list(request.scope.items)
    item_set = set(items)
    store_set = set(stores)

    demand: dict[tuple[str, str], int] = {}
    for d in estate.demand:
        if d.store_id in store_set and d.item_id in item_set:
            demand[(d.store_id, d.item_id)] = d.units
    for o in request.demand_override:
        demand[(o.store_id, o.item_id)] = o.units

    dcs = sorted(loc.location_id for loc in estate.locations if loc.kind == "dc")
    dc_set = set(dcs)
    item_total: dict[str, int] = {}
    for (_, item), units in demand.items():
        item_total[item] = item_total.get(item, 0) + units
    reference: dict[tuple[str, str], int] = dict(demand)
    for dc in dcs:
        for item in items:
            reference[(dc, item)] = item_total.get(item, 0)

    relevant = [
        p
        for p in estate.positions
        if p.item_id in item_set and (p.location_id in store_set or p.location_id in dc_set)
    ]
    trusted, excluded = screen_positions(
        relevant,
        planned_at=planned_at,
        max_age=policy.feed_max_age,
        implausible_multiple=policy.implausible_multiple,
        reference_demand=reference,
    )
    excluded_reason = {(e.location_id, e.item_id): e.reason for e in excluded}
    for store in stores:
        for item in items:
            key = (store, item)
            if key in trusted or key in excluded_reason:
                continue
            if policy.missing_position == "zero":
                # WMS convention: no row means nothing on hand (the item is not ranged yet)
                trusted[key] = Position(
                    location_id=store, item_id=item, on_hand=0, as_of=planned_at
                )
            else:
                excluded.append(
                    ExcludedPosition(
                        location_id=store,
                        item_id=item,
                        reason=ExclusionReason.MISSING,
                        detail="the stock feed has no position for this store and item",
                    )
                )
                excluded_reason[key] = ExclusionReason.MISSING

    rules: dict[str, ItemRule] = {r.item_id: r for r in estate.items}

    # Surplus a location can give: on hand above its safety stock plus its own requirement.
    surplus: dict[tuple[str, str], int] = {}
    for key, pos in trusted.items():
        location, _item = key
        if location in dc_set:
            own = _target_units(demand.get(key, 0), target) if key in demand else 0
        else:
            own = max(demand.get(key, 0), _target_units(demand.get(key, 0), target))
        spare = pos.on_hand - pos.safety_stock - own
        if spare > 0:
            surplus[key] = spare

    outbound_left: dict[str, int | None] = {
        loc.location_id: loc.outbound_capacity for loc in estate.locations
    }
    deadline = request.need_by
    lanes_by_dest: dict[str, list[tuple[int, Lane]]] = {}
    lane_left: dict[int, int | None] = {}
    for index, lane in enumerate(estate.lanes):
        if lane.source_id == lane.dest_id or lane.dest_id not in store_set:
            continue
        if planned_at + policy.handling_time + lane.lead_time > deadline:
            continue
        lanes_by_dest.setdefault(lane.dest_id, []).append((index, lane))
        lane_left[index] = lane.capacity_units
    for candidates in lanes_by_dest.values():
        candidates.sort(
            key=lambda c: (
                c[1].cost_per_unit,
                c[1].cost_per_shipment,
                c[1].lead_time,
                c[1].source_id,
            )
        )

    # Result rows are built with model_construct: every value is computed here from validated
    # inputs, and validating a million coverage rows again would double the planning time.

    # Deficits, lowest coverage first (integer key: deterministic and fast).
    deficits: list[tuple[int, str, str, int, int]] = []
    available: dict[tuple[str, str], int] = {}
    for store in stores:
        for item in items:
            key = (store, item)
            found = trusted.get(key)
            if found is None:
                continue
            have = found.on_hand + found.in_transit
            available[key] = have
            need = _target_units(demand.get(key, 0), target) + found.safety_stock - have
            if need > 0:
                units = demand.get(key, 0)
                rank = (have * 1_000_000) // units if units > 0 else 10**15
                deficits.append((rank, store, item, need, have))
    deficits.sort()

    short_before = sum(d[3] for d in deficits)
    moves: list[PlannedMove] = []
    inbound: dict[tuple[str, str], int] = {}
    shortfalls: list[Shortfall] = []
    for _rank, store, item, need, _have in deficits:
        rule = rules.get(item) or ItemRule(item_id=item)
        pack, min_move = rule.pack_size, rule.min_move
        remaining = need
        candidates = lanes_by_dest.get(store, [])
        for index, lane in candidates:
            if remaining <= 0:
                break
            skey = (lane.source_id, item)
            spare = surplus.get(skey, 0)
            if spare <= 0:
                continue
            cap = spare
            src_cap = outbound_left.get(lane.source_id)
            if src_cap is not None:
                cap = min(cap, src_cap)
            ln_cap = lane_left[index]
            if ln_cap is not None:
                cap = min(cap, ln_cap)
            qty = min(_ceil_div(remaining, pack) * pack, (cap // pack) * pack)
            if qty <= 0 or qty < min_move:
                continue
            surplus[skey] = spare - qty
            if src_cap is not None:
                outbound_left[lane.source_id] = src_cap - qty
            if ln_cap is not None:
                lane_left[index] = ln_cap - qty
            remaining -= qty
            inbound[(store, item)] = inbound.get((store, item), 0) + qty
            moves.append(
                PlannedMove.model_construct(
                    source_id=lane.source_id,
                    dest_id=store,
                    item_id=item,
                    units=qty,
                    lead_time=lane.lead_time,
                    cost=(lane.cost_per_unit * qty + lane.cost_per_shipment).quantize(
                        Decimal("0.01"), ROUND_HALF_UP
                    ),
                    arrives_by=planned_at + policy.handling_time + lane.lead_time,
                )
            )
        if remaining > 0:
            if not candidates:
                why = "no lane reaches this store before the need-by time"
            else:
                why = "not enough surplus within pack, minimum-move and capacity rules"
            shortfalls.append(
                Shortfall.model_construct(store_id=store, item_id=item, units=remaining, reason=why)
            )

    coverage: list[StoreItemCoverage] = []
    unmet_before = 0
    unmet_after = 0
    for store in stores:
        for item in items:
            key = (store, item)
            units = demand.get(key, 0)
            have = available.get(key, 0)
            extra = inbound.get(key, 0)
            reason = excluded_reason.get(key)
            if reason is None:
                unmet_before += max(0, units - have)
                unmet_after += max(0, units - have - extra)
            else:
                unmet_before += units
                unmet_after += units
            coverage.append(
                StoreItemCoverage.model_construct(
                    store_id=store,
                    item_id=item,
                    demand=units,
                    available_before=have,
                    planned_inbound=extra,
                    coverage_before=coverage_ratio(have, units) if reason is None else Decimal(0),
                    coverage_planned=(
                        coverage_ratio(have + extra, units) if reason is None else Decimal(0)
                    ),
                    excluded_reason=reason,
                )
            )
    moves.sort(key=lambda m: (m.source_id, m.dest_id, m.item_id))
    shortfalls.sort(key=lambda s: (s.store_id, s.item_id))
    excluded.sort(key=lambda e: (e.location_id, e.item_id))
    return RebalancePlan(
        plan_id=request.plan_id,
        planned_at=planned_at,
        moves=moves,
        shortfalls=shortfalls,
        excluded=excluded,
        coverage=coverage,
        total_units=sum(m.units for m in moves),
        total_cost=sum((m.cost for m in moves), Decimal("0")),
        unmet_demand_before=unmet_before,
        unmet_demand_after=unmet_after,
        short_of_target_before=short_before,
        short_of_target_after=sum(s.units for s in shortfalls),
    )


def approval_reasons(plan: RebalancePlan, policy: RebalancePolicy) -> list[str]:
    """Why this plan needs approval (empty: it does not)."""
    reasons = []
    if plan.total_cost > policy.approval.cost_threshold:
        reasons.append(
            f"cost {plan.total_cost} is above the threshold {policy.approval.cost_threshold}"
        )
    if plan.total_units > policy.approval.units_threshold:
        reasons.append(
            f"{plan.total_units} units is above the threshold {policy.approval.units_threshold}"
        )
    return reasons


# --------------------------------------------------------------------------- transfers


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
_PROGRESS = {
    TransferState.PLANNED: 0,
    TransferState.APPROVED: 1,
    TransferState.RELEASED: 2,
    TransferState.PICKED: 3,
    TransferState.SHIPPED: 4,
}


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


def transfers_for(plan: RebalancePlan) -> list[Transfer]:
    """One transfer order per move, with a stable id (the idempotency key in WMS)."""
    return [
        Transfer(
            transfer_id=f"{plan.plan_id}-T{index:04d}",
            source_id=move.source_id,
            dest_id=move.dest_id,
            item_id=move.item_id,
            units_planned=move.units,
            arrives_by=move.arrives_by,
        )
        for index, move in enumerate(plan.moves, start=1)
    ]


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


def apply_wms_event(
    transfer: Transfer, event: WmsEvent, now: datetime, *, tolerance: int = 0
) -> Variance | None:
    """Fold one event into a transfer (in place). Order-independent per kind; never regresses.

    A receipt decides the outcome: equal to what shipped (within tolerance handled by the
    caller) is RECEIVED, less is PARTIALLY_RECEIVED with a SHORT variance, more is RECEIVED
    with an OVER variance. A receipt before its shipment event counts the shipment as the
    planned quantity until the shipment event arrives.
    """
    if transfer.state in (TransferState.CANCELLED, TransferState.LOST, TransferState.CLOSED):
        if event.step == "received" and transfer.state == TransferState.LOST:
            transfer.note = f"received {event.quantity} after being declared lost"
        return None
    if event.step == "picked":
        transfer.units_picked = event.quantity
        if _PROGRESS.get(transfer.state, 99) < _PROGRESS[TransferState.PICKED]:
            transfer.state = TransferState.PICKED
        return None
    if event.step == "shipped":
        transfer.units_shipped = event.quantity
        if transfer.shipped_at is None:
            transfer.shipped_at = now
        if _PROGRESS.get(transfer.state, 99) < _PROGRESS[TransferState.SHIPPED]:
            transfer.state = TransferState.SHIPPED
        return None
    # received
    if transfer.units_received is not None:
        return None
    transfer.units_received = event.quantity
    transfer.received_at = now
    if transfer.shipped_at is None:
        transfer.shipped_at = now
    return settle_receipt(transfer, tolerance=tolerance)


def settle_receipt(transfer: Transfer, *, tolerance: int) -> Variance | None:
    received = transfer.units_received or 0
    expected = (
        transfer.units_shipped if transfer.units_shipped is not None else transfer.units_planned
    )
    diff = received - expected
    if abs(diff) <= tolerance:
        transfer.state = TransferState.RECEIVED
        return None
    if diff < 0:
        transfer.state = TransferState.PARTIALLY_RECEIVED
        return Variance(
            transfer_id=transfer.transfer_id,
            kind="SHORT",
            units=-diff,
            detail=f"received {received} of {expected} shipped",
        )
    transfer.state = TransferState.RECEIVED
    return Variance(
        transfer_id=transfer.transfer_id,
        kind="OVER",
        units=diff,
        detail=f"received {received}, {diff} more than the {expected} shipped",
    )


# --------------------------------------------------------------------------- messages & result


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


CLOSED_STATES = frozenset(
    {
        RebalanceState.COMPLETED,
        RebalanceState.COMPLETED_WITH_VARIANCES,
        RebalanceState.NOTHING_TO_MOVE,
        RebalanceState.REJECTED,
        RebalanceState.CANCELLED,
    }
)


class ApprovalDecision(BaseModel):
    approver: str = Field(min_length=1)
    role: str = Field(min_length=1)
    approve: bool = True
    comment: str | None = None


class CancelRequest(BaseModel):
    requested_by: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class CancelReport(BaseModel):
    cancelled: list[str]
    already_moving: list[str]
    finished: list[str]


class AuditEntry(BaseModel):
    at: datetime
    what: str
    who: str | None = None


class ApprovalRecord(BaseModel):
    role: str
    approver: str
    approve: bool
    at: datetime
    comment: str | None = None


def check_decision(
    decision: ApprovalDecision, policy: RebalancePolicy, state: RebalanceState
) -> None:
    """Raise ValueError (in words) when a decision may not be taken now by this person."""
    if state != RebalanceState.AWAITING_APPROVAL:
        raise ValueError(f"the plan is not awaiting approval (state {state.value})")
    roles = policy.approval.roles
    if decision.role not in roles:
        raise ValueError(
            f"role {decision.role!r} does not approve rebalancing plans (roles: {', '.join(roles)})"
        )
    if decision.approver not in policy.approval.approvers.get(decision.role, []):
        raise ValueError(f"{decision.approver!r} does not hold the role {decision.role!r}")


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


def result_from(
    plan_id: str,
    state: RebalanceState,
    plan: RebalancePlan | None,
    transfers: list[Transfer],
    variances: list[Variance],
) -> RebalanceResult:
    """Coverage reached per store and item: stock before + units actually received."""
    planned: dict[tuple[str, str], int] = {}
    received: dict[tuple[str, str], int] = {}
    for t in transfers:
        key = (t.dest_id, t.item_id)
        if t.state != TransferState.CANCELLED:
            planned[key] = planned.get(key, 0) + t.units_planned
        received[key] = received.get(key, 0) + (t.units_received or 0)
    outcomes: list[StoreItemOutcome] = []
    unmet_after = 0
    for c in plan.coverage if plan else []:
        key = (c.store_id, c.item_id)
        got = received.get(key, 0)
        if c.excluded_reason is None:
            reached = coverage_ratio(c.available_before + got, c.demand)
            unmet = max(0, c.demand - c.available_before - got)
        else:
            reached = Decimal(0)
            unmet = c.demand
        unmet_after += unmet
        outcomes.append(
            StoreItemOutcome(
                store_id=c.store_id,
                item_id=c.item_id,
                demand=c.demand,
                coverage=reached,
                units_planned=planned.get(key, 0),
                units_received=got,
                unmet_demand=unmet,
                excluded_reason=c.excluded_reason,
            )
        )
    return RebalanceResult(
        plan_id=plan_id,
        state=state,
        outcomes=outcomes,
        variances=variances,
        excluded=plan.excluded if plan else [],
        total_cost=plan.total_cost if plan else Decimal("0"),
        units_planned=sum(planned.values()),
        units_received=sum(received.values()),
        unmet_demand_before=plan.unmet_demand_before if plan else 0,
        unmet_demand_after=unmet_after if plan else 0,
    )


# --------------------------------------------------------------------------- activity contract
# Activities live in activities/inventory.py; the workflow calls them by these names with
# these models, so it never imports adapters.

READ_ESTATE = "rebalance_read_estate"
RELEASE_TRANSFERS = "rebalance_release_transfers"
CANCEL_TRANSFERS = "rebalance_cancel_transfers"
READ_TRANSFER = "rebalance_read_transfer"
FILE_CLAIM = "rebalance_file_claim"


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
    signal: str = "wms_event"
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
