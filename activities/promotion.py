"""PromotionLaunch's side effects: ERP look-ups and funding, WMS coverage, store tasks,
POS actuals, price read-back and alerts. Every call goes through `adapters/`.

Each activity is idempotent: mutating calls carry a business key (promotion, deal,
store, task kind...), so a retry or a replay returns the first result. Business refusals
become non-retryable `ApplicationError`s whose `type` is the refusal code
(`activities.common.translate_errors`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from temporalio import activity

from activities.common import (
    business_key,
    chunk_key,
    heartbeating,
    keeps_heartbeating,
    translate_errors,
)
from activities.promotion_wire import TASK_STATES, stock_of, store_facts, task_status
from adapters.base import new_http_client
from adapters.channels import EcommerceClient, MarketplaceClient
from adapters.erp import ErpClient
from adapters.errors import BusinessRefusal
from adapters.pos import PosClient
from adapters.tasks import TasksClient
from adapters.wms import WmsClient
from domain.promotion import contract as c
from domain.promotion.gates import Position, store_coverage, summarized
from domain.promotion.plan import (
    ExistingPromotion,
    ItemFacts,
    PlanFacts,
    PromotionPlan,
    VendorDeal,
)
from domain.promotion.targeting import line_groups, resolve_targets
from domain.promotion.validation import store_window
from domain.publication.contract import Channel
from wire.common import Callback
from wire.erp import AccrualRequest, ClaimRequest, DealCheckRequest
from wire.tasks import MAX_BULK_TASKS, BulkCancelRequest, BulkTaskRequest, TaskRequest

T = TypeVar("T")
CONCURRENCY = 16
READBACK_SAMPLE = 50
"""POS stores read back one by one after a revert (every store's book entry is checked in
one call; the effective price is sampled)."""
TASK_CALLBACK_SIGNAL = "store_task_done"
STORE_TIME_SLACK = timedelta(days=1)


async def bounded(
    calls: list[Callable[[], Awaitable[T]]], *, limit: int = CONCURRENCY, label: str = ""
) -> list[T]:
    """Run calls with at most `limit` in flight, heartbeating progress; order kept."""
    window = asyncio.Semaphore(limit)
    done = 0
    async with heartbeating({"label": label, "done": 0, "of": len(calls)}) as progress:

        async def one(call: Callable[[], Awaitable[T]]) -> T:
            nonlocal done
            async with window:
                result = await call()
            done += 1
            progress({"label": label, "done": done, "of": len(calls)})
            return result

        return list(await asyncio.gather(*(one(c) for c in calls)))


def bounded_chunks(items: list[str], size: int) -> list[list[str]]:
    """`items` in consecutive chunks of at most `size`, order kept."""
    return [items[i : i + size] for i in range(0, len(items), size)]


ZONE_PRICE_BATCH = 1000


def needs_named_groups(plan: PromotionPlan) -> bool:
    """Whether the plan names a group that may be a named list (not `kind:value` only)."""
    groups = [*plan.store_groups, *line_groups(plan)]
    return any(g.startswith("group:") or (":" not in g and g != "all") for g in groups)


class PromotionActivities:
    def __init__(self, backoffice_url: str, *, timeout_s: float = 10.0) -> None:
        self._http = new_http_client(backoffice_url, timeout_s=timeout_s)
        self.erp = ErpClient(http=self._http)
        self.pos = PosClient(http=self._http)
        self.wms = WmsClient(http=self._http)
        self.tasks = TasksClient(http=self._http)
        self.ecommerce = EcommerceClient(http=self._http)
        self.marketplace = MarketplaceClient(http=self._http)

    async def aclose(self) -> None:
        await self._http.aclose()

    def all(self) -> list[Callable[..., Any]]:
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
        ]

    # ------------------------------------------------------------------ ERP look-ups

    @activity.defn(name=c.LOOKUP_FACTS.name)
    @keeps_heartbeating
    async def lookup_facts(self, request: c.LookupRequest) -> PlanFacts:
        """Items (with their shelf prices per zone), stores (store groups resolved against
        the ERP's store masters and named groups), overlapping promotions and the deal."""
        plan = request.plan
        item_ids = [i.item_id for i in plan.items]
        with translate_errors():
            found = await self.erp.list_items(item_ids=item_ids, limit=max(len(item_ids), 1))
            stores = await self.erp.list_stores()
            named = await self.erp.list_store_groups() if needs_named_groups(plan) else []
            zones = [z.zone_id for z in await self.erp.list_price_zones()]
        masters = [store_facts(s) for s in stores]
        targets = resolve_targets(plan, masters, {g.group_id: g.store_ids for g in named})
        by_id = {s.store_id: s for s in masters}
        chosen = targets.store_ids
        plan_zones = sorted({by_id[s].price_zone for s in chosen if by_id[s].price_zone})
        shelf: dict[str, dict[str, Decimal]] = {}
        known_ids = [i.item_id for i in found if i.item_id in item_ids]
        if plan_zones and known_ids:
            with translate_errors():
                for start in range(0, len(known_ids), ZONE_PRICE_BATCH):
                    batch = known_ids[start : start + ZONE_PRICE_BATCH]
                    for zp in await self.erp.zone_prices(batch, zones=plan_zones):
                        if zp.zone_specific:
                            shelf.setdefault(zp.item_id, {})[zp.zone_id] = zp.shelf_price
        items = {
            i.item_id: ItemFacts(
                item_id=i.item_id,
                description=i.name,
                cost=i.cost,
                regular_price=i.regular_price,
                vendor_id=i.vendor_id,
                zone_prices=shelf.get(i.item_id, {}),
            )
            for i in found
            if i.item_id in item_ids
        }
        for s in chosen:
            if plan.window_in_store_time:
                by_id[s].starts_at, by_id[s].ends_at = store_window(plan, by_id[s].timezone)
        facts = PlanFacts(
            items=items,
            stores={s: by_id[s] for s in chosen},
            unknown_stores=targets.unknown_stores,
            unknown_groups=targets.unknown_groups,
            store_ids=chosen,
            group_members=targets.group_members,
            price_zones=zones,
            other_promotions=await self._other_promotions(plan, item_ids),
        )
        if plan.vendor_deal_id:
            try:
                deal = await self.erp.get_deal(plan.vendor_deal_id)
            except BusinessRefusal as err:
                if err.status == 404 or err.code in ("not_found", "unknown_deal"):
                    facts.deal_missing = True
                    return facts
                with translate_errors():
                    raise
            facts.deal = VendorDeal(
                deal_id=deal.deal_id,
                vendor_id=deal.vendor_id,
                deal_type=deal.deal_type,
                items=deal.item_ids,
                funding_per_unit=deal.funding_per_unit,
                starts_at=deal.valid_from,
                ends_at=deal.valid_to,
                max_amount=deal.cap_amount,
            )
        return facts

    async def _other_promotions(
        self, plan: PromotionPlan, item_ids: list[str]
    ) -> list[ExistingPromotion]:
        """Live (DRAFT or ACTIVE) promotion masters on the plan's items whose window comes
        near the plan's; `domain.promotion.validate_plan` judges the overlap (items, stores,
        window). The plan's own master (a republish, a price change) is left out."""
        # a day either side: a window in store time runs up to 14 hours off UTC
        with translate_errors():
            masters = await self.erp.list_promotions(
                item_ids=item_ids,
                active_from=plan.starts_at - STORE_TIME_SLACK,
                active_until=plan.ends_at + STORE_TIME_SLACK,
                statuses=["DRAFT", "ACTIVE"],
            )
        out = []
        for m in masters:
            if m.promotion_id == plan.promotion_id:
                continue
            items = [line.item_id for line in m.items]
            if not set(items).intersection(item_ids):
                continue
            out.append(
                ExistingPromotion(
                    promotion_id=m.promotion_id,
                    items=items,
                    stores=list(m.store_ids),
                    starts_at=m.start,
                    ends_at=m.end,
                    status=m.status,
                    name=m.name,
                    exclusive=m.exclusive,
                    priority=m.priority,
                )
            )
        return out

    @activity.defn(name=c.CHECK_DEAL.name)
    @keeps_heartbeating
    async def check_deal(self, request: c.DealCheckInput) -> c.DealCheckResult:
        """Ask ERP whether the vendor deal funds these items over this window."""
        with translate_errors():
            check = await self.erp.check_deal(
                request.deal_id,
                DealCheckRequest(
                    item_ids=request.item_ids,
                    start=request.starts_at,
                    end=request.ends_at,
                    units_forecast=request.units_forecast,
                ),
            )
        return c.DealCheckResult(
            deal_id=check.deal_id,
            valid=check.valid,
            reasons=list(check.reasons),
            deal_type=check.deal_type,
            funding_per_unit=check.funding_per_unit,
            fundable_units=check.fundable_units,
            fundable_amount=check.fundable_amount,
        )

    # ------------------------------------------------------------------ funding

    @activity.defn(name=c.ACCRUE_FUNDING.name)
    @keeps_heartbeating
    async def accrue_funding(self, request: c.AccrueInput) -> c.AccrualResult:
        """Accrue the expected vendor funding (one accrual per promotion and deal)."""
        with translate_errors():
            accrual = await self.erp.accrue(
                AccrualRequest(
                    promotion_id=request.promotion_id,
                    deal_id=request.deal_id,
                    units=request.units,
                    amount=request.amount,
                ),
                idempotency_key=business_key("accrue", request.promotion_id, request.deal_id),
            )
        return c.AccrualResult(
            accrual_id=accrual.accrual_id, amount=accrual.amount, status=accrual.status
        )

    @activity.defn(name=c.REVERSE_ACCRUAL.name)
    @keeps_heartbeating
    async def reverse_accrual(self, request: c.ReverseInput) -> c.AccrualResult:
        """Reverse an accrual (cancel or rollback); reversing twice returns the first."""
        with translate_errors():
            accrual = await self.erp.reverse_accrual(
                request.accrual_id,
                idempotency_key=business_key("reverse", request.promotion_id, request.accrual_id),
                reason=request.reason,
            )
        return c.AccrualResult(
            accrual_id=accrual.accrual_id, amount=accrual.amount, status=accrual.status
        )

    @activity.defn(name=c.CLAIM_FUNDING.name)
    async def claim_funding(self, request: c.ClaimInput) -> c.ClaimResult:
        """Claim vendor funding on the actual units, then read accrued against claimed."""
        with translate_errors():
            claim = await self.erp.claim(
                ClaimRequest(
                    promotion_id=request.promotion_id, deal_id=request.deal_id, units=request.units
                ),
                idempotency_key=business_key("claim", request.promotion_id, request.deal_id),
            )
            summary = await self.erp.funding(request.promotion_id)
        return c.ClaimResult(
            claim_id=claim.claim_id,
            amount=claim.amount,
            capped=claim.capped,
            accrued_amount=summary.accrued_amount,
            reversed_amount=summary.reversed_amount,
        )

    @activity.defn(name=c.SETTLE_ACCRUAL.name)
    async def settle_accrual(self, request: c.SettleInput) -> c.SettlementResult:
        """Close the accrual against the claims; the ERP releases what was not claimed."""
        with translate_errors():
            settled = await self.erp.settle_accrual(
                request.accrual_id,
                idempotency_key=business_key("settle", request.promotion_id, request.accrual_id),
                reason=request.reason,
            )
        return c.SettlementResult(
            accrual_id=settled.accrual_id,
            accrued=settled.accrued,
            claimed=settled.claimed,
            released=settled.released,
            status=settled.status,
        )

    # ------------------------------------------------------------------ coverage and actuals

    @activity.defn(name=c.STORE_COVERAGE.name)
    @keeps_heartbeating
    async def store_coverage(self, request: c.StoreCoverageInput) -> c.StoreCoverageResult:
        """Read the stock of a batch of stores (WMS reads of at most `POSITIONS_PER_READ`
        stores x items) and judge each store's gate here: one summary a store."""
        item_ids = [i.item_id for i in request.plan.items]
        per_read = max(1, c.POSITIONS_PER_READ // max(len(item_ids), 1))
        out = []
        for start in range(0, len(request.stores), per_read):
            chunk = request.stores[start : start + per_read]
            stock = await self._stock([st.store_id for st in chunk], item_ids)
            out += [
                summarized(store_coverage(st, request.plan, stock, request.policy)) for st in chunk
            ]
            activity.heartbeat(start + len(chunk))
        return c.StoreCoverageResult(coverage=out)

    async def _stock(self, store_ids: list[str], item_ids: list[str]) -> dict[str, dict[str, int]]:
        with translate_errors():
            positions = await self.wms.positions(location_ids=store_ids, item_ids=item_ids)
        return stock_of(positions, set(store_ids))

    @activity.defn(name=c.READ_COVERAGE.name)
    @keeps_heartbeating
    async def read_coverage(self, request: c.CoverageInput) -> c.CoverageResult:
        """On hand and in transit per store and item (one WMS read per batch)."""
        with translate_errors():
            positions = await self.wms.positions(
                location_ids=request.store_ids, item_ids=request.item_ids
            )
        wanted = set(request.store_ids)
        return c.CoverageResult(
            positions=[
                Position(
                    store_id=p.location_id,
                    item_id=p.item_id,
                    on_hand=max(p.on_hand, 0),
                    in_transit=max(p.in_transit, 0),
                )
                for p in positions
                if p.location_id in wanted
            ]
        )

    @activity.defn(name=c.READ_ACTUALS.name)
    @keeps_heartbeating
    async def read_actuals(self, request: c.ActualsInput) -> c.ActualsResult:
        """Units sold per item in the live stores over the window, and stores now out of
        stock of a promoted item."""
        stores = set(request.store_ids)
        units: dict[str, int] = {i: 0 for i in request.item_ids}
        revenue = Decimal(0)
        out: list[str] = []
        if stores:
            with translate_errors():
                summary = await self.pos.sales(
                    item_ids=request.item_ids,
                    store_ids=sorted(stores) if len(stores) <= 200 else None,
                    since=request.since,
                    until=request.until,
                )
            for line in summary.lines:
                if line.store_id in stores and line.item_id in units:
                    units[line.item_id] += line.units
                    revenue += line.revenue
            ordered = sorted(stores)
            batches = [ordered[i : i + 500] for i in range(0, len(ordered), 500)]
            for batch in batches:
                with translate_errors():
                    positions = await self.wms.positions(
                        location_ids=batch, item_ids=request.item_ids
                    )
                for p in positions:
                    if p.location_id in stores and p.on_hand <= 0 and p.location_id not in out:
                        out.append(p.location_id)
        return c.ActualsResult(units_by_item=units, revenue=revenue, stores_stocked_out=out)

    # ------------------------------------------------------------------ store tasks

    @activity.defn(name=c.CREATE_TASKS.name)
    @keeps_heartbeating
    async def create_tasks(self, request: c.CreateTasksInput) -> c.TasksResult:
        """One task per store (business key `{promotion}-{store}-{kind}`), created in bulk:
        up to 500 a call, the calls side by side. A retried call (same key) returns its
        first answer, and a task that exists already is returned as it is, so a retry under
        any key doubles nothing."""
        callback = (
            Callback(workflow_id=request.callback_workflow_id, signal=TASK_CALLBACK_SIGNAL)
            if request.callback_workflow_id
            else None
        )
        title = f"{request.description} (promotion {request.promotion_id})"

        def call(stores: list[str]) -> Callable[[], Awaitable[list[Any]]]:
            async def run() -> list[Any]:
                body = BulkTaskRequest(
                    tasks=[
                        TaskRequest(
                            task_id=f"{request.promotion_id}-{store_id}-{request.kind}",
                            store_id=store_id,
                            kind=request.kind,
                            title=title,
                            due_at=request.due_at,
                            promotion_id=request.promotion_id,
                            callback=callback,
                        )
                        for store_id in stores
                    ]
                )
                with translate_errors():
                    result = await self.tasks.create_many(
                        body,
                        idempotency_key=chunk_key(
                            f"tasks-{request.kind}", request.promotion_id, stores
                        ),
                    )
                return list(result.tasks)

            return run

        chunks = bounded_chunks(request.store_ids, MAX_BULK_TASKS)
        created = await bounded(
            [call(chunk) for chunk in chunks], label=f"create {request.kind} tasks"
        )
        wire = [t for part in created for t in part]
        if request.grouped:
            return c.TasksResult.from_rows(
                (t.task_id, t.store_id, t.kind, t.due_at, TASK_STATES[t.status]) for t in wire
            )
        return c.TasksResult(tasks=[task_status(t) for t in wire])

    @activity.defn(name=c.TASK_STATES.name)
    async def task_states(self, request: c.TaskStatesInput) -> c.TasksResult:
        with translate_errors():
            tasks = await self.tasks.list(promotion_id=request.promotion_id)
        return c.TasksResult(tasks=[task_status(t) for t in tasks])

    @activity.defn(name=c.CANCEL_TASKS.name)
    @keeps_heartbeating
    async def cancel_tasks(self, request: c.CancelTasksInput) -> c.CancelTasksResult:
        """Cancel the promotion's open tasks in bulk (closed ones are left as they are)."""
        with translate_errors():
            open_tasks = await self.tasks.list(promotion_id=request.promotion_id, status="OPEN")

        def call(task_ids: list[str]) -> Callable[[], Awaitable[int]]:
            async def run() -> int:
                with translate_errors():
                    result = await self.tasks.cancel_many(
                        BulkCancelRequest(task_ids=task_ids, reason=request.reason),
                        idempotency_key=chunk_key("task-cancel", request.promotion_id, task_ids),
                    )
                return result.cancelled

            return run

        chunks = bounded_chunks([t.task_id for t in open_tasks], MAX_BULK_TASKS)
        await bounded([call(chunk) for chunk in chunks], label="cancel tasks")
        return c.CancelTasksResult(cancelled=len(open_tasks))

    # ------------------------------------------------------------------ alerts

    @activity.defn(name=c.ALERT.name)
    async def alert(self, request: c.AlertInput) -> None:
        """Tell a role something needs attention. The reference stack has no paging system:
        the alert goes to the worker log (and the workflow's audit trail records it)."""
        activity.logger.warning(
            "ALERT [%s] to %s about promotion %s: %s",
            request.severity,
            request.audience,
            request.promotion_id,
            request.message,
        )

    # ------------------------------------------------------------------ read-back

    @activity.defn(name=c.VERIFY_PRICES.name)
    @keeps_heartbeating
    async def verify_prices(self, request: c.VerifyInput) -> c.VerifyResult:
        """Read a channel back and list every place where the price is not as expected."""
        want_promo = request.expect == "promo"
        mismatches: list[str] = []
        checked = 0
        if request.channel is Channel.POS:
            with translate_errors():
                entries = await self.pos.promotion_prices(request.promotion_id)
            stores = set(request.store_ids)
            live = {e.store_id for e in entries if e.status == "PUBLISHED"}
            for store_id in sorted(stores):
                checked += 1
                if (store_id in live) != want_promo:
                    mismatches.append(
                        f"POS store {store_id}: promotion "
                        f"{'still published' if store_id in live else 'not published'}"
                    )
            if not want_promo:
                sample = sorted(stores)[:READBACK_SAMPLE]
                items = [line.item_id for line in request.lines]
                regular = {line.item_id: line.regular_price for line in request.lines}

                def call(store_id: str) -> Callable[[], Awaitable[Any]]:
                    async def run() -> Any:
                        with translate_errors():
                            return await self.pos.store_prices(store_id, items)

                    return run

                for prices in await bounded([call(s) for s in sample], label="read POS prices"):
                    for p in prices:
                        # a store's regular price is its price zone's shelf price (the
                        # chain's regular price where the zone has none of its own)
                        expected = p.regular_price if regular.get(p.item_id) else p.price
                        if p.promotion_id == request.promotion_id or p.price != expected:
                            mismatches.append(
                                f"POS store {p.store_id} item {p.item_id}: {p.price} "
                                f"(regular {p.regular_price})"
                            )
        elif request.channel is Channel.ERP:
            checked = 1
            try:
                master = await self.erp.get_promotion(request.promotion_id)
                active = master.status == "ACTIVE"
            except BusinessRefusal as err:
                if err.status != 404:
                    with translate_errors():
                        raise
                active = False
            if active != want_promo:
                mismatches.append(f"ERP promotion master is {'active' if active else 'inactive'}")
        else:
            client = self.ecommerce if request.channel is Channel.ECOMMERCE else self.marketplace
            checked = 1
            try:
                publication = await client.read_back(request.promotion_id)
                is_live = publication.status == "LIVE"
            except BusinessRefusal as err:
                if err.status != 404:
                    with translate_errors():
                        raise
                is_live = False
            if is_live != want_promo:
                mismatches.append(
                    f"{request.channel.value}: promotion is {'live' if is_live else 'not live'}"
                )
        return c.VerifyResult(channel=request.channel, checked=checked, mismatches=mismatches)


__all__ = ["PromotionActivities", "store_facts"]
