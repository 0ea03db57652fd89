"""Run one simulated week end to end and score it (`python starter.py simulate-week`).

1. Prepare the week (`datasets.completejourney`) and the TPC-DS returns, build the estate
   and the events (`sim.world`).
2. Start a fresh stack seeded with that estate (`sim.stack`), set the fault profile.
3. Launch every event as a PromotionLaunch on the compressed clock (`sim.clock`); the
   approvers, store staff, shoppers and returning customers act (`sim.actors`,
   `sim.returns`) until every launch has ended (or been rejected) and every return closed.
4. Clear the faults, read the figures back from the ledger and the workflows (`sim.kpis`),
   write the report (`sim.report`), stop the stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from cli import promotion as promo
from cli.common import CommandError
from cli.demo_promotion import DEMO_INBOX_KEY, demo_policy
from cli.keys import load_signer
from datasets.completejourney import PreparedWeek, check_sizes, prepare_week
from datasets.tpcds import store_returns
from domain.promotion.status import PromotionStatus
from domain.returns.status import ReturnStatus
from sim import faults
from sim.actors import Approvers, Journal, Shoppers, StoreStaff, poll_events
from sim.clock import WeekClock
from sim.kpis import WeekKpis, collect, stock_snapshot
from sim.returns import Returns
from sim.stack import settings_for, start_sim_stack
from sim.supply import SupplyPlanner
from sim.world import World, build_world, item_id, store_id

END_GRACE_S = 150.0
REBALANCE_GRACE_S = 20.0
"""After the week's end: time for the launches to revert, claim and score."""


@dataclass
class SimOptions:
    week: int = 20
    stores: int = 12
    max_items: int = 240
    profile: str = "typical"
    seed: int = 7
    day_seconds: float = 30.0
    lead_seconds: float = 60.0
    returns: int = 24
    max_events: int | None = None
    hours: int = 168
    """Hours of the week the shoppers replay (a test runs a small day: 24)."""
    echo: bool = True
    extra_faults: list[dict[str, Any]] = field(default_factory=list)
    """FaultSpec documents set after the profile's (a test's own fault)."""

    def check(self) -> None:
        check_sizes(self.week, self.stores, self.max_items)
        if self.profile not in faults.PROFILES:
            raise ValueError(
                f"unknown profile {self.profile!r}: choose one of {', '.join(faults.PROFILES)}"
            )
        if not 5 <= self.day_seconds <= 3600:
            raise ValueError(
                f"a simulated day is 5 to 3,600 s of wall time, got {self.day_seconds}"
            )
        if not 20 <= self.lead_seconds <= 3600:
            raise ValueError(f"the lead before go-live is 20 to 3,600 s, got {self.lead_seconds}")
        if not 0 <= self.returns <= 500:
            raise ValueError(f"returns must be 0 to 500, got {self.returns}")
        if not 1 <= self.hours <= 168:
            raise ValueError(f"hours must be 1 to 168, got {self.hours}")


@dataclass
class ShopLine:
    store_id: str
    item_id: str
    day: int
    hour: int
    quantity: int


@dataclass
class SimOutcome:
    options: SimOptions
    world: World
    prepared: PreparedWeek
    clock: WeekClock
    statuses: dict[str, PromotionStatus]
    returns: dict[str, ReturnStatus]
    kpis: WeekKpis
    wall_seconds: float
    journal: Journal
    notes: list[str] = field(default_factory=list)


def shop_lines(prepared: PreparedWeek, hours: int) -> list[ShopLine]:
    return [
        ShopLine(store_id(s.store_id), item_id(s.product_id), s.day, s.hour, s.quantity)
        for s in prepared.sales
        if s.day * 24 + s.hour < hours
    ]


async def simulate_week(options: SimOptions, workdir: Path | None = None) -> SimOutcome:
    options.check()
    started = time.monotonic()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _dump_tasks)
    journal = Journal(echo=options.echo)
    prepared = prepare_week(options.week, stores=options.stores, max_items=options.max_items)
    tpcds = store_returns(0.01, limit=options.returns) if options.returns else []
    world = build_world(prepared, seed=options.seed, returns=tpcds)
    if options.max_events is not None:
        world.events = world.events[: options.max_events]
    journal.say(
        f"week {prepared.week}: {len(world.store_ids)} stores, {len(prepared.products)} items, "
        f"{len(world.events)} events, {len(world.returns)} returns; profile {options.profile}"
    )
    own = workdir is None
    work = workdir or Path(tempfile.mkdtemp(prefix="simweek-"))
    stack = await start_sim_stack(work, world.estate)
    finished = False
    try:
        settings = settings_for(stack)
        client = stack.env.client
        journal.say(f"stack up in {time.monotonic() - started:.0f} s: {stack.backoffice.url}")
        await faults.apply_profile(
            settings.backoffice_url, options.profile, options.seed, options.extra_faults
        )
        clock = WeekClock.starting_now(
            lead_seconds=options.lead_seconds, day_seconds=options.day_seconds
        )
        live_for = timedelta(seconds=options.hours / 24 * options.day_seconds)
        policy = demo_policy(
            promo.load_policy(),
            go_live_after=timedelta(seconds=options.lead_seconds),
            live_for=live_for,
        )
        policy = policy.model_copy(
            update={
                "publication": policy.publication.model_copy(
                    update={"ack_timeout": timedelta(seconds=min(20.0, options.lead_seconds / 4))}
                )
            }
        )
        signer = load_signer(DEMO_INBOX_KEY)
        events = {e.promotion_id: e for e in world.events}
        ends_at = clock.week_start + live_for
        launched = []
        for event in world.events:
            plan = event.plan(starts_at=clock.week_start, ends_at=ends_at, submitted_by="ana")
            try:
                await promo.launch(
                    settings, "-", plan=plan, policy=policy, client=client, precheck=False
                )
                launched.append(event.promotion_id)
            except CommandError as err:
                journal.say(f"{event.promotion_id} not launched: {err}")
        ads = [e for e in world.events if e.kind == "weekly ad" and len(e.items) >= 4]
        approvers = Approvers(
            settings,
            client,
            policy,
            signer,
            events,
            journal,
            late_change=max(ads, key=lambda e: len(e.items)).promotion_id if ads else None,
        )
        approvers.supply = SupplyPlanner(settings, client, policy, signer, journal.say)
        stop = asyncio.Event()
        staff = StoreStaff(settings, options.seed, world.store_ids)
        shoppers = Shoppers(
            settings, clock, shop_lines(prepared, options.hours), f"{clock.launched_at:%H%M%S}"
        )
        customers = Returns(
            settings, client, clock, world.returns, signer, options.seed, hours=options.hours
        )
        snapshot: dict[tuple[str, str], int] = {}

        async def snap() -> None:
            await clock.sleep_until_hour(0.2)
            snapshot.update(await stock_snapshot(settings, world))

        background = [
            asyncio.create_task(staff.work(stop)),
            asyncio.create_task(customers.run(stop)),
            asyncio.create_task(snap()),
        ]
        shopping = asyncio.create_task(shoppers.shop(options.hours))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + options.lead_seconds + live_for.total_seconds() + END_GRACE_S
        statuses = await poll_events(settings, client, launched, approvers, journal, deadline)
        journal.say("every launch has finished; waiting for the shoppers and the returns")
        await shopping
        rebalancing = list(approvers.rebalancing.values())
        if rebalancing:
            _, still = await asyncio.wait(rebalancing, timeout=REBALANCE_GRACE_S)
            for task in still:  # the week is over: stop waiting for them (they keep running)
                task.cancel()
            unfinished = len(still)
        else:
            unfinished = 0
        returns = await _wait_returns(client, customers, loop.time() + 60)
        stop.set()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 30)
        cleared = await faults.clear(settings.backoffice_url)
        journal.say(f"faults cleared ({cleared}); reading the figures back")
        kpis = await collect(settings, client, world, statuses, returns, snapshot, clock)
        journal.say("figures read back")
        notes = [
            f"shoppers wanted {shoppers.wanted} units and bought {shoppers.bought} "
            f"(the rest found an empty shelf or the till failed {shoppers.calls_failed} times); "
            f"the slowest purchase was {max(shoppers.max_lag_s, 0):.0f} s behind its hour",
            f"store staff completed {len(staff.done)} tasks",
            f"the supply planner released {len(approvers.supply.released)} held store(s) "
            f"after rebalancing; {unfinished} of its {len(rebalancing)} rebalance(s) had not "
            f"finished when the week ended",
            *kpis.mismatches[:10],
            *approvers.refusals[:10],
            *approvers.supply.problems[:10],
            *customers.problems[:10],
        ]
        finished = True
        return SimOutcome(
            options=options,
            world=world,
            prepared=prepared,
            clock=clock,
            statuses=statuses,
            returns=returns,
            kpis=kpis,
            wall_seconds=time.monotonic() - started,
            journal=journal,
            notes=notes,
        )
    finally:
        await stack.stop()
        if own and finished:
            shutil.rmtree(work, ignore_errors=True)
        elif own:
            print(f"the run failed: its logs are kept in {work}", flush=True)


async def _wait_returns(
    client: Any, customers: Returns, deadline: float
) -> dict[str, ReturnStatus]:
    from domain.returns.contract import workflow_id
    from domain.returns.status import TERMINAL_STATES
    from workflows.return_to_refund import ReturnToRefund

    loop = asyncio.get_running_loop()
    found: dict[str, ReturnStatus] = {}
    while True:
        for rma in customers.started:
            if rma in found and found[rma].state in TERMINAL_STATES:
                continue
            handle = client.get_workflow_handle(workflow_id(rma))
            with contextlib.suppress(Exception):
                found[rma] = await asyncio.wait_for(handle.query(ReturnToRefund.status), 15)
        done = all(s.state in TERMINAL_STATES for s in found.values())
        if (done and len(found) == len(customers.started)) or loop.time() > deadline:
            return found
        await asyncio.sleep(1)


def _dump_tasks() -> None:
    """SIGUSR1: where every task of the run is waiting (to find a stuck phase)."""
    for task in asyncio.all_tasks():
        task.print_stack(limit=4, file=sys.stderr)
