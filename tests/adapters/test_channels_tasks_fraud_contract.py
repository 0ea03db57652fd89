"""E-commerce, marketplace, store tasks and fraud through the real adapters."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from adapters import Backoffice, BusinessRefusal
from tests.adapters.helpers import eventually, key, now, uid
from wire.channels import PublicationRequest
from wire.common import PriceLine
from wire.fraud import FraudRequest
from wire.tasks import TaskRequest


@pytest.mark.parametrize("channel", ["ecommerce", "marketplace"])
async def test_publish_is_pending_then_live_then_retracted(bo: Backoffice, channel: str) -> None:
    client = bo.channel(channel)
    pid = uid("P")
    start = now()
    pub = await client.publish(
        PublicationRequest(
            promotion_id=pid,
            prices=[PriceLine(item_id="I0007", price=Decimal("5.00"))],
            start=start,
            end=start + timedelta(days=2),
        ),
        idempotency_key=key(),
    )
    assert pub.status == "PENDING" and pub.version == 1
    live = await eventually(lambda: client.read_back(pid), lambda p: p.status != "PENDING")
    assert live.status in ("LIVE", "REJECTED")
    again = await client.publish(
        PublicationRequest(
            promotion_id=pid,
            prices=[PriceLine(item_id="I0007", price=Decimal("6.00"))],
            start=start,
            end=start + timedelta(days=2),
        ),
        idempotency_key=key(),
    )
    assert again.version == 2
    retracted = await client.retract(pid, idempotency_key=key(), reason="cancelled")
    assert retracted.status == "RETRACTED"
    with pytest.raises(BusinessRefusal) as err:
        await client.read_back(uid("P"))
    assert err.value.code == "unknown_publication"


async def test_marketplace_rejects_deep_discounts(bo: Backoffice) -> None:
    pid = uid("P")
    item = await bo.erp.get_item("I0008")
    start = now()
    await bo.marketplace.publish(
        PublicationRequest(
            promotion_id=pid,
            prices=[
                PriceLine(
                    item_id="I0008",
                    price=(item.regular_price * Decimal("0.1")).quantize(Decimal("0.01")),
                )
            ],
            start=start,
            end=start + timedelta(days=1),
        ),
        idempotency_key=key(),
    )
    pub = await eventually(lambda: bo.marketplace.read_back(pid), lambda p: p.status != "PENDING")
    assert pub.status == "REJECTED" and pub.reason and "70%" in pub.reason


async def test_store_tasks(bo: Backoffice) -> None:
    pid = uid("P")
    t1 = await bo.tasks.create(
        TaskRequest(
            task_id=uid("task"),
            store_id="S010",
            kind="signage",
            title="Hang spring signs",
            due_at=now() + timedelta(days=1),
            promotion_id=pid,
        ),
        idempotency_key=key(),
    )
    t2 = await bo.tasks.create(
        TaskRequest(
            task_id=uid("task"),
            store_id="S011",
            kind="labor",
            title="Build end cap",
            due_at=now() + timedelta(days=1),
            promotion_id=pid,
        ),
        idempotency_key=key(),
    )
    assert t1.status == "OPEN"
    done = await bo.tasks.complete(t1.task_id, completed_by="manager S010")
    assert done.status == "COMPLETED" and done.completed_by == "manager S010"
    cancelled = await bo.tasks.cancel(
        t2.task_id, idempotency_key=key(), reason="promotion cancelled"
    )
    assert cancelled.status == "CANCELLED"
    listed = await bo.tasks.list(promotion_id=pid)
    assert [t.status for t in sorted(listed, key=lambda t: t.store_id)] == [
        "COMPLETED",
        "CANCELLED",
    ]
    with pytest.raises(BusinessRefusal) as err:
        await bo.tasks.create(
            TaskRequest(
                task_id=uid("task"), store_id="S999", kind="labor", title="x", due_at=now()
            ),
            idempotency_key=key(),
        )
    assert err.value.code == "unknown_store"


async def test_fraud_score_is_deterministic_with_reasons(bo: Backoffice) -> None:
    low = FraudRequest(
        rma_id=uid("RMA"),
        customer_id="C0001",
        value=Decimal("20.00"),
        has_receipt=True,
        days_since_purchase=10,
    )
    first = await bo.fraud.score(low)
    assert first == await bo.fraud.score(low)
    assert first.tier == "low" and first.reasons
    risky = FraudRequest(
        rma_id=uid("RMA"),
        customer_id="C0010",
        value=Decimal("800.00"),
        has_receipt=False,
        days_since_purchase=80,
    )
    high = await bo.fraud.score(risky)
    assert high.tier == "high" and high.score >= 70
    assert any("no receipt" in r for r in high.reasons)
    with pytest.raises(BusinessRefusal) as err:
        await bo.fraud.score(low.model_copy(update={"customer_id": "C9999"}))
    assert err.value.field == "customer_id"
