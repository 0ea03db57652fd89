"""ERP through the real adapter against the live backoffice (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters import Backoffice, BusinessRefusal
from tests.fixtures.backoffice import LiveBackoffice
from wire.common import PriceLine, QuantityLine
from wire.erp import (
    AccrualRequest,
    ClaimRequest,
    DealCheckRequest,
    PostingRequest,
    PromotionMasterRequest,
    TransferClaimRequest,
)
from wire.wms import TransferLine, TransferRequest


def key() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


async def test_master_data_reads(bo: Backoffice) -> None:
    item = await bo.erp.get_item("I0001")
    assert item.cost > 0 and item.regular_price > item.cost
    assert isinstance(item.cost, Decimal)
    stores = await bo.erp.list_stores()
    assert len(stores) == 40
    assert len({s.timezone for s in stores}) >= 2 and len({s.region for s in stores}) >= 2
    assert len(await bo.erp.list_dcs()) == 3
    apparel = await bo.erp.list_items(category="apparel")
    assert apparel and all(i.category == "apparel" for i in apparel)
    some = await bo.erp.list_items(item_ids=["I0001", "I0002"])
    assert [i.item_id for i in some] == ["I0001", "I0002"]
    vendor = await bo.erp.get_vendor(item.vendor_id)
    assert vendor.vendor_id == item.vendor_id


async def test_unknown_item_is_a_refusal_naming_it(bo: Backoffice) -> None:
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.get_item("NOPE")
    assert err.value.code == "unknown_item"
    assert "NOPE" in err.value.message and err.value.status == 404


async def _valid_deal(bo: Backoffice) -> tuple[str, list[str]]:
    for deal in await bo.erp.list_deals():
        if deal.valid_from < now() < deal.valid_to - timedelta(days=30) and deal.cap_amount:
            return deal.deal_id, deal.item_ids
    raise AssertionError("the estate has no currently valid capped deal")


async def test_deal_check_valid_and_invalid(bo: Backoffice) -> None:
    deal_id, items = await _valid_deal(bo)
    start = now() + timedelta(days=1)
    ok = await bo.erp.check_deal(
        deal_id,
        DealCheckRequest(
            item_ids=items[:2], start=start, end=start + timedelta(days=7), units_forecast=100
        ),
    )
    assert ok.valid and ok.fundable_units == 100 and ok.fundable_amount > 0
    late = await bo.erp.check_deal(
        deal_id, DealCheckRequest(item_ids=items[:1], start=start, end=start + timedelta(days=400))
    )
    assert not late.valid and "valid from" in late.reasons[0]
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.check_deal(
            deal_id,
            DealCheckRequest(item_ids=items[:1], start=start, end=start - timedelta(days=1)),
        )
    assert err.value.field == "end" and "backwards" in err.value.message


async def test_promotion_master_lifecycle(bo: Backoffice, live: LiveBackoffice) -> None:
    pid = f"P-{uuid.uuid4().hex[:8]}"
    start = now() + timedelta(days=2)
    req = PromotionMasterRequest(
        promotion_id=pid,
        name="Spring apparel",
        items=[PriceLine(item_id="I0001", price=Decimal("29.99"))],
        store_ids=["S001", "S002"],
        start=start,
        end=start + timedelta(days=7),
    )
    created = await bo.erp.create_promotion(req, idempotency_key=key())
    assert created.status == "DRAFT" and created.version == 1
    active = await bo.erp.activate_promotion(pid, idempotency_key=key())
    assert active.status == "ACTIVE"
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.create_promotion(req, idempotency_key=key())
    assert err.value.code == "promotion_active"
    inactive = await bo.erp.deactivate_promotion(pid, idempotency_key=key(), reason="ended")
    assert inactive.status == "INACTIVE"
    assert (await bo.erp.get_promotion(pid)).status == "INACTIVE"
    assert await live.ledger_count(system="erp", subject=f"promotion:{pid}") == 3


async def test_promotion_bad_input_writes_nothing(bo: Backoffice, live: LiveBackoffice) -> None:
    pid = f"P-{uuid.uuid4().hex[:8]}"
    start = now()
    req = PromotionMasterRequest(
        promotion_id=pid,
        name="x",
        items=[PriceLine(item_id="I9999", price=Decimal("1.00"))],
        store_ids=["S001"],
        start=start,
        end=start + timedelta(days=1),
    )
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.create_promotion(req, idempotency_key=key())
    assert err.value.code == "unknown_item" and err.value.field == "items[0]"
    req2 = req.model_copy(
        update={
            "items": [PriceLine(item_id="I0001", price=Decimal("1.00"))],
            "store_ids": ["S001", "S999"],
        }
    )
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.create_promotion(req2, idempotency_key=key())
    assert err.value.code == "unknown_store" and err.value.field == "store_ids[1]"
    with pytest.raises(BusinessRefusal):
        await bo.erp.get_promotion(pid)
    assert await live.ledger_count(subject=f"promotion:{pid}") == 0


async def test_list_promotions_filters_by_item_store_window_and_state(
    bo: Backoffice,
) -> None:
    # a window far ahead that no other test uses, so only these promotions can match it
    base = now().replace(microsecond=0) + timedelta(days=500 + uuid.uuid4().int % 1000)
    tag = uuid.uuid4().hex[:8]

    async def make(n: int, items: list[str], stores: list[str], days: tuple[int, int]) -> str:
        pid = f"PL-{tag}-{n}"
        await bo.erp.create_promotion(
            PromotionMasterRequest(
                promotion_id=pid,
                name=f"listing {n}",
                items=[PriceLine(item_id=i, price=Decimal("9.99")) for i in items],
                store_ids=stores,
                start=base + timedelta(days=days[0]),
                end=base + timedelta(days=days[1]),
            ),
            idempotency_key=key(),
        )
        return pid

    a = await make(1, ["I0001", "I0002"], ["S001", "S002"], (0, 7))
    b = await make(2, ["I0002"], ["S003"], (5, 12))
    c = await make(3, ["I0003"], ["S001"], (20, 27))
    await bo.erp.activate_promotion(a, idempotency_key=key())
    await bo.erp.activate_promotion(c, idempotency_key=key())
    await bo.erp.deactivate_promotion(c, idempotency_key=key(), reason="withdrawn")
    mine = {a, b, c}

    async def ids(**filters: Any) -> list[str]:
        found = await bo.erp.list_promotions(
            active_from=base - timedelta(days=1), active_until=base + timedelta(days=60), **filters
        )
        return [p.promotion_id for p in found if p.promotion_id in mine]

    assert await ids() == [a, b, c]  # ordered by promotion id
    listed = {p.promotion_id: p for p in await bo.erp.list_promotions(item_ids=["I0001"])}
    first = listed[a]
    assert first.status == "ACTIVE" and first.store_ids == ["S001", "S002"]
    assert [line.item_id for line in first.items] == ["I0001", "I0002"]
    assert first.start == base and first.end == base + timedelta(days=7)
    assert b not in listed and c not in listed
    assert await ids(item_ids=["I0002"]) == [a, b]
    assert await ids(item_ids=["I0003", "I0001"]) == [a, c]
    assert await ids(store_ids=["S001"]) == [a, c]
    assert await ids(item_ids=["I0002"], store_ids=["S003"]) == [b]
    assert await ids(statuses=["ACTIVE"]) == [a]
    assert await ids(statuses=["DRAFT", "ACTIVE"]) == [a, b]
    assert await ids(statuses=["INACTIVE"]) == [c]
    # the window: overlapping [from, until); a promotion ending at `from` does not overlap
    window = await bo.erp.list_promotions(
        active_from=base + timedelta(days=7), active_until=base + timedelta(days=8)
    )
    assert [p.promotion_id for p in window if p.promotion_id in mine] == [b]
    only_from = await bo.erp.list_promotions(active_from=base + timedelta(days=13))
    assert [p.promotion_id for p in only_from if p.promotion_id in mine] == [c]
    only_until = await bo.erp.list_promotions(active_until=base + timedelta(days=5))
    assert [p.promotion_id for p in only_until if p.promotion_id in mine] == [a]


async def test_list_promotions_bad_filters_are_refused_in_words(bo: Backoffice) -> None:
    start = now()
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.list_promotions(active_from=start, active_until=start - timedelta(days=1))
    assert err.value.status == 400 and err.value.field == "until"
    assert "backwards" in err.value.message
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.list_promotions(statuses=["LIVE"])  # type: ignore[list-item]
    assert err.value.field == "status[0]" and "unknown promotion state 'LIVE'" in err.value.message
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.list_promotions(active_from=start.replace(tzinfo=None))
    assert err.value.field == "from" and "time zone" in err.value.message


async def test_accrue_claim_reconcile_and_reverse(bo: Backoffice) -> None:
    deal_id, _items = await _valid_deal(bo)
    pid = f"P-{uuid.uuid4().hex[:8]}"
    accrual = await bo.erp.accrue(
        AccrualRequest(promotion_id=pid, deal_id=deal_id, units=100, amount=Decimal("50.00")),
        idempotency_key=key(),
    )
    assert accrual.status == "ACCRUED"
    claim = await bo.erp.claim(
        ClaimRequest(promotion_id=pid, deal_id=deal_id, units=10), idempotency_key=key()
    )
    deal = await bo.erp.get_deal(deal_id)
    assert claim.amount == (deal.funding_per_unit * 10).quantize(Decimal("0.01"))
    assert claim.accrued_amount == Decimal("50.00")
    summary = await bo.erp.funding(pid)
    assert summary.accrued_amount == Decimal("50.00") and summary.claimed_amount == claim.amount
    reversed_ = await bo.erp.reverse_accrual(accrual.accrual_id, idempotency_key=key())
    assert reversed_.status == "REVERSED"
    summary = await bo.erp.funding(pid)
    assert summary.accrued_amount == 0 and summary.reversed_amount == Decimal("50.00")


async def test_settling_an_accrual_consumes_the_claim_releases_the_rest_and_closes_it(
    bo: Backoffice, live: LiveBackoffice
) -> None:
    deal_id, _items = await _valid_deal(bo)
    pid = f"P-{uuid.uuid4().hex[:8]}"
    accrual = await bo.erp.accrue(
        AccrualRequest(promotion_id=pid, deal_id=deal_id, units=100, amount=Decimal("50.00")),
        idempotency_key=key(),
    )
    claim = await bo.erp.claim(
        ClaimRequest(promotion_id=pid, deal_id=deal_id, units=10), idempotency_key=key()
    )
    first_key = key()
    settled = await bo.erp.settle_accrual(accrual.accrual_id, idempotency_key=first_key)
    assert settled.status == "SETTLED"
    assert settled.claimed == claim.amount
    assert settled.released == Decimal("50.00") - claim.amount
    again = await bo.erp.settle_accrual(accrual.accrual_id, idempotency_key=key())
    assert (again.claimed, again.released) == (settled.claimed, settled.released)
    summary = await bo.erp.funding(pid)
    assert summary.accrued_amount == 0 and summary.settled_amount == Decimal("50.00")
    effects = await live.ledger_count(
        system="erp", operation="settle_accrual", subject=f"accrual:{pid}:{deal_id}"
    )
    assert effects == 1  # settled once, however often asked


async def test_claim_is_capped(bo: Backoffice) -> None:
    deals = [d for d in await bo.erp.list_deals() if d.cap_units]
    deal = deals[0]
    claim = await bo.erp.claim(
        ClaimRequest(
            promotion_id=f"P-{uuid.uuid4().hex[:8]}",
            deal_id=deal.deal_id,
            units=(deal.cap_units or 0) + 1_000_000,
        ),
        idempotency_key=key(),
    )
    assert claim.capped and claim.units <= (deal.cap_units or 0)


async def test_postings_and_transfer_claims(bo: Backoffice, live: LiveBackoffice) -> None:
    rma = f"RMA-{uuid.uuid4().hex[:8]}"
    memo = await bo.erp.post(
        PostingRequest(
            kind="credit_memo", reference=rma, amount=Decimal("12.50"), customer_id="C0001"
        ),
        idempotency_key=key(),
    )
    off = await bo.erp.post(
        PostingRequest(
            kind="write_off", reference=rma, amount=Decimal("3.00"), item_id="I0002", quantity=1
        ),
        idempotency_key=key(),
    )
    rtv = await bo.erp.post(
        PostingRequest(
            kind="vendor_return_claim",
            reference=rma,
            amount=Decimal("8.00"),
            item_id="I0003",
            quantity=1,
        ),
        idempotency_key=key(),
    )
    assert rtv.vendor_id  # derived from the item
    assert {p.posting_id for p in await bo.erp.list_postings(reference=rma)} == {
        memo.posting_id,
        off.posting_id,
        rtv.posting_id,
    }
    assert await live.ledger_count(subject=f"credit_memo:{rma}") == 1
    tid = f"T-{uuid.uuid4().hex[:8]}"
    await bo.wms.create_transfer(
        TransferRequest(
            transfer_id=tid,
            source_id="DC-EAST",
            dest_id="S001",
            lines=[TransferLine(item_id="I0001", quantity=2)],
            progress="manual",
        ),
        idempotency_key=key(),
    )
    tc = await bo.erp.claim_transfer(
        TransferClaimRequest(
            transfer_id=tid,
            kind="short",
            lines=[QuantityLine(item_id="I0001", quantity=1)],
            amount=Decimal("22.90"),
        ),
        idempotency_key=key(),
    )
    assert [c.claim_id for c in await bo.erp.list_transfer_claims(transfer_id=tid)] == [tc.claim_id]
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.post(
            PostingRequest(kind="write_off", reference=rma, amount=Decimal("1.00"), item_id="NOPE"),
            idempotency_key=key(),
        )
    assert err.value.field == "item_id"
