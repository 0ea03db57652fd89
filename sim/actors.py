"""The people of the week, acting through the same functions and systems the product's
users would: approvers and the pricing analyst through the CLI's signed updates, store
staff through the store-task system, shoppers at the POS till, customers returning items.

The workflows only see the results; what the actors meant to do is kept for narration and
never feeds a KPI (`sim.kpis` reads the ledger and the workflows).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from adapters.errors import BackofficeError
from adapters.pos import PosClient
from adapters.tasks import TasksClient
from adapters.wms import WmsClient
from cli import promotion as promo
from cli.common import CommandError
from common.config import Settings
from domain.identity import DecisionSigner
from domain.promotion.plan import Offer, OfferType
from domain.promotion.policy import PromotionPolicy
from domain.promotion.status import (
    OPEN_FOR_OVERRIDES,
    RELEASE_PUBLISHES,
    TERMINAL_STATES,
    PromotionState,
    PromotionStatus,
)
from sim.clock import WeekClock
from sim.supply import SupplyPlanner
from sim.world import Event, unit
from wire.pos import SaleRequest

MIN_EVENT_ITEMS = 4
QUERY_TIMEOUT_S = 15.0
FINANCE_MIN_MARGIN = Decimal("0.15")


@dataclass
class Journal:
    """What happened, in words, with the wall time (the narration, not the figures)."""

    lines: list[str] = field(default_factory=list)
    echo: bool = True

    def say(self, text: str) -> None:
        line = f"{datetime.now(UTC):%H:%M:%S} {text}"
        self.lines.append(line)
        if self.echo:
            print(line, flush=True)


@dataclass
class Approvers:
    """Decide each pending role by the retailer's rules: the category manager turns down
    events of fewer than `MIN_EVENT_ITEMS` items (not worth an ad block and signage),
    finance turns down an unfunded event planning a margin under
    `FINANCE_MIN_MARGIN` of its promoted revenue; the rest
    approve. Store operations override the gate of a held class A store (flagships run
    with what they have); the other held stores go to the supply planner
    (`sim.supply`), who rebalances and releases those it covered. The pricing analyst moves the biggest weekly ad's own offer by
    5 points once it is scheduled (a competitor's ad came out), which re-opens approvals
    as the policy says."""

    settings: Settings
    client: Client
    policy: PromotionPolicy
    signer: DecisionSigner
    events: dict[str, Event]
    journal: Journal
    late_change: str | None = None
    decided: set[tuple[str, str, int]] = field(default_factory=set)
    overridden: set[tuple[str, str]] = field(default_factory=set)
    changed: bool = False
    refusals: list[str] = field(default_factory=list)
    supply: SupplyPlanner | None = None
    rebalancing: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    async def act(self, status: PromotionStatus) -> None:
        if status.state in TERMINAL_STATES:
            return
        for n, approval in enumerate(status.approvals):
            key = (status.promotion_id, approval.role, status.version * 100 + n)
            if approval.state.value != "PENDING" or key in self.decided:
                continue
            if approval.deadline is None and status.awaiting_role != approval.role:
                continue
            self.decided.add(key)
            await self._decide(status, approval.role)
        if status.state in OPEN_FOR_OVERRIDES:
            short: dict[str, str] = {}
            for store in status.stores:
                held = (status.promotion_id, store.store_id)
                if store.gate.value != "HELD" or held in self.overridden:
                    continue
                if store.store_class != "A":
                    short[store.store_id] = store.store_class
                    continue
                self.overridden.add(held)
                await self._override(status, store.store_id)
            if (
                short
                and self.supply is not None
                and status.state in RELEASE_PUBLISHES
                and status.promotion_id not in self.rebalancing
            ):
                self.rebalancing[status.promotion_id] = asyncio.create_task(
                    self.supply.rebalance(self.events[status.promotion_id], short)
                )
        if (
            status.promotion_id == self.late_change
            and not self.changed
            and status.state is PromotionState.SCHEDULED
        ):
            self.changed = True
            await self._change_price(status)

    async def _decide(self, status: PromotionStatus, role: str) -> None:
        event = self.events[status.promotion_id]
        metrics = status.metrics
        approve, comment = True, "fits the week's plan"
        if role == "category_manager" and len(event.items) < MIN_EVENT_ITEMS:
            approve, comment = False, f"{len(event.items)} item(s): not worth an ad block"
        elif (
            role == "finance"
            and metrics
            and not metrics.vendor_funding
            and (metrics.planned_margin < metrics.planned_revenue * FINANCE_MIN_MARGIN)
        ):
            approve, comment = (
                False,
                (
                    f"unfunded, planned margin {metrics.planned_margin} on revenue "
                    f"{metrics.planned_revenue}: under the {FINANCE_MIN_MARGIN:.0%} promotion margin"
                ),
            )
        person = self.policy.approver_of(role)
        try:
            await promo.decide(
                self.settings,
                status.promotion_id,
                person,
                approve=approve,
                role=role,
                comment=comment,
                client=self.client,
                signer=self.signer,
            )
            verb = "approves" if approve else "rejects"
            self.journal.say(f"{person} ({role}) {verb} {status.promotion_id}: {comment}")
        except CommandError as err:
            self.refusals.append(f"{status.promotion_id} {role}: {err}")

    async def _override(self, status: PromotionStatus, store_id: str) -> None:
        person = self.policy.approver_of("store_operations")
        try:
            await promo.override_gate(
                self.settings,
                status.promotion_id,
                store_id,
                person,
                "flagship store: run the offer with the stock on hand",
                role="store_operations",
                client=self.client,
                signer=self.signer,
            )
            self.journal.say(
                f"{person} overrides the held gate of {store_id} in {status.promotion_id}"
            )
        except CommandError as err:
            self.refusals.append(f"{status.promotion_id} override {store_id}: {err}")

    async def _change_price(self, status: PromotionStatus) -> None:
        event = self.events[status.promotion_id]
        assert event.offer.type is OfferType.PERCENT_OFF and event.offer.percent is not None
        offer = Offer(type=OfferType.PERCENT_OFF, percent=min(event.offer.percent + 5, Decimal(30)))
        try:
            await promo.change_price(
                self.settings,
                status.promotion_id,
                "ana",
                offer,
                "a competitor's ad came out: match it",
                client=self.client,
                signer=self.signer,
            )
            self.journal.say(
                f"ana changes {status.promotion_id} to {offer.words()} at the last minute"
            )
        except CommandError as err:
            self.refusals.append(f"{status.promotion_id} price change: {err}")


@dataclass
class StoreStaff:
    """Complete each store task when it appears; one task in `late_share` only after its
    due time has passed (busy staff), so SLA alerts and resolution times are real."""

    settings: Settings
    seed: int
    stores: list[str]
    late_share: float = 0.12
    done: set[str] = field(default_factory=set)

    async def work(self, stop: asyncio.Event, poll_s: float = 1.0) -> None:
        async with TasksClient(self.settings.backoffice_url) as tasks:
            while not stop.is_set():
                for store in self.stores:
                    await self._round(tasks, store)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_s)

    async def _round(self, tasks: TasksClient, store: str) -> None:
        with contextlib.suppress(BackofficeError):
            now = datetime.now(UTC)
            for task in await tasks.list(store_id=store, status="OPEN"):
                late = unit(self.seed, "late", task.task_id) < self.late_share
                if task.task_id in self.done or (late and now < task.due_at + timedelta(seconds=2)):
                    continue
                with contextlib.suppress(BackofficeError):
                    await tasks.complete(
                        task.task_id,
                        completed_by=f"staff of {task.store_id}",
                        idempotency_key=f"sim-complete-{task.task_id}",
                    )
                    self.done.add(task.task_id)


@dataclass
class Shoppers:
    """Replay the week's transactions at their compressed hour: each line buys at the
    price the store's POS charges now, as many units as are on the shelf (WMS on hand,
    read at each day's start, less what was sold since)."""

    settings: Settings
    clock: WeekClock
    lines: list[Any]
    """`datasets.completejourney.SaleLine`s, item ids already mapped (`item_id`)."""
    run_id: str
    bought: int = 0
    wanted: int = 0
    calls_failed: int = 0

    max_lag_s: float = 0.0
    """How far behind its hour the slowest purchase was (a loaded machine shows here)."""

    async def shop(self, hours: int = 168) -> None:
        """One shopper stream per store, all at once."""
        by_store: dict[str, list[Any]] = defaultdict(list)
        for line in self.lines:
            if line.day * 24 + line.hour < hours:
                by_store[line.store_id].append(line)
        async with (
            PosClient(self.settings.backoffice_url) as pos,
            WmsClient(self.settings.backoffice_url) as wms,
        ):
            await asyncio.gather(
                *(self._store(pos, wms, store, lines) for store, lines in sorted(by_store.items()))
            )

    async def _store(self, pos: PosClient, wms: WmsClient, store: str, lines: list[Any]) -> None:
        by_hour: dict[int, list[Any]] = defaultdict(list)
        for line in lines:
            by_hour[line.day * 24 + line.hour].append(line)
        items = sorted({line.item_id for line in lines})
        sold: dict[str, int] = defaultdict(int)
        on_hand: dict[str, int] = {}
        read_day = -1
        for hour in sorted(by_hour):
            await self.clock.sleep_until_hour(hour)
            if hour // 24 != read_day:
                read_day = hour // 24
                with contextlib.suppress(BackofficeError):
                    for p in await wms.positions(location_ids=[store], item_ids=items):
                        on_hand[p.item_id] = p.on_hand
            mine = by_hour[hour]
            try:
                prices = {
                    p.item_id: p.price
                    for p in await pos.store_prices(store, [m.item_id for m in mine])
                }
            except BackofficeError:
                self.calls_failed += 1
                continue
            for m in mine:
                self.wanted += m.quantity
                units = min(m.quantity, max(on_hand.get(m.item_id, 0) - sold[m.item_id], 0))
                if units <= 0 or m.item_id not in prices:
                    continue
                lag = (datetime.now(UTC) - self.clock.at_hour(hour + 1)).total_seconds()
                self.max_lag_s = max(self.max_lag_s, lag)
                try:
                    await pos.record_sale(
                        SaleRequest(
                            store_id=store,
                            item_id=m.item_id,
                            units=units,
                            unit_price=prices[m.item_id],
                            sold_at=datetime.now(UTC),
                        ),
                        idempotency_key=f"sim-{self.run_id}-{store}-{m.item_id}-{hour}",
                    )
                except BackofficeError:
                    self.calls_failed += 1
                    continue
                sold[m.item_id] += units
                self.bought += units


async def poll_events(
    settings: Settings,
    client: Client,
    ids: list[str],
    approvers: Approvers,
    journal: Journal,
    deadline: float,
    poll_s: float = 1.0,
) -> dict[str, PromotionStatus]:
    """Read each event's status until every one is finished (or the deadline), letting the
    approvers act on what they see; returns the last status of each."""
    last: dict[str, PromotionStatus] = {}
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        for pid in ids:
            if pid in last and last[pid].state in TERMINAL_STATES:
                continue
            try:
                status = await asyncio.wait_for(
                    promo.status(settings, pid, client=client), QUERY_TIMEOUT_S
                )
            except (CommandError, RPCError, WorkflowQueryFailedError, TimeoutError) as err:
                approvers.refusals.append(f"{pid} status unreadable once: {err}")
                continue
            before = last.get(pid)
            if before is None or before.state is not status.state:
                journal.say(f"{pid}: {status.state.value} ({status.waiting_for})")
            last[pid] = status
            await approvers.act(status)
        if len(last) == len(ids) and all(s.state in TERMINAL_STATES for s in last.values()):
            break
        await asyncio.sleep(poll_s)
    return last
