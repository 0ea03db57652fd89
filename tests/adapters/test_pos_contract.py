"""POS through the real adapter: price book, sales, orders, refunds per tender."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from adapters import Backoffice, BusinessRefusal
from tests.adapters.helpers import key, now, uid
from tests.fixtures.backoffice import LiveBackoffice
from wire.common import PriceLine
from wire.pos import (
    Order,
    PriceBookRequest,
    PriceBookRetractRequest,
    RefundRequest,
    ReturnedLine,
    SaleRequest,
)


async def test_publish_read_back_retract(bo: Backoffice, live: LiveBackoffice) -> None:
    pid = uid("P")
    zone = (await bo.erp.get_store("S001")).price_zone
    [shelf] = await bo.erp.zone_prices(["I0005"], zones=[zone])
    regular = shelf.shelf_price  # the regular price at a store is its price zone's shelf price
    start = now() - timedelta(hours=1)
    req = PriceBookRequest(
        promotion_id=pid,
        store_ids=["S001", "S002"],
        prices=[PriceLine(item_id="I0005", price=Decimal("1.99"))],
        start=start,
        end=start + timedelta(days=3),
    )
    result = await bo.pos.publish_prices(req, idempotency_key=key())
    assert result.status == "PUBLISHED" and result.store_ids == ["S001", "S002"]
    prices = await bo.pos.store_prices("S001", ["I0005", "I0006"])
    assert prices[0].price == Decimal("1.99") and prices[0].promotion_id == pid
    assert prices[0].regular_price == regular and prices[1].promotion_id is None
    later = await bo.pos.store_prices("S001", ["I0005"], at=start + timedelta(days=4))
    assert later[0].price == regular
    entries = await bo.pos.promotion_prices(pid)
    assert [e.store_id for e in entries] == ["S001", "S002"]
    await bo.pos.retract_prices(
        PriceBookRetractRequest(promotion_id=pid, store_ids=["S001"]), idempotency_key=key()
    )
    assert (await bo.pos.store_prices("S001", ["I0005"]))[0].price == regular
    assert (await bo.pos.store_prices("S002", ["I0005"]))[0].price == Decimal("1.99")
    assert await live.ledger_count(subject=f"pos_price:{pid}:S001") == 1
    assert await live.ledger_count(subject_prefix=f"pos_retract:{pid}:") == 1


async def test_publish_bad_input(bo: Backoffice, live: LiveBackoffice) -> None:
    pid = uid("P")
    start = now()
    with pytest.raises(BusinessRefusal) as err:
        await bo.pos.publish_prices(
            PriceBookRequest(
                promotion_id=pid,
                store_ids=["S001", "S404"],
                prices=[PriceLine(item_id="I0001", price=Decimal("1.00"))],
                start=start,
                end=start + timedelta(days=1),
            ),
            idempotency_key=key(),
        )
    assert err.value.code == "unknown_store" and err.value.field == "store_ids[1]"
    # a negative price is refused before it leaves the process (typed request) ...
    with pytest.raises(ValueError):
        PriceLine(item_id="I0001", price=Decimal("-1"))
    # ... and by the backoffice when it comes from elsewhere
    response = await bo.http.post(
        "/pos/price-book/publish",
        json={
            "promotion_id": pid,
            "store_ids": ["S001"],
            "prices": [{"item_id": "I0001", "price": "-1.00"}],
            "start": start.isoformat(),
            "end": (start + timedelta(days=1)).isoformat(),
        },
        headers={"Idempotency-Key": key()},
    )
    assert response.status_code == 400
    assert response.json()["field"] == "prices[0].price"
    assert await live.ledger_count(subject_prefix=f"pos_price:{pid}") == 0


async def test_sales_are_deterministic_and_lifted_by_a_promotion(bo: Backoffice) -> None:
    since = now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=14)
    until = since + timedelta(days=7)
    first = await bo.pos.sales(
        item_ids=["I0010"], store_ids=["S003", "S004"], since=since, until=until
    )
    again = await bo.pos.sales(
        item_ids=["I0010"], store_ids=["S003", "S004"], since=since, until=until
    )
    assert first == again and first.total_units > 0
    assert first.total_units == sum(line.units for line in first.lines)
    pid = uid("P")
    regular = (await bo.erp.get_item("I0010")).regular_price
    await bo.pos.publish_prices(
        PriceBookRequest(
            promotion_id=pid,
            store_ids=["S003"],
            prices=[PriceLine(item_id="I0010", price=(regular / 2).quantize(Decimal("0.01")))],
            start=since,
            end=until,
        ),
        idempotency_key=key(),
    )
    lifted = await bo.pos.sales(
        item_ids=["I0010"], store_ids=["S003", "S004"], since=since, until=until
    )
    assert lifted.lines[0].units > first.lines[0].units
    assert lifted.lines[1].units == first.lines[1].units
    with pytest.raises(BusinessRefusal) as err:
        await bo.pos.sales(item_ids=["I0010"], since=until, until=since)
    assert err.value.field == "until"


async def test_record_sale_counts(bo: Backoffice) -> None:
    since = now() - timedelta(minutes=5)
    until = now() + timedelta(minutes=5)
    before = await bo.pos.sales(item_ids=["I0011"], store_ids=["S005"], since=since, until=until)
    await bo.pos.record_sale(
        SaleRequest(store_id="S005", item_id="I0011", units=7, unit_price=Decimal("2.50")),
        idempotency_key=key(),
    )
    after = await bo.pos.sales(item_ids=["I0011"], store_ids=["S005"], since=since, until=until)
    assert after.total_units == before.total_units + 7


async def _order_with(bo: Backoffice, *kinds: str, closed: bool | None = None) -> Order:
    for n in range(1, 169):
        order = await bo.pos.get_order(f"O{n:05d}")
        types = {t.tender_type for t in order.tenders}
        if set(kinds) <= types and all(t.refunded_amount == 0 for t in order.tenders):
            if closed is None:
                return order
            card = next(t for t in order.tenders if t.tender_type == "card")
            if (await _is_closed(bo, order.order_id, card.tender_id)) == closed:
                return order
    raise AssertionError(f"no order paid by {kinds}")


async def _is_closed(bo: Backoffice, order_id: str, tender_id: str) -> bool:
    # closed cards are every 13th order in the estate
    return int(order_id[1:]) % 13 == 0


async def test_orders_receipts_customers(bo: Backoffice) -> None:
    order = await bo.pos.get_order("O00002")
    assert sum((t.amount for t in order.tenders), Decimal(0)) == order.total
    assert (await bo.pos.find_receipt(order.receipt_id)).order_id == order.order_id
    customer = await bo.pos.get_customer(order.customer_id)
    assert customer.orders >= 1
    orders = await bo.pos.customer_orders(order.customer_id)
    assert order.order_id in {o.order_id for o in orders}
    with pytest.raises(BusinessRefusal) as err:
        await bo.pos.find_receipt("R-NONE")
    assert err.value.code == "unknown_receipt"


async def test_split_tender_refunds(bo: Backoffice, live: LiveBackoffice) -> None:
    order = await _order_with(bo, "card", "store_credit", closed=False)
    rma = uid("RMA")
    card = next(t for t in order.tenders if t.tender_type == "card")
    sc = next(t for t in order.tenders if t.tender_type == "store_credit")
    r1 = await bo.pos.refund(
        RefundRequest(
            order_id=order.order_id,
            rma_id=rma,
            tender_type="card",
            tender_id=card.tender_id,
            amount=card.amount,
        ),
        idempotency_key=key(),
    )
    r2 = await bo.pos.refund(
        RefundRequest(
            order_id=order.order_id,
            rma_id=rma,
            tender_type="store_credit",
            tender_id=sc.tender_id,
            amount=Decimal("1.00"),
        ),
        idempotency_key=key(),
    )
    assert r1.status == r2.status == "REFUNDED" and r2.store_credit_id
    with pytest.raises(BusinessRefusal) as err:
        await bo.pos.refund(
            RefundRequest(
                order_id=order.order_id,
                rma_id=rma,
                tender_type="card",
                tender_id=card.tender_id,
                amount=Decimal("0.01"),
            ),
            idempotency_key=key(),
        )
    assert err.value.code == "refund_exceeds_tender"
    assert {r.refund_id for r in await bo.pos.refunds(rma_id=rma)} == {r1.refund_id, r2.refund_id}
    assert await live.ledger_count(subject_prefix=f"refund:{rma}:") == 2


async def test_closed_card_declines_and_store_credit_fallback(bo: Backoffice) -> None:
    order = await _order_with(bo, "card", closed=True)
    card = next(t for t in order.tenders if t.tender_type == "card")
    rma = uid("RMA")
    with pytest.raises(BusinessRefusal) as err:
        await bo.pos.refund(
            RefundRequest(
                order_id=order.order_id,
                rma_id=rma,
                tender_type="card",
                tender_id=card.tender_id,
                amount=card.amount,
            ),
            idempotency_key=key(),
        )
    assert err.value.code == "tender_declined" and "store credit" in err.value.message
    fallback = await bo.pos.refund(
        RefundRequest(
            order_id=order.order_id, rma_id=rma, tender_type="store_credit", amount=card.amount
        ),
        idempotency_key=key(),
    )
    assert fallback.store_credit_id and fallback.tender_id is None


async def _order_to_return(bo: Backoffice) -> tuple[Order, str, int]:
    """An order nobody refunded yet with an item bought twice or more, and that item."""
    for n in range(1, 400):
        order = await bo.pos.get_order(f"O{n:05d}")
        if n % 13 == 0 or any(t.refunded_amount > 0 for t in order.tenders):
            continue  # closed card, or touched by another test
        if any(line.returned_quantity for line in order.lines):
            continue
        bought: dict[str, int] = {}
        for line in order.lines:
            bought[line.item_id] = bought.get(line.item_id, 0) + line.quantity
        item_id, quantity = max(bought.items(), key=lambda kv: kv[1])
        if quantity >= 2 and all(t.amount >= Decimal("2.00") for t in order.tenders):
            return order, item_id, quantity
    raise AssertionError("no unrefunded order with an item bought twice")


async def _returned(bo: Backoffice, order_id: str, item_id: str) -> int:
    order = await bo.pos.get_order(order_id)
    return sum(line.returned_quantity for line in order.lines if line.item_id == item_id)


async def test_returned_quantity_counts_each_return_once(
    bo: Backoffice, live: LiveBackoffice
) -> None:
    order, item_id, bought = await _order_to_return(bo)
    tender = order.tenders[0]
    rma = uid("RMA")
    leg = RefundRequest(
        order_id=order.order_id,
        rma_id=rma,
        tender_type=tender.tender_type,
        tender_id=tender.tender_id,
        amount=Decimal("0.50"),
        lines=[ReturnedLine(item_id=item_id, quantity=1)],
    )
    first_key = key()
    first = await bo.pos.refund(leg, idempotency_key=first_key)
    assert await _returned(bo, order.order_id, item_id) == 1
    # a replay of the same call (same key) changes nothing
    again = await bo.pos.refund(leg, idempotency_key=first_key)
    assert again.refund_id == first.refund_id
    assert await _returned(bo, order.order_id, item_id) == 1
    # a second leg of the same return (another key, the same lines) takes money, not units
    await bo.pos.refund(leg.model_copy(update={"amount": Decimal("0.25")}), idempotency_key=key())
    assert await _returned(bo, order.order_id, item_id) == 1
    assert len(await bo.pos.refunds(rma_id=rma)) == 2
    # another return takes the rest back
    rest = leg.model_copy(
        update={"rma_id": uid("RMA"), "lines": [ReturnedLine(item_id=item_id, quantity=bought - 1)]}
    )
    await bo.pos.refund(rest, idempotency_key=key())
    assert await _returned(bo, order.order_id, item_id) == bought

    # a third return of the same item: refused in words, nothing written
    late = leg.model_copy(
        update={"rma_id": uid("RMA"), "lines": [ReturnedLine(item_id=item_id, quantity=1)]}
    )
    with pytest.raises(BusinessRefusal) as err:
        await bo.pos.refund(late, idempotency_key=key())
    assert err.value.code == "return_exceeds_quantity" and err.value.status == 422
    assert err.value.field == "lines[0].quantity"
    assert f"has {bought}, {bought} already returned, 0 left" in err.value.message
    assert await bo.pos.refunds(rma_id=late.rma_id) == []
    assert await live.ledger_count(subject_prefix=f"refund:{late.rma_id}:") == 0
    # an item that is not on the order
    stranger = late.model_copy(update={"lines": [ReturnedLine(item_id="I9999", quantity=1)]})
    with pytest.raises(BusinessRefusal) as err:
        await bo.pos.refund(stranger, idempotency_key=key())
    assert err.value.code == "unknown_line" and err.value.field == "lines[0].item_id"
    assert await _returned(bo, order.order_id, item_id) == bought
    paid = (await bo.pos.get_order(order.order_id)).tenders[0]
    assert paid.refunded_amount == Decimal("0.50") + Decimal("0.25") + Decimal("0.50")
