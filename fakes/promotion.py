"""Scripted systems for a promotion launch: ERP, WMS, store tasks, POS sales and channels.

`ScriptedRetail` answers every activity a PromotionLaunch (and its publication and monitor
children) calls, from memory, and records every effect, so a fast orchestration test can
drive each branch (a rejection, an escalation, a cancel in any state, stores failing to
publish) in seconds and then count what was accrued, claimed, reversed and retracted.

    retail = ScriptedRetail.for_plan(plan)
    retail.fail_targets["pos"] = {"S011"}         # POS refuses one store
    retail.hold("promotion_accrue_funding")       # block accrual until released
    async with run_worker(client, fakes=retail.activities()):
        ...

Names come from the contracts (`domain.promotion.contract`, `domain.publication`,
`domain.sellthrough`), so a fake cannot stand in for an activity that does not exist.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity

from activities.common import heartbeating
from domain.money import cents
from domain.promotion import contract as c
from domain.promotion.gates import Position, store_coverage, summarized
from domain.promotion.plan import ItemFacts, PlanFacts, PromotionPlan, StoreFacts, VendorDeal
from domain.promotion.status import TaskStatus
from domain.promotion.targeting import resolve_targets
from domain.publication.contract import (
    READ_BACK,
    SEND_BATCH,
    PublicationAction,
    PublicationRequest,
    ReadBackInput,
    ReadBackResult,
    ReadBackState,
    SendBatchInput,
    SendBatchResult,
    TargetSend,
)
from domain.sellthrough.contract import SALES_BY_REGION, RegionSales, SalesQuery

DEFAULT_REGULAR_PRICE = Decimal("10.00")
DEFAULT_COST = Decimal("5.00")
DEFAULT_FUNDING_PER_UNIT = Decimal("1.50")
DEAL_SLACK = timedelta(days=365)
"""The scripted deal runs this long around the sample window: any test window fits."""


@dataclass
class ScriptedRetail:
    """The systems of record of one promotion, in memory, with an effect ledger."""

    facts: PlanFacts
    stock_per_item: int = 1000
    """On hand per store and item (ample by default: every gate opens)."""
    units_sold: dict[str, int] = field(default_factory=dict)
    """Units sold per item over the window (POS actuals at the end)."""
    fail_targets: dict[str, set[str]] = field(default_factory=dict)
    """Per channel value, targets whose every send is refused."""
    deal_valid: bool = True
    accrued: dict[str, Decimal] = field(default_factory=dict)
    reversed: dict[str, Decimal] = field(default_factory=dict)
    claimed: dict[str, Decimal] = field(default_factory=dict)
    released: dict[str, Decimal] = field(default_factory=dict)
    live: dict[str, set[str]] = field(default_factory=dict)
    """Per channel value, targets where the promotion is live now."""
    sends: list[tuple[str, str, str, int]] = field(default_factory=list)
    """(channel, action, target, version) of every send."""
    prices: dict[tuple[str, str], dict[str, Decimal]] = field(default_factory=dict)
    """(channel, target) -> item -> the promoted price last published there."""
    send_requests: list[PublicationRequest] = field(default_factory=list)
    """The request of every send activity call (how many targets a call carries...)."""
    tasks: dict[str, TaskStatus] = field(default_factory=dict)
    task_requests: list[c.CreateTasksInput] = field(default_factory=list)
    """Every store-task activity call's input."""
    alerts: list[c.AlertInput] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    _holds: dict[str, asyncio.Event] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def for_plan(
        cls,
        plan: PromotionPlan,
        *,
        regular_price: Decimal = DEFAULT_REGULAR_PRICE,
        cost: Decimal = DEFAULT_COST,
        funding_per_unit: Decimal = DEFAULT_FUNDING_PER_UNIT,
        regions: dict[str, str] | None = None,
        estate: list[StoreFacts] | None = None,
        named_groups: dict[str, list[str]] | None = None,
        zone_shelf: dict[str, Decimal] | None = None,
        **options: Any,
    ) -> ScriptedRetail:
        """Facts for `plan`: every item and store known, the deal (if any) funding all
        items over the plan's window; `regions` maps stores to regions (default "east").

        With `estate` (the ERP's store masters) and `named_groups`, the plan's stores and
        groups are resolved as the look-up activity does (`resolve_targets`);
        `zone_shelf` gives every item that shelf price in a zone."""
        items = {
            i.item_id: ItemFacts(
                item_id=i.item_id,
                cost=cost,
                regular_price=regular_price,
                zone_prices={z: p for z, p in (zone_shelf or {}).items() if p != regular_price},
            )
            for i in plan.items
        }
        if estate is not None:
            targets = resolve_targets(plan, estate, named_groups or {})
            by_id = {st.store_id: st for st in estate}
            facts = PlanFacts(
                items=items,
                stores={st: by_id[st] for st in targets.store_ids},
                store_ids=targets.store_ids,
                unknown_stores=targets.unknown_stores,
                unknown_groups=targets.unknown_groups,
                group_members=targets.group_members,
                price_zones=sorted({st.price_zone for st in estate if st.price_zone}),
            )
        else:
            stores = {
                s: StoreFacts(store_id=s, store_class="B", region=(regions or {}).get(s, "east"))
                for s in plan.stores
            }
            facts = PlanFacts(items=items, stores=stores, store_ids=list(stores))
        deal = None
        if plan.vendor_deal_id:
            deal = VendorDeal(
                deal_id=plan.vendor_deal_id,
                vendor_id="V-SCRIPTED",
                deal_type="scan_based",
                items=list(items),
                funding_per_unit=funding_per_unit,
                starts_at=plan.starts_at - DEAL_SLACK,
                ends_at=plan.ends_at + DEAL_SLACK,
            )
        facts.deal = deal
        return cls(facts=facts, **options)

    # ------------------------------------------------------------------ test controls

    def hold(self, activity_name: str) -> asyncio.Event:
        """Block every call of `activity_name` until the returned event is set."""
        return self._holds.setdefault(activity_name, asyncio.Event())

    def release_all(self) -> None:
        for event in self._holds.values():
            event.set()

    def called(self, name: str) -> int:
        return self.calls.count(name)

    async def _enter(self, name: str) -> None:
        self.calls.append(name)
        hold = self._holds.get(name)
        if hold is not None:
            async with heartbeating({"held": name}):  # held, not dead (heartbeat timeouts)
                await hold.wait()

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.lookup_facts,
            self.check_deal,
            self.accrue_funding,
            self.reverse_accrual,
            self.claim_funding,
            self.settle_accrual,
            self.read_coverage,
            self.store_coverage,
            self.create_tasks,
            self.task_states,
            self.cancel_tasks,
            self.alert,
            self.read_actuals,
            self.verify_prices,
            self.send_batch,
            self.read_back,
            self.sales_by_region,
        ]

    # ------------------------------------------------------------------ ERP

    @activity.defn(name=c.LOOKUP_FACTS.name)
    async def lookup_facts(self, request: c.LookupRequest) -> PlanFacts:
        await self._enter(c.LOOKUP_FACTS.name)
        return self.facts

    @activity.defn(name=c.CHECK_DEAL.name)
    async def check_deal(self, request: c.DealCheckInput) -> c.DealCheckResult:
        await self._enter(c.CHECK_DEAL.name)
        deal = self.facts.deal
        per_unit = deal.funding_per_unit if deal else Decimal(0)
        return c.DealCheckResult(
            deal_id=request.deal_id,
            valid=self.deal_valid and deal is not None,
            reasons=[] if self.deal_valid else [f"deal {request.deal_id} has expired"],
            deal_type=deal.deal_type if deal else "scan_based",
            funding_per_unit=per_unit,
            fundable_units=request.units_forecast,
            fundable_amount=cents(per_unit * request.units_forecast),
        )

    @activity.defn(name=c.ACCRUE_FUNDING.name)
    async def accrue_funding(self, request: c.AccrueInput) -> c.AccrualResult:
        await self._enter(c.ACCRUE_FUNDING.name)
        accrual_id = f"ACR-{request.promotion_id}"
        self.accrued[accrual_id] = request.amount  # idempotent per promotion
        return c.AccrualResult(accrual_id=accrual_id, amount=request.amount, status="ACCRUED")

    @activity.defn(name=c.REVERSE_ACCRUAL.name)
    async def reverse_accrual(self, request: c.ReverseInput) -> c.AccrualResult:
        await self._enter(c.REVERSE_ACCRUAL.name)
        amount = self.accrued[request.accrual_id]
        self.reversed[request.accrual_id] = amount
        return c.AccrualResult(accrual_id=request.accrual_id, amount=amount, status="REVERSED")

    @activity.defn(name=c.CLAIM_FUNDING.name)
    async def claim_funding(self, request: c.ClaimInput) -> c.ClaimResult:
        await self._enter(c.CLAIM_FUNDING.name)
        deal = self.facts.deal
        assert deal is not None
        amount = cents(deal.funding_per_unit * request.units)
        accrued = self.accrued.get(f"ACR-{request.promotion_id}", Decimal(0))
        self.claimed[request.promotion_id] = amount
        return c.ClaimResult(
            claim_id=f"CLM-{request.promotion_id}",
            amount=amount,
            capped=False,
            accrued_amount=accrued,
        )

    @activity.defn(name=c.SETTLE_ACCRUAL.name)
    async def settle_accrual(self, request: c.SettleInput) -> c.SettlementResult:
        await self._enter(c.SETTLE_ACCRUAL.name)
        accrued = self.accrued[request.accrual_id]
        claimed = min(self.claimed.get(request.promotion_id, Decimal(0)), accrued)
        self.released[request.accrual_id] = accrued - claimed
        return c.SettlementResult(
            accrual_id=request.accrual_id,
            accrued=accrued,
            claimed=claimed,
            released=accrued - claimed,
            status="SETTLED",
        )

    def open_accruals(self) -> dict[str, Decimal]:
        """Accruals neither reversed nor settled: what a finished promotion must not leave."""
        closed = set(self.reversed) | set(self.released)
        return {a: amount for a, amount in self.accrued.items() if a not in closed}

    # ------------------------------------------------------------------ WMS, tasks, POS

    @activity.defn(name=c.READ_COVERAGE.name)
    async def read_coverage(self, request: c.CoverageInput) -> c.CoverageResult:
        await self._enter(c.READ_COVERAGE.name)
        return c.CoverageResult(
            positions=[
                Position(store_id=s, item_id=i, on_hand=self.stock_per_item)
                for s in request.store_ids
                for i in request.item_ids
            ]
        )

    @activity.defn(name=c.STORE_COVERAGE.name)
    async def store_coverage(self, request: c.StoreCoverageInput) -> c.StoreCoverageResult:
        await self._enter(c.STORE_COVERAGE.name)
        stock = {
            st.store_id: {i.item_id: self.stock_per_item for i in request.plan.items}
            for st in request.stores
        }
        return c.StoreCoverageResult(
            coverage=[
                summarized(store_coverage(st, request.plan, stock, request.policy))
                for st in request.stores
            ]
        )

    @activity.defn(name=c.CREATE_TASKS.name)
    async def create_tasks(self, request: c.CreateTasksInput) -> c.TasksResult:
        await self._enter(c.CREATE_TASKS.name)
        self.task_requests.append(request)
        created = []
        for store_id in request.store_ids:
            task_id = f"T-{request.promotion_id}-{request.kind}-{store_id}"
            task = self.tasks.setdefault(
                task_id,
                TaskStatus(
                    task_id=task_id, store_id=store_id, kind=request.kind, due_at=request.due_at
                ),
            )
            created.append(task)
        return c.TasksResult.of(created, grouped=request.grouped)

    @activity.defn(name=c.TASK_STATES.name)
    async def task_states(self, request: c.TaskStatesInput) -> c.TasksResult:
        await self._enter(c.TASK_STATES.name)
        return c.TasksResult(tasks=list(self.tasks.values()))

    @activity.defn(name=c.CANCEL_TASKS.name)
    async def cancel_tasks(self, request: c.CancelTasksInput) -> c.CancelTasksResult:
        await self._enter(c.CANCEL_TASKS.name)
        open_tasks = [t for t in self.tasks.values() if t.state in ("OPEN", "LATE")]
        for t in open_tasks:
            t.state = "CANCELLED"
        return c.CancelTasksResult(cancelled=len(open_tasks))

    @activity.defn(name=c.ALERT.name)
    async def alert(self, request: c.AlertInput) -> None:
        await self._enter(c.ALERT.name)
        self.alerts.append(request)

    @activity.defn(name=c.READ_ACTUALS.name)
    async def read_actuals(self, request: c.ActualsInput) -> c.ActualsResult:
        await self._enter(c.READ_ACTUALS.name)
        units = {i: self.units_sold.get(i, 0) for i in request.item_ids}
        price = {i: f.regular_price for i, f in self.facts.items.items()}
        return c.ActualsResult(
            units_by_item=units,
            revenue=cents(sum((price[i] * n for i, n in units.items()), Decimal(0))),
            stores_stocked_out=[],
        )

    @activity.defn(name=c.VERIFY_PRICES.name)
    async def verify_prices(self, request: c.VerifyInput) -> c.VerifyResult:
        await self._enter(c.VERIFY_PRICES.name)
        live = self.live.get(request.channel.value, set())
        wrong = [t for t in request.store_ids or ["*"] if t in live]
        return c.VerifyResult(
            channel=request.channel,
            checked=len(request.store_ids or ["*"]) * len(request.lines),
            mismatches=[f"{t}: promotion still live" for t in wrong],
        )

    @activity.defn(name=SALES_BY_REGION.name)
    async def sales_by_region(self, query: SalesQuery) -> RegionSales:
        await self._enter(SALES_BY_REGION.name)
        return RegionSales(
            since=query.since,
            until=query.until,
            units={region: {i: 0 for i in query.item_ids} for region in query.stores_by_region},
        )

    # ------------------------------------------------------------------ channels

    @activity.defn(name=SEND_BATCH.name)
    async def send_batch(self, data: SendBatchInput) -> SendBatchResult:
        """Every channel confirms at once (no ack signal needed); refused targets fail."""
        await self._enter(SEND_BATCH.name)
        request = data.request
        self.send_requests.append(request)
        channel = request.channel.value
        refused = self.fail_targets.get(channel, set())
        live = self.live.setdefault(channel, set())
        out = []
        for s in data.sends:
            self.sends.append((channel, request.action.value, s.target, request.version))
            key = f"{request.promotion_id}/{channel}/{request.action.value}/v{request.version}"
            if s.target in refused:
                out.append(
                    TargetSend(
                        target=s.target,
                        idempotency_key=f"{key}/{s.target}",
                        sent=False,
                        error=f"{channel} refused {s.target}: price book locked",
                    )
                )
                continue
            if request.action is PublicationAction.PUBLISH:
                live.add(s.target)
                self.prices[(channel, s.target)] = {
                    line.item_id: line.promo_price for line in request.lines
                }
            else:
                live.discard(s.target)
            out.append(
                TargetSend(
                    target=s.target,
                    idempotency_key=f"{key}/{s.target}",
                    sent=True,
                    confirmed=True,
                    publication_id=f"PUB-{next(self._ids)}",
                )
            )
        return SendBatchResult.of(out, grouped=data.grouped)

    @activity.defn(name=READ_BACK.name)
    async def read_back(self, data: ReadBackInput) -> ReadBackResult:
        await self._enter(READ_BACK.name)
        live = self.live.get(data.request.channel.value, set())
        want_live = data.request.action is PublicationAction.PUBLISH
        return ReadBackResult(
            states=[ReadBackState(target=t, done=(t in live) == want_live) for t in data.targets]
        )
