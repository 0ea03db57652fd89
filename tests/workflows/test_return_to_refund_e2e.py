"""ReturnToRefund end to end against the live backoffice (POS, ERP, WMS, fraud, store tasks).

Each test picks a seeded order of a customer no other test uses (fraud scores depend on the
customer's return history), runs the real activities, and checks the systems of record:
refunds per tender in the POS, postings in the ERP, stock in the WMS, tasks at the store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from common.config import Settings
from domain.money import cents
from domain.returns.contract import Decision, InspectionResult, ItemReceived
from domain.returns.disposition import Condition, Disposition
from domain.returns.eligibility import DeclineReason
from domain.returns.request import ReturnRequest, TenderType
from domain.returns.status import LegState, ReturnState, ReturnStatus
from drills.process_flows import order_allocations
from tests.fixtures.returns import (
    LOSS_PREVENTION,
    SUPERVISOR,
    SeededOrders,
    decide,
    return_request,
    start_return,
    wait_for_state,
)
from workflows.return_to_refund import ReturnToRefund


@pytest.fixture
async def returns_worker(
    env: WorkflowEnvironment, run_worker: Any, backoffice: Any
) -> AsyncIterator[None]:
    """The worker's own registry, its real activities against the live backoffice."""
    async with run_worker(env.client, settings=replace(Settings(), backoffice_url=backoffice.url)):
        yield


async def start(
    env: WorkflowEnvironment, task_queue: str, request: ReturnRequest, *, skip_time: bool = False
) -> WorkflowHandle[ReturnToRefund, ReturnStatus]:
    if skip_time:
        return await start_return(env.client, task_queue, request)
    with env.with_time_skipping_disabled():
        return await start_return(env.client, task_queue, request)


async def bring_in(
    handle: WorkflowHandle[ReturnToRefund, ReturnStatus], condition: Condition, **kw: Any
) -> None:
    await handle.signal(ReturnToRefund.item_received, ItemReceived(receipt_id="SCAN-1"))
    await handle.signal(
        ReturnToRefund.inspection_result,
        InspectionResult(inspector="ines", condition=condition, **kw),
    )


async def pos_refunds(backoffice: Any, rma_id: str) -> list[Any]:
    async with backoffice.adapters() as bo:
        return list(await bo.pos.refunds(rma_id=rma_id))


async def postings(backoffice: Any, rma_id: str) -> list[Any]:
    async with backoffice.adapters() as bo:
        return list(await bo.erp.list_postings(reference=rma_id))


async def task_exists(backoffice: Any, task_id: str) -> bool:
    async with backoffice.adapters() as bo:
        try:
            await bo.tasks.get(task_id)
        except Exception:
            return False
    return True


def assert_refunded_in_full(status: ReturnStatus, refunds: list[Any], memos: list[Any]) -> None:
    assert status.state is ReturnState.CLOSED and status.mismatch == 0
    assert status.quote is not None and status.refunded_total == status.quote.net
    assert sum((r.amount for r in refunds), Decimal("0")) == status.quote.net
    credit = [p for p in memos if p.kind == "credit_memo"]
    assert [c.amount for c in credit] == [status.quote.net]


async def test_low_tier_refunds_automatically_over_the_original_tenders(
    env: WorkflowEnvironment,
    task_queue: str,
    returns_worker: None,
    backoffice: Any,
    seeded_orders: SeededOrders,
) -> None:
    found = await seeded_orders.find("low")
    request = found.request()
    handle = await start(env, task_queue, request)
    await bring_in(handle, Condition.UNOPENED)
    status = await handle.result()
    assert status.fraud is not None and status.fraud.tier.value == "LOW"
    assert status.approval is None
    refunds = await pos_refunds(backoffice, request.rma_id)
    assert_refunded_in_full(status, refunds, await postings(backoffice, request.rma_id))
    by_tender = {r.tender_id: r.amount for r in refunds}
    for leg in status.tenders:
        assert leg.state is LegState.REFUNDED
        assert by_tender[leg.allocation.tender_id] == leg.allocation.amount
    assert status.receipt_to_refund_seconds is not None and status.refund_sla_met
    assert await task_exists(backoffice, f"{request.rma_id}-notify-refunded")
    restocked = await backoffice.ledger_count(
        system="wms", subject_prefix=f"restock:{request.rma_id}:"
    )
    assert restocked == len(found.lines)


async def test_medium_tier_waits_for_a_store_supervisor(
    env: WorkflowEnvironment,
    task_queue: str,
    returns_worker: None,
    backoffice: Any,
    seeded_orders: SeededOrders,
) -> None:
    found = await seeded_orders.find("medium")
    request = found.request()
    handle = await start(env, task_queue, request)
    await bring_in(handle, Condition.LIKE_NEW)
    waiting = await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
    assert waiting.fraud is not None and waiting.fraud.reasons
    assert waiting.awaiting_role == [SUPERVISOR]
    assert await pos_refunds(backoffice, request.rma_id) == []
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, ReturnToRefund.approve, Decision(approver="lee", role=LOSS_PREVENTION))
    assert f"needs {SUPERVISOR.value}" in str(refused.value.cause)
    await decide(handle, ReturnToRefund.approve, Decision(approver="sam", role=SUPERVISOR))
    status = await handle.result()
    assert status.approval is not None and status.approval.role is SUPERVISOR
    assert_refunded_in_full(
        status,
        await pos_refunds(backoffice, request.rma_id),
        await postings(backoffice, request.rma_id),
    )


async def test_high_tier_holds_the_refund_for_loss_prevention(
    env: WorkflowEnvironment,
    task_queue: str,
    returns_worker: None,
    backoffice: Any,
    seeded_orders: SeededOrders,
) -> None:
    try:
        found = await seeded_orders.find("high", reason="unwanted")
    except LookupError:
        found = await seeded_orders.find("high", reason="defective")
    request = found.request()
    handle = await start(env, task_queue, request)
    await bring_in(handle, Condition.UNOPENED)
    waiting = await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
    assert waiting.fraud is not None and waiting.fraud.holds_refund
    assert waiting.awaiting_role == [LOSS_PREVENTION]
    assert await pos_refunds(backoffice, request.rma_id) == []  # held
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, ReturnToRefund.approve, Decision(approver="sam", role=SUPERVISOR))
    assert f"needs {LOSS_PREVENTION.value}" in str(refused.value.cause)
    await decide(
        handle,
        ReturnToRefund.approve,
        Decision(approver="lee", role=LOSS_PREVENTION, note="history checked"),
    )
    status = await handle.result()
    assert_refunded_in_full(
        status,
        await pos_refunds(backoffice, request.rma_id),
        await postings(backoffice, request.rma_id),
    )


def spans_card_and_another_tender(order: Any, lines: list[tuple[str, int]]) -> bool:
    methods = [a.method for a in order_allocations(order, lines, "probe")]
    return TenderType.CARD in methods and len(methods) >= 2 and TenderType.CASH not in methods


async def test_split_tender_with_a_card_failing_for_good_falls_back_to_store_credit(
    env: WorkflowEnvironment,
    task_queue: str,
    returns_worker: None,
    backoffice: Any,
    seeded_orders: SeededOrders,
) -> None:
    found = await seeded_orders.find("low", accept=spans_card_and_another_tender)
    request = found.request()
    async with backoffice.fault("pos", "refund.card", refusal_rate=1.0):
        handle = await start(env, task_queue, request)
        await bring_in(handle, Condition.UNOPENED)
        status = await handle.result()
    legs = {leg.allocation.method: leg for leg in status.tenders}
    card = legs[TenderType.CARD]
    assert card.state is LegState.FELL_BACK_TO_STORE_CREDIT
    assert "tender_declined" in (card.failure or "")
    assert all(leg.state is LegState.REFUNDED for m, leg in legs.items() if m != TenderType.CARD)
    refunds = await pos_refunds(backoffice, request.rma_id)
    assert_refunded_in_full(status, refunds, await postings(backoffice, request.rma_id))
    credit = [r for r in refunds if r.tender_type == "store_credit" and r.tender_id is None]
    assert [r.amount for r in credit] == [card.allocation.amount]
    tender = card.allocation.tender_id
    assert await task_exists(backoffice, f"{request.rma_id}-notify-store_credit_fallback-{tender}")


async def test_refund_mismatch_opens_an_exception(
    env: WorkflowEnvironment,
    task_queue: str,
    returns_worker: None,
    backoffice: Any,
    seeded_orders: SeededOrders,
) -> None:
    found = await seeded_orders.find("low", accept=spans_card_and_another_tender)
    request = found.request()
    async with (
        backoffice.fault("pos", "refund.card", refusal_rate=1.0),
        backoffice.fault("pos", "refund.store_credit", refusal_rate=1.0),
    ):
        handle = await start(env, task_queue, request)
        await bring_in(handle, Condition.UNOPENED)
        status = await handle.result()
    assert status.quote is not None
    card = next(leg for leg in status.tenders if leg.allocation.method is TenderType.CARD)
    assert card.state is LegState.FAILED
    assert status.outcome is ReturnState.PARTIALLY_REFUNDED
    assert status.mismatch > 0 and status.refunded_total + status.mismatch == status.quote.net
    assert status.exception is not None and "refund mismatch" in status.exception
    assert await task_exists(backoffice, f"{request.rma_id}-refund_mismatch")
    memo = [p for p in await postings(backoffice, request.rma_id) if p.kind == "credit_memo"]
    assert [m.amount for m in memo] == [status.refunded_total]


async def test_restocking_fee_is_kept_from_the_refund(
    env: WorkflowEnvironment,
    task_queue: str,
    returns_worker: None,
    backoffice: Any,
    seeded_orders: SeededOrders,
) -> None:
    def electronics_only(order: Any, lines: list[tuple[str, int]]) -> bool:
        return all(seeded_orders.category(s) == "electronics" for s, _ in lines)

    found = await seeded_orders.find("low", reason="unwanted", accept=electronics_only)
    request = found.request()
    handle = await start(env, task_queue, request)
    await bring_in(handle, Condition.UNOPENED)
    status = await handle.result()
    assert status.quote is not None
    assert status.quote.restocking_fee == cents(found.value * Decimal("0.15")) > 0
    assert status.quote.net == found.value - status.quote.restocking_fee
    assert_refunded_in_full(
        status,
        await pos_refunds(backoffice, request.rma_id),
        await postings(backoffice, request.rma_id),
    )


@pytest.mark.parametrize(
    ("condition", "disposition", "posting"),
    [
        (Condition.OPENED, Disposition.REFURBISH, None),
        (Condition.DEFECTIVE, Disposition.RETURN_TO_VENDOR, "vendor_return_claim"),
        (Condition.DAMAGED, Disposition.LIQUIDATE, "write_off"),
        (Condition.UNSAFE, Disposition.DESTROY, "write_off"),
    ],
)
async def test_each_disposition_sets_its_follow_up_in_motion(
    env: WorkflowEnvironment,
    task_queue: str,
    returns_worker: None,
    backoffice: Any,
    seeded_orders: SeededOrders,
    condition: Condition,
    disposition: Disposition,
    posting: str | None,
) -> None:
    def fits(order: Any, lines: list[tuple[str, int]]) -> bool:
        if len(lines) != 1:
            return False
        refurbishable = seeded_orders.category(lines[0][0]) in ("electronics", "appliances")
        return refurbishable if disposition is Disposition.REFURBISH else True

    found = await seeded_orders.find("low", accept=fits)
    request = found.request()
    ((sku, qty),) = found.lines
    handle = await start(env, task_queue, request)
    await bring_in(handle, condition)
    status = await handle.result()
    assert status.dispositions == {sku: disposition}
    booked = [p for p in await postings(backoffice, request.rma_id) if p.kind != "credit_memo"]
    restocks = await backoffice.ledger(system="wms", subject_prefix=f"restock:{request.rma_id}:")
    cost = seeded_orders.items[sku].cost * qty
    if posting is None:  # refurbish: back into stock at the store's DC
        assert booked == []
        async with backoffice.adapters() as bo:
            dc = (await bo.erp.get_store(found.order.store_id)).dc_id
        assert [(e.quantity, e.detail.get("location_id")) for e in restocks.entries] == [(qty, dc)]
    else:
        assert restocks.count == 0
        assert [(p.kind, p.item_id, p.quantity) for p in booked] == [(posting, sku, qty)]
        expected = {
            Disposition.RETURN_TO_VENDOR: cents(cost),
            Disposition.LIQUIDATE: cents(cents(cost) * Decimal("0.80")),
            Disposition.DESTROY: cents(cost),
        }[disposition]
        assert booked[0].amount == expected
        if disposition is Disposition.RETURN_TO_VENDOR:
            assert booked[0].vendor_id == seeded_orders.items[sku].vendor_id


async def test_duplicate_receipt_restocks_once(
    env: WorkflowEnvironment,
    task_queue: str,
    returns_worker: None,
    backoffice: Any,
    seeded_orders: SeededOrders,
) -> None:
    found = await seeded_orders.find("low")
    request = found.request()
    handle = await start(env, task_queue, request)
    await wait_for_state(handle, ReturnState.AWAITING_ITEM)
    for event in (
        ItemReceived(receipt_id="SCAN-1"),
        ItemReceived(receipt_id="SCAN-1"),
        ItemReceived(receipt_id="WH-77", source="warehouse_receipt"),
    ):
        await handle.signal(ReturnToRefund.item_received, event)
    await handle.signal(
        ReturnToRefund.inspection_result,
        InspectionResult(inspector="ines", condition=Condition.UNOPENED),
    )
    status = await handle.result()
    assert [a.action for a in status.audit].count("item_received dropped") == 2
    restocks = await backoffice.ledger(system="wms", subject_prefix=f"restock:{request.rma_id}:")
    assert sorted((e.subject, e.quantity) for e in restocks.entries) == sorted(
        (f"restock:{request.rma_id}:{s}", q) for s, q in found.lines
    )
    assert len(await pos_refunds(backoffice, request.rma_id)) == len(status.tenders)


async def test_item_that_never_arrives_expires_and_the_customer_is_told(
    env: WorkflowEnvironment,
    task_queue: str,
    returns_worker: None,
    backoffice: Any,
    seeded_orders: SeededOrders,
) -> None:
    found = await seeded_orders.find("low")
    request = found.request()
    status = await (await start(env, task_queue, request, skip_time=True)).result()
    assert status.state is ReturnState.EXPIRED
    assert await pos_refunds(backoffice, request.rma_id) == []
    assert await task_exists(backoffice, f"{request.rma_id}-notify-expired")


async def test_declines_name_every_reason(
    env: WorkflowEnvironment,
    task_queue: str,
    returns_worker: None,
    backoffice: Any,
    seeded_orders: SeededOrders,
) -> None:
    await seeded_orders.load()
    final = next(
        (o, line)
        for o in seeded_orders.orders
        for line in o.lines
        if not seeded_orders.returnable(line)
    )
    order, line = final
    first = return_request(
        order.order_id,
        [(line.item_id, line.quantity + 5)],
        customer_id=order.customer_id,
        store_id=order.store_id,
    )
    status = await (await start(env, task_queue, first, skip_time=True)).result()
    assert status.state is ReturnState.DECLINED
    assert {d.reason for d in status.declines} >= {
        DeclineReason.FINAL_SALE,
        DeclineReason.QUANTITY_EXCEEDED,
    }
    old = next(o for o in seeded_orders.orders if (datetime.now(UTC) - o.ordered_at).days > 40)
    sku = next(line.item_id for line in old.lines)
    second = return_request(
        old.order_id, [(sku, 1)], customer_id=old.customer_id, store_id=old.store_id
    )
    status = await (await start(env, task_queue, second, skip_time=True)).result()
    assert DeclineReason.RETURN_PERIOD_ENDED in {d.reason for d in status.declines}
    other = return_request(
        old.order_id, [(sku, 1)], customer_id="C-SOMEONE-ELSE", store_id=old.store_id
    )
    status = await (await start(env, task_queue, other, skip_time=True)).result()
    assert "belongs to another customer" in " ".join(d.message for d in status.declines)
    for rma in (first.rma_id, second.rma_id, other.rma_id):
        assert await pos_refunds(backoffice, rma) == []


async def test_second_return_for_more_than_is_left_is_declined(
    env: WorkflowEnvironment,
    task_queue: str,
    returns_worker: None,
    backoffice: Any,
    seeded_orders: SeededOrders,
) -> None:
    def one_item_bought_twice(order: Any, lines: list[tuple[str, int]]) -> bool:
        return len(lines) == 1 and lines[0][1] >= 2

    found = await seeded_orders.find("low", accept=one_item_bought_twice)
    ((sku, bought),) = found.lines
    order = found.order

    def rma(quantity: int) -> ReturnRequest:
        return return_request(
            order.order_id,
            [(sku, quantity)],
            customer_id=order.customer_id,
            store_id=order.store_id,
            reason=found.reason,
        )

    # the first return takes all but one unit back and is refunded
    first = rma(bought - 1)
    handle = await start(env, task_queue, first)
    await bring_in(handle, Condition.UNOPENED)
    status = await handle.result()
    assert status.state is ReturnState.CLOSED, status.declines
    async with backoffice.adapters() as bo:
        lines = (await bo.pos.get_order(order.order_id)).lines
    assert sum(line.returned_quantity for line in lines if line.item_id == sku) == bought - 1

    # a second return of two units on the same line: only one is left
    second = rma(2)
    status = await (await start(env, task_queue, second, skip_time=True)).result()
    assert status.state is ReturnState.DECLINED
    assert [(d.reason, d.sku) for d in status.declines] == [(DeclineReason.QUANTITY_EXCEEDED, sku)]
    assert status.declines[0].message == (
        f"sku {sku}: 2 asked, {bought} bought, {bought - 1} already returned"
    )
    assert await pos_refunds(backoffice, second.rma_id) == []

    # what is left can still come back
    third = rma(1)
    handle = await start(env, task_queue, third)
    waiting = await wait_for_state(handle, ReturnState.AWAITING_ITEM)
    assert waiting.declines == [] and waiting.quote is not None
    await handle.terminate(reason="test over")
