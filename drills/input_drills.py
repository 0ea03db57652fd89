"""Drills on what comes in: late confirmations, a region's POS down, a price change while
publishing. Each runs the sample launch against the live backoffice and judges it from the
ledger and from what every channel holds, never from what the drill meant to do.

The rebalance feed drills live in `drills.feed_drills`, hostile input and unauthorized
decisions in `drills.hostile_drills`, the replay drill in `drills.replay_drill`;
`INPUT_ALL` / `INPUT_FAST` at the bottom gather them for `python -m drills`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio.client import WorkflowHandle

from adapters.channels import EcommerceClient, MarketplaceClient
from adapters.control import ControlClient
from adapters.erp import ErpClient
from adapters.pos import PosClient
from cli import promotion as promo
from domain.promotion.gates import StoreGateState
from domain.promotion.plan import Offer, PromotionPlan
from domain.promotion.status import PromotionState, PromotionStatus
from drills.input_common import (
    accrual_counts,
    channel_counts,
    launch_to_publishing,
    per_store,
    with_publication,
)
from drills.invariants import Verdict, count_effects
from drills.launch_drills import (
    DrillResult,
    cancel_launch,
    clear_faults,
    drill_plan,
    drill_policy,
    set_faults,
    wait_for,
)
from drills.stack import REPO, DrillStack
from fakes.identity import INBOX

ESTATE = REPO / "examples" / "estate" / "estate.json"
GO_LIVE = timedelta(minutes=10)


def region_of_stores() -> dict[str, str]:
    return {s["store_id"]: s["region"] for s in json.loads(ESTATE.read_text())["stores"]}


# --------------------------------------------------------------------------- 1. late acks


async def late_confirmations(stack: DrillStack) -> DrillResult:
    """Channel confirmations arrive 6 s late, past a 2 s ack deadline: each batch reads the
    channel back (applied: confirmed by read-back, never by assumption) and sends nothing
    twice; the late events then reach closed batches and are not retried forever."""
    name = "confirmations late past deadline"
    verdict = Verdict()
    plan = drill_plan(GO_LIVE)
    policy = with_publication(drill_policy(), ack_timeout=timedelta(seconds=2))
    await set_faults(
        stack,
        *[
            {"system": channel, "operation": "events", "late_seconds": 6}
            for channel in ("ecommerce", "marketplace")
        ],
    )
    try:
        handle = await launch_to_publishing(stack, plan, policy)
        started = time.monotonic()
        status = await wait_for(handle, PromotionState.SCHEDULED, timeout_s=90)
        recovered = time.monotonic() - started
        async with (
            EcommerceClient(stack.backoffice.url) as ecommerce,
            MarketplaceClient(stack.backoffice.url) as marketplace,
        ):
            held = {
                "ecommerce": await ecommerce.read_back(plan.promotion_id),
                "marketplace": await marketplace.read_back(plan.promotion_id),
            }
        for ch in status.channels:
            if ch.channel not in held:
                continue
            if ch.state == "CONFIRMED" and held[ch.channel].status != "LIVE":
                verdict.problems.append(
                    f"{ch.channel} claimed CONFIRMED while the channel holds "
                    f"{held[ch.channel].status}"
                )
            if ch.state == "CONFIRMED" and ch.reconciled_by_readback < 1:
                verdict.problems.append(
                    f"{ch.channel} CONFIRMED without its ack and without a read-back"
                )
            if ch.republished:
                verdict.doubled.append(f"{ch.channel} republished {ch.republished} time(s)")
        await _late_events_settle(stack, handle.id, verdict)
    finally:
        await clear_faults(stack)
    await cancel_launch(stack, handle, plan.promotion_id, name, verdict)
    pid = plan.promotion_id
    await count_effects(
        stack.backoffice.url,
        [
            *per_store(pid, plan.stores, "publish_prices", "pos_price", 1),
            *per_store(pid, plan.stores, "retract_prices", "pos_retract", 1),
            *channel_counts(pid, 1, retracted=True),
            *accrual_counts(pid, reversed_=True),
        ],
        verdict,
    )
    return DrillResult(name, verdict, recovered)


async def _late_events_settle(stack: DrillStack, workflow_id: str, verdict: Verdict) -> None:
    """The late channel events of the launch's batches end delivered or refused as final
    (their batch has closed), none left pending to retry forever."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 40
    pending: list[str] = []
    async with ControlClient(stack.backoffice.url) as control:
        while loop.time() < deadline:
            events = [
                e
                for e in await control.events()
                if e.workflow_id.startswith(workflow_id)
                and e.system in ("ecommerce", "marketplace")
            ]
            pending = [f"{e.event_id} ({e.last_error})" for e in events if e.status == "pending"]
            if events and not pending:
                return
            await asyncio.sleep(0.5)
    verdict.problems.append(f"late channel events still pending: {pending[:3]}")


# --------------------------------------------------------------------------- 2. region down


async def _pos_region_down(stack: DrillStack, region: str, *, max_failed_pct: int) -> DrillResult:
    """POS refuses every call naming a store of `region`; the launch retries until go-live
    minus the margin (about 10 s here), then applies its policy to those stores."""
    regions = region_of_stores()
    plan = drill_plan(GO_LIVE)
    down = [s for s in plan.stores if regions[s] == region]
    up = [s for s in plan.stores if regions[s] != region]
    policy = with_publication(
        drill_policy(),
        retry_margin=GO_LIVE - timedelta(seconds=12),
        max_failed_store_pct=Decimal(max_failed_pct),
    )
    holds = Decimal(100 * len(down)) / len(plan.stores) <= Decimal(max_failed_pct)
    name = f"POS down in region {region} ({'hold' if holds else 'fail'})"
    verdict = Verdict()
    region_stores = [s for s, r in regions.items() if r == region]
    await set_faults(
        stack,
        {"system": "pos", "operation": "publish_prices", "error_rate": 1, "stores": region_stores},
    )
    try:
        handle = await launch_to_publishing(stack, plan, policy)
        started = time.monotonic()
        status = await wait_for(
            handle, PromotionState.SCHEDULED, PromotionState.FAILED, timeout_s=120
        )
        recovered = time.monotonic() - started
    finally:
        await clear_faults(stack)
    pid = plan.promotion_id
    if holds:
        if status.state is not PromotionState.SCHEDULED:
            verdict.problems.append(f"expected SCHEDULED with stores held, got {status.state}")
        gates = {s.store_id: s for s in status.stores}
        for store in down:
            if gates[store].gate is not StoreGateState.HELD or "pos" not in gates[store].note:
                verdict.problems.append(
                    f"{store} ({region}) not held with its reason: {gates[store].gate} "
                    f"{gates[store].note!r}"
                )
        for store in up:
            if not gates[store].published:
                verdict.problems.append(f"{store} (another region) not published")
        if not any("held" in a.action and "pos" in a.detail for a in status.audit):
            verdict.problems.append("no audit line says which stores were held and why")
        await cancel_launch(stack, handle, plan.promotion_id, name, verdict)
    else:
        final: PromotionStatus = await handle.result()
        if final.state is not PromotionState.FAILED or not final.reasons:
            verdict.problems.append(f"expected FAILED with a reason, got {final.state}")
    await count_effects(
        stack.backoffice.url,
        [
            *per_store(pid, down, "publish_prices", "pos_price", 0),
            *per_store(pid, up, "publish_prices", "pos_price", 1),
            *per_store(pid, up, "retract_prices", "pos_retract", 1),
            *channel_counts(pid, 1, retracted=True),
            *accrual_counts(pid, reversed_=True),
        ],
        verdict,
    )
    await _pos_holds_nothing(stack, pid, verdict)
    return DrillResult(name, verdict, recovered)


async def _pos_holds_nothing(stack: DrillStack, pid: str, verdict: Verdict) -> None:
    """After the rollback no store's price book still carries the promotion."""
    async with PosClient(stack.backoffice.url) as pos:
        left = [e.store_id for e in await pos.promotion_prices(pid) if e.status == "PUBLISHED"]
    if left:
        verdict.problems.append(f"POS still carries the promotion in {left}")


async def pos_region_down_held(stack: DrillStack) -> DrillResult:
    """West (1 of 8 stores) down, policy holds up to 25 % of stores: held, the rest live."""
    return await _pos_region_down(stack, "west", max_failed_pct=25)


async def pos_region_down_failed(stack: DrillStack) -> DrillResult:
    """Central (3 of 8) down, policy holds up to 10 %: the launch fails and rolls back."""
    return await _pos_region_down(stack, "central", max_failed_pct=10)


# --------------------------------------------------------------------------- 4. price change


async def price_change_while_publishing(stack: DrillStack) -> DrillResult:
    """The price changes (30 % to 32 % off, no re-approval) while the first version is
    being published (POS slowed to 0.4 s a store): the new version reaches every channel
    and store exactly once, after the old one, and no channel is left on the old prices."""
    name = "price change while publishing"
    verdict = Verdict()
    plan = drill_plan(GO_LIVE)
    policy = drill_policy()
    pid = plan.promotion_id
    await set_faults(stack, {"system": "pos", "operation": "publish_prices", "latency_ms": 400})
    try:
        handle = await launch_to_publishing(stack, plan, policy)
        await wait_for(handle, PromotionState.PUBLISHING)
        started = time.monotonic()
        new_offer = Offer.model_validate({"type": "percent_off", "percent": "32"})
        answer = await promo.change_price(
            stack.settings(),
            pid,
            policy.approver_of("pricing_analyst"),
            new_offer,
            "drill: competitor moved",
            client=stack.env.client,
            signer=INBOX.signer,
        )
        if answer.state is not PromotionState.PUBLISHING:
            verdict.problems.append(f"the change landed in {answer.state}, not while publishing")
        status = await _scheduled_at_version(handle, 2)
        recovered = time.monotonic() - started
    finally:
        await clear_faults(stack)
    await _channels_hold(stack, pid, status, new_offer, verdict)
    await _one_send_per_version(stack, pid, plan, verdict)
    await cancel_launch(stack, handle, plan.promotion_id, name, verdict)
    await count_effects(
        stack.backoffice.url,
        [
            *per_store(pid, plan.stores, "publish_prices", "pos_price", 2),
            *per_store(pid, plan.stores, "retract_prices", "pos_retract", 1),
            *channel_counts(pid, 2, retracted=True),
            *accrual_counts(pid, reversed_=True),
        ],
        verdict,
    )
    await _pos_holds_nothing(stack, pid, verdict)
    return DrillResult(name, verdict, recovered)


async def _scheduled_at_version(handle: WorkflowHandle[Any, Any], version: int) -> PromotionStatus:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while loop.time() < deadline:
        status = await wait_for(handle, PromotionState.SCHEDULED)
        if status.version == version and all(
            c.version == version for c in status.channels if c.state != "PENDING"
        ):
            return status
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{handle.id} not SCHEDULED at v{version} in 90 s")


async def _channels_hold(
    stack: DrillStack, pid: str, status: PromotionStatus, offer: Offer, verdict: Verdict
) -> None:
    """Every channel and store carries the new prices; none the superseded ones. The chain's
    channels carry the chain's lines; each POS store the new offer on its own price zone's
    shelf price, as the ERP masters say (read here, not taken from the run)."""
    chain = {(line.item_id, line.promo_price) for line in status.lines}
    items = sorted(item for item, _ in chain)
    async with (
        ErpClient(stack.backoffice.url) as erp,
        PosClient(stack.backoffice.url) as pos,
        EcommerceClient(stack.backoffice.url) as ecommerce,
        MarketplaceClient(stack.backoffice.url) as marketplace,
    ):
        zone_of = {st.store_id: st.price_zone for st in await erp.list_stores()}
        shelf = {(z.zone_id, z.item_id): z.shelf_price for z in await erp.zone_prices(items)}
        held = {}
        for entry in await pos.promotion_prices(pid):
            zone = zone_of[entry.store_id]
            want = {(i, offer.unit_price(shelf[(zone, i)])) for i in items}
            held[f"POS {entry.store_id}"] = (entry.status, entry.prices, want)
        for client in (ecommerce, marketplace):
            publication = await client.read_back(pid)
            held[client.channel] = (publication.status, publication.prices, chain)
    for where, (state, prices, want) in held.items():
        got = {(p.item_id, p.price) for p in prices}
        if got != want or state not in ("PUBLISHED", "LIVE"):
            verdict.problems.append(f"{where} holds {state} {sorted(got)}, not v2 {sorted(want)}")


async def _one_send_per_version(
    stack: DrillStack, pid: str, plan: PromotionPlan, verdict: Verdict
) -> None:
    """Each target got each version's key once: v1 first, then v2."""
    async with ControlClient(stack.backoffice.url) as control:
        entries = (await control.ledger(subject_prefix=f"pos_price:{pid}:", limit=10_000)).entries
    for store in plan.stores:
        keys = [e.idempotency_key for e in entries if e.subject == f"pos_price:{pid}:{store}"]
        versions = [k.split(":")[4] for k in keys if k.count(":") >= 5]
        if versions != ["v1", "v2"]:
            verdict.problems.append(f"POS {store} got {versions}, expected v1 then v2 once each")


# --------------------------------------------------------------------------- the lists


Drill = Callable[[DrillStack], Awaitable[DrillResult]]


def guarded(drill: Drill) -> Drill:
    """A drill whose unexpected exception is its failure (with the words), not the run's end:
    the table still shows every drill."""

    @functools.wraps(drill)
    async def run(stack: DrillStack) -> DrillResult:
        try:
            return await drill(stack)
        except Exception as err:
            verdict = Verdict(problems=[f"raised {type(err).__name__}: {err}"[:500]])
            return DrillResult(drill.__name__.replace("_", " "), verdict, None)

    return run


def _gather() -> tuple[list[Drill], list[Drill]]:
    from drills import feed_drills, hostile_drills, replay_drill

    fast = [
        late_confirmations,
        pos_region_down_held,
        price_change_while_publishing,
        *feed_drills.FAST,
        *hostile_drills.FAST,
        *replay_drill.FAST,
    ]
    slow = [pos_region_down_failed, *feed_drills.SLOW, *hostile_drills.SLOW]
    return [guarded(d) for d in fast], [guarded(d) for d in (*fast, *slow)]


INPUT_FAST, INPUT_ALL = _gather()
"""Input drills for the suite (each under ~20 s) and for `python -m drills`."""
