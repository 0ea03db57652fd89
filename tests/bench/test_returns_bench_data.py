"""The returns surge's data and load plan (bench/returns_data.py), checked against the
product's own rules: every TPC-DS receipt seeded for the benchmark is authorized under the
bench policy and refunds exactly the split TPC-DS recorded, one leg per tender."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from returns_data import (
    INSPECTION_RESULT,
    ITEM_RECEIVED,
    PREFIXES,
    bench_policy,
    cases,
    estate,
    plan,
)

from datasets.tpcds import store_returns
from domain.returns.eligibility import check_eligibility
from domain.returns.refund import allocate_refund
from domain.returns.request import Channel, OrderLine, OrderRecord, Tender, TenderType

COUNT = 300


def receipt(order: dict[str, object], now: datetime) -> OrderRecord:
    """The order as `returns.lookup_order` hands it to the workflow."""
    lines = order["lines"]
    tenders = order["tenders"]
    assert isinstance(lines, list) and isinstance(tenders, list)
    ordered = now - timedelta(days=int(str(order["ordered_days_ago"])))
    return OrderRecord(
        order_id=str(order["order_id"]),
        channel=Channel.STORE,
        store_id=str(order["store_id"]),
        customer_id=str(order["customer_id"]),
        purchased_at=ordered,
        lines=[
            OrderLine(sku=line["item_id"], unit_price=line["unit_price"], quantity=line["quantity"])
            for line in lines
        ],
        tenders=[
            Tender(
                tender_id=t["tender_id"],
                type=TenderType(t["tender_type"]),
                amount=Decimal(t["amount"]),
                captured_at=ordered + timedelta(seconds=n),
            )
            for n, t in enumerate(tenders)
        ],
    )


def test_every_seeded_receipt_refunds_its_tpcds_split_one_leg_per_tender() -> None:
    returns = store_returns(0.01, limit=COUNT)
    doc = estate(returns, COUNT)
    ours = tuple(f"{prefix}-" for prefix in PREFIXES.values())
    orders = {o["order_id"]: o for o in doc["orders"] if o["order_id"].startswith(ours)}
    assert len(orders) == COUNT * len(PREFIXES), "one order per return and variant"
    now = datetime(2026, 12, 1, tzinfo=UTC)
    policy = bench_policy()
    for case in cases("product", returns, COUNT):
        request = case.request()
        order = receipt(orders[case.order_id], now)
        eligibility = check_eligibility(request, order, now, policy)
        assert eligibility.authorized, (case.rma_id, eligibility.reasons())
        assert eligibility.quote is not None
        assert eligibility.quote.net == case.source.return_amount
        legs = allocate_refund(
            request.rma_id,
            eligibility.quote.net,
            order.tenders,
            channel=request.channel,
            has_receipt=True,
            policy=policy,
        )
        by_tender = {leg.tender_id: (leg.method.value, leg.amount) for leg in legs}
        expected = {
            tender_id: (kind, amount)
            for (tender_id, amount), kind in zip(
                case.tenders.items(),
                [k for k in ("cash", "card", "store_credit") if k in case.source.tenders],
                strict=True,
            )
        }
        assert by_tender == expected, case.rma_id


def test_the_plan_is_a_base_rate_then_five_times_it_with_one_percent_duplicates() -> None:
    load = plan(4.0, 50.0, 25.0)
    base = [a for a in load.arrivals if a.phase == "base"]
    surge = [a for a in load.arrivals if a.phase == "surge"]
    assert (len(base), len(surge)) == (200, 500)
    assert surge[0].at == pytest.approx(50.0)
    assert surge[1].at - surge[0].at == pytest.approx(1 / 20.0)
    twice = [a for a in load.arrivals if a.duplicate_request]
    events = [a for a in load.arrivals if a.duplicate_event]
    assert len(twice) == len(events) == 7, "1% of 700"
    assert not {a.n for a in twice} & {a.n for a in events}
    assert {a.duplicate_event for a in events} == {ITEM_RECEIVED, INSPECTION_RESULT}
    assert [a.n for a in load.arrivals] == list(range(700))
