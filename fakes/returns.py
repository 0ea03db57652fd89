"""Scripted returns systems: POS, ERP, WMS, fraud and store tasks in memory.

`ScriptedReturnSystems().activities()` stands in for every `activities.returns` activity
(same registered names, from `domain.returns.contract`), for tests about orchestration
(declines, deadlines, duplicate receipts, roles, escalation) and for the benchmark (the
orchestration's cost, not the backoffice's)::

    systems = ScriptedReturnSystems(score=55)
    worker = build_worker(client, settings, fakes=systems.activities())
    ...
    systems.called(contract.NOTIFY_CUSTOMER)  # the notices the workflow sent
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.activity_options import ActivitySpec
from domain.returns import contract as c
from domain.returns.contract import (
    CreditMemo,
    CustomerNotice,
    FollowUpOrder,
    FraudQuery,
    FraudScoreResult,
    LegResult,
    OrderFound,
    OrderLookup,
    RefundLeg,
    ReturnException,
)
from domain.returns.request import Channel, OrderLine, OrderRecord, Tender, TenderType

MISSING_ORDER = "MISSING"
"""The order id the scripted POS does not know (the lookup answers with a problem)."""

Sale = Callable[[str, Channel, datetime], OrderRecord]


def tv_and_shirts(order_id: str, channel: Channel, bought: datetime) -> OrderRecord:
    """A TV (electronics, vendor V1) and two final-sale shirts, paid by gift card then card."""
    return OrderRecord(
        order_id=order_id,
        channel=channel,
        store_id="S001",
        customer_id="C-1",
        purchased_at=bought,
        lines=[
            OrderLine(
                sku="TV",
                category="electronics",
                unit_price=Decimal("100.00"),
                quantity=1,
                vendor_id="V1",
                unit_cost=Decimal("60.00"),
            ),
            OrderLine(
                sku="SHIRT",
                category="apparel",
                unit_price=Decimal("20.00"),
                quantity=2,
                final_sale=True,
            ),
        ],
        tenders=[
            Tender(
                tender_id="T1",
                type=TenderType.GIFT_CARD,
                amount=Decimal("40.00"),
                captured_at=bought,
            ),
            Tender(
                tender_id="T2",
                type=TenderType.CARD,
                amount=Decimal("100.00"),
                captured_at=bought + timedelta(seconds=1),
                card_last4="4242",
            ),
        ],
    )


def two_shirts_split_tender(order_id: str, channel: Channel, bought: datetime) -> OrderRecord:
    """Two shirts (apparel, returnable) paid by gift card and card: the benchmark's sale."""
    return OrderRecord(
        order_id=order_id,
        channel=channel,
        store_id="S001",
        customer_id="C-1",
        purchased_at=bought,
        lines=[OrderLine(sku="SHIRT", category="apparel", unit_price=Decimal("39.99"), quantity=2)],
        tenders=[
            Tender(
                tender_id="T1",
                type=TenderType.GIFT_CARD,
                amount=Decimal("30.00"),
                captured_at=bought,
            ),
            Tender(
                tender_id="T2",
                type=TenderType.CARD,
                amount=Decimal("49.98"),
                captured_at=bought + timedelta(seconds=1),
                card_last4="4242",
            ),
        ],
    )


@dataclass
class ScriptedReturnSystems:
    """In-memory POS/ERP/WMS/fraud/tasks edge with the real activity names.

    `score`/`reasons`: what the fraud service answers; `declined_methods`: refund methods
    the POS refuses for good (`tender_declined`); `sale`: the order every lookup finds,
    bought `purchased_days_ago`; `record`: keep each call in `calls` (off for benchmarks)."""

    score: int = 10
    reasons: list[str] = field(default_factory=list)
    declined_methods: set[TenderType] = field(default_factory=set)
    purchased_days_ago: int = 2
    sale: Sale = tv_and_shirts
    record: bool = True
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def order(self, order_id: str, channel: Channel) -> OrderRecord:
        bought = datetime.now(UTC) - timedelta(days=self.purchased_days_ago)
        return self.sale(order_id, channel, bought)

    def called(self, spec: ActivitySpec[Any]) -> list[Any]:
        """The arguments of every call of the activity `spec` names, in call order."""
        return [arg for name, arg in self.calls if name == spec.name]

    def _note(self, spec: ActivitySpec[Any], arg: Any) -> None:
        if self.record:
            self.calls.append((spec.name, arg))

    def activities(self) -> list[Callable[..., Any]]:
        systems = self

        @activity.defn(name=c.LOOKUP_ORDER.name)
        async def lookup_order(lookup: OrderLookup) -> OrderFound:
            systems._note(c.LOOKUP_ORDER, lookup)
            if lookup.order_id == MISSING_ORDER:
                return OrderFound(problem="not found")
            return OrderFound(order=systems.order(lookup.order_id, lookup.channel))

        @activity.defn(name=c.SCORE_FRAUD.name)
        async def score_fraud(query: FraudQuery) -> FraudScoreResult:
            systems._note(c.SCORE_FRAUD, query)
            return FraudScoreResult(score=systems.score, reasons=list(systems.reasons))

        @activity.defn(name=c.REFUND_TENDER.name)
        async def refund_tender(leg: RefundLeg) -> LegResult:
            systems._note(c.REFUND_TENDER, leg)
            if leg.allocation.method in systems.declined_methods:
                raise ApplicationError(
                    "tender declined", type="tender_declined", non_retryable=True
                )
            return LegResult(
                refund_id=f"RF-{leg.allocation.idempotency_key}",
                amount=leg.allocation.amount,
                method=leg.allocation.method,
            )

        @activity.defn(name=c.POST_CREDIT_MEMO.name)
        async def post_credit_memo(memo: CreditMemo) -> str:
            systems._note(c.POST_CREDIT_MEMO, memo)
            return f"CM-{memo.rma_id}"

        @activity.defn(name=c.FOLLOW_UP.name)
        async def follow_up(order: FollowUpOrder) -> str:
            systems._note(c.FOLLOW_UP, order)
            return "done"

        @activity.defn(name=c.NOTIFY_CUSTOMER.name)
        async def notify_customer(notice: CustomerNotice) -> str:
            systems._note(c.NOTIFY_CUSTOMER, notice)
            return "sent"

        @activity.defn(name=c.OPEN_EXCEPTION.name)
        async def open_exception(exc: ReturnException) -> str:
            systems._note(c.OPEN_EXCEPTION, exc)
            return "opened"

        return [
            lookup_order,
            score_fraud,
            refund_tender,
            post_credit_memo,
            follow_up,
            notify_customer,
            open_exception,
        ]


__all__ = [
    "MISSING_ORDER",
    "ScriptedReturnSystems",
    "tv_and_shirts",
    "two_shirts_split_tender",
]
