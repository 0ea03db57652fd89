"""The returns surge's bare-workflow baseline: the product's activity calls, no product logic.

`BenchBareReturn` takes the same `ReturnInput`, the same two events (`item_received`,
`inspection_result`, through the ingress) and runs the same registered activities as
`ReturnToRefund` on its automatic path, in the same order: receipt lookup, fraud score,
"authorized" notice, (both events in) the inspection's one follow-up per line, one refund
per tender of the receipt, the credit memo, the "refunded" notice. What it leaves out is
everything the product decides and records: eligibility and the quote, the fraud tier,
the refund allocation, dispositions from the policy, the status and its audit trail,
search attributes, duplicate bookkeeping beyond "already have it".
"""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.returns import contract as c
    from domain.returns.contract import (
        CreditMemo,
        CustomerNotice,
        FollowUpOrder,
        FraudQuery,
        InspectionResult,
        ItemReceived,
        NotificationKind,
        OrderLookup,
        RefundLeg,
        ReturnInput,
    )
    from domain.returns.disposition import Condition, FollowUp, FollowUpKind
    from domain.returns.refund import TenderAllocation
    from domain.returns.request import ReturnLineRequest
    from workflows.activity_calls import call

FOLLOW_UP_OF = {
    Condition.UNOPENED: FollowUpKind.WMS_RESTOCK,
    Condition.LIKE_NEW: FollowUpKind.WMS_RESTOCK,
    Condition.DEFECTIVE: FollowUpKind.ERP_VENDOR_CLAIM,
}
"""The one follow-up call the benchmark's conditions lead to (anything else: write-off)."""


@workflow.defn
class BenchBareReturn:
    def __init__(self) -> None:
        self._received: ItemReceived | None = None
        self._inspection: InspectionResult | None = None

    @workflow.run
    async def run(self, inp: ReturnInput) -> Decimal:
        req = inp.request
        found = await call(
            c.LOOKUP_ORDER,
            OrderLookup(rma_id=req.rma_id, order_id=req.order_id, channel=req.channel),
            summary="look up order",
        )
        order = found.order
        if order is None:
            raise ValueError(f"order {req.order_id} not found: {found.problem}")
        value = sum((line.unit_price * line.quantity for line in order.lines), Decimal("0"))
        await call(
            c.SCORE_FRAUD,
            FraudQuery(
                rma_id=req.rma_id,
                customer_id=req.customer.customer_id,
                value=value,
                has_receipt=True,
                days_since_purchase=(workflow.now() - order.purchased_at).days,
                reason=req.reason,
                item_count=sum(line.quantity for line in req.lines),
            ),
            summary="score",
        )
        await self._notify(inp, NotificationKind.AUTHORIZED, "authorized")
        await workflow.wait_condition(lambda: self._inspection is not None)
        assert self._inspection is not None
        kind = FOLLOW_UP_OF.get(self._inspection.condition, FollowUpKind.ERP_WRITE_OFF)
        location = req.store_id or order.store_id or ""
        for n, line in enumerate(order.lines, start=1):
            follow = FollowUp(
                kind=kind,
                sku=line.sku,
                quantity=line.quantity,
                location="SELLABLE" if kind is FollowUpKind.WMS_RESTOCK else None,
                vendor_id=line.vendor_id,
                amount=(line.unit_cost or line.unit_price) * line.quantity,
            )
            await call(
                c.FOLLOW_UP,
                FollowUpOrder(
                    rma_id=req.rma_id,
                    location_id=location,
                    follow_up=follow,
                    idempotency_key=f"bare-followup-{req.rma_id}-{n}",
                ),
                summary="follow up",
            )
        lines = [ReturnLineRequest(sku=line.sku, quantity=line.quantity) for line in order.lines]
        refunded = Decimal("0")
        for tender in order.tenders:
            leg = await call(
                c.REFUND_TENDER,
                RefundLeg(
                    rma_id=req.rma_id,
                    order_id=req.order_id,
                    allocation=TenderAllocation(
                        idempotency_key=f"bare-refund-{req.rma_id}-{tender.tender_id}",
                        tender_id=tender.tender_id,
                        original_type=tender.type,
                        method=tender.type,
                        amount=tender.amount - tender.refunded,
                    ),
                    lines=lines,
                ),
                summary="refund",
            )
            refunded += leg.amount
        await call(
            c.POST_CREDIT_MEMO,
            CreditMemo(
                rma_id=req.rma_id,
                order_id=req.order_id,
                customer_id=req.customer.customer_id,
                amount=refunded,
                restocking_fee=Decimal("0"),
                idempotency_key=f"bare-memo-{req.rma_id}",
            ),
            summary="credit memo",
        )
        await self._notify(inp, NotificationKind.REFUNDED, f"{refunded} refunded")
        return refunded

    async def _notify(self, inp: ReturnInput, kind: NotificationKind, message: str) -> None:
        req = inp.request
        await call(
            c.NOTIFY_CUSTOMER,
            CustomerNotice(
                rma_id=req.rma_id,
                store_id=req.store_id,
                customer=req.customer,
                kind=kind,
                message=message,
                idempotency_key=f"notify-{req.rma_id}-{kind.value}",
            ),
            summary="notify",
        )

    @workflow.signal(name=c.ITEM_RECEIVED)
    def item_received(self, event: ItemReceived) -> None:
        if self._received is None:
            self._received = event

    @workflow.signal(name=c.INSPECTION_RESULT)
    def inspection_result(self, result: InspectionResult) -> None:
        if self._received is not None and self._inspection is None:
            self._inspection = result
