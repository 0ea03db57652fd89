"""Returns activities: receipt lookup, fraud score, refunds per tender, postings, restock.

Side effects only, through `adapters/`. Every mutating call carries the idempotency key
the workflow chose from business facts (RMA id, leg number, tender), so a retry (or a
replayed workflow) never refunds or posts twice. Adapter refusals become non-retryable
`ApplicationError`s with the refusal code as type (`tender_declined`, `not_found`...).

Customer notices: the backoffice has no customer messaging system, so a notice becomes
a store task ("contact the customer") at the store handling the return, and is logged
with the e-mail masked. Exceptions for people (refund mismatch, approval overdue) are
store tasks too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity

from activities.common import refusal, refusals_are_final
from adapters import Backoffice
from adapters.errors import BusinessRefusal
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
from domain.returns.disposition import FollowUpKind
from domain.returns.refund import issues_new_store_credit
from domain.returns.request import OrderLine, OrderRecord, Tender, TenderType
from wire.erp import Item, PostingRequest
from wire.fraud import FraudRequest
from wire.pos import RefundRequest, ReturnedLine
from wire.tasks import TaskRequest
from wire.wms import RestockRequest


class ReturnActivities:
    """Bound to one `Backoffice` (shared connection pool); registered by the worker."""

    def __init__(self, backoffice: Backoffice) -> None:
        self._bo = backoffice

    @activity.defn(name=c.LOOKUP_ORDER.name)
    @refusals_are_final
    async def lookup_order(self, lookup: OrderLookup) -> OrderFound:
        """The order with its lines (category, vendor, cost from the ERP) and tenders."""
        try:
            order = await self._bo.pos.get_order(lookup.order_id)
        except BusinessRefusal as err:
            if err.code == "not_found" or err.status == 404:
                return OrderFound(problem=f"order {lookup.order_id} not found: {err.message}")
            raise
        items: dict[str, Item] = {}
        for line in order.lines:
            if line.item_id not in items:
                items[line.item_id] = await self._bo.erp.get_item(line.item_id)
        lines: dict[str, OrderLine] = {}
        for line in order.lines:
            item = items[line.item_id]
            known = lines.get(line.item_id)
            if known is not None:  # the same item on two lines: one returnable line
                known.quantity += line.quantity
                known.returned_quantity += line.returned_quantity
                continue
            lines[line.item_id] = OrderLine(
                sku=line.item_id,
                description=item.name,
                category=item.category,
                unit_price=line.unit_price,
                quantity=line.quantity,
                returned_quantity=line.returned_quantity,
                final_sale=line.final_sale or item.final_sale,
                vendor_id=item.vendor_id,
                unit_cost=item.cost,
            )
        # The POS lists tenders in the order they were captured.
        tenders = [
            Tender(
                tender_id=t.tender_id,
                type=TenderType(t.tender_type),
                amount=t.amount,
                captured_at=order.ordered_at + timedelta(seconds=n),
                refunded=t.refunded_amount,
                card_last4=t.last4,
            )
            for n, t in enumerate(order.tenders)
        ]
        return OrderFound(
            order=OrderRecord(
                order_id=order.order_id,
                channel=lookup.channel,
                store_id=order.store_id,
                customer_id=order.customer_id,
                purchased_at=_utc(order.ordered_at),
                lines=list(lines.values()),
                tenders=tenders,
            )
        )

    @activity.defn(name=c.SCORE_FRAUD.name)
    @refusals_are_final
    async def score_fraud(self, query: FraudQuery) -> FraudScoreResult:
        score = await self._bo.fraud.score(
            FraudRequest(
                rma_id=query.rma_id,
                customer_id=query.customer_id,
                value=query.value,
                has_receipt=query.has_receipt,
                days_since_purchase=query.days_since_purchase,
                reason_code=query.reason.value,
                item_count=max(query.item_count, 1),
            )
        )
        return FraudScoreResult(
            score=score.score, reasons=list(score.reasons), model_version=score.model_version
        )

    @activity.defn(name=c.REFUND_TENDER.name)
    @refusals_are_final
    async def refund_tender(self, leg: RefundLeg) -> LegResult:
        """One refund leg on the POS; `tender_declined` means: fall back to store credit.

        The leg names the returned lines: the POS counts them as returned on the order
        once per RMA (every leg names the same lines; an idempotent replay changes nothing)."""
        allocation = leg.allocation
        new_credit = issues_new_store_credit(allocation)
        refund = await self._bo.pos.refund(
            RefundRequest(
                order_id=leg.order_id,
                rma_id=leg.rma_id,
                tender_type=allocation.method.value,
                tender_id=None if new_credit else allocation.tender_id,
                amount=allocation.amount,
                reason=leg.reason or f"return {leg.rma_id}",
                lines=[
                    ReturnedLine(item_id=line.sku, quantity=line.quantity) for line in leg.lines
                ],
            ),
            idempotency_key=allocation.idempotency_key,
        )
        return LegResult(
            refund_id=refund.refund_id,
            amount=refund.amount,
            method=TenderType(refund.tender_type),
            store_credit_id=refund.store_credit_id,
        )

    @activity.defn(name=c.POST_CREDIT_MEMO.name)
    @refusals_are_final
    async def post_credit_memo(self, memo: CreditMemo) -> str:
        posting = await self._bo.erp.post(
            PostingRequest(
                kind="credit_memo",
                reference=memo.rma_id,
                amount=memo.amount,
                customer_id=memo.customer_id,
                reason=(
                    f"return {memo.rma_id} on order {memo.order_id}"
                    + (f", restocking fee {memo.restocking_fee}" if memo.restocking_fee else "")
                ),
            ),
            idempotency_key=memo.idempotency_key,
        )
        return posting.posting_id

    @activity.defn(name=c.FOLLOW_UP.name)
    @refusals_are_final
    async def follow_up(self, order: FollowUpOrder) -> str:
        """The disposition's follow-up: restock in WMS, vendor claim or write-off in ERP."""
        f = order.follow_up
        if f.kind is FollowUpKind.WMS_RESTOCK:
            location = order.location_id
            if f.location == "REFURBISH":  # refurbishment happens at the store's DC
                try:
                    location = (await self._bo.erp.get_store(order.location_id)).dc_id
                except BusinessRefusal:
                    location = order.location_id  # received at a DC already
            position = await self._bo.wms.restock(
                RestockRequest(
                    location_id=location,
                    item_id=f.sku,
                    quantity=f.quantity,
                    reference=order.rma_id,
                ),
                idempotency_key=order.idempotency_key,
            )
            return f"restocked at {position.location_id}: on hand {position.on_hand}"
        if f.kind is FollowUpKind.ERP_VENDOR_CLAIM and not f.vendor_id:
            raise refusal(f"{f.sku} has no vendor to claim from", "no_vendor", sku=f.sku)
        posting = await self._bo.erp.post(
            PostingRequest(
                kind="vendor_return_claim"
                if f.kind is FollowUpKind.ERP_VENDOR_CLAIM
                else "write_off",
                reference=order.rma_id,
                amount=f.amount,
                vendor_id=f.vendor_id,
                item_id=f.sku,
                quantity=f.quantity,
                reason=f.reason,
            ),
            idempotency_key=order.idempotency_key,
        )
        return posting.posting_id

    @activity.defn(name=c.NOTIFY_CUSTOMER.name)
    @refusals_are_final
    async def notify_customer(self, notice: CustomerNotice) -> str:
        """Tell the customer: a 'contact the customer' task at the store, logged masked."""
        masked = notice.customer.masked_email()
        activity.logger.info("return %s: notify %s: %s", notice.rma_id, masked, notice.kind.value)
        if not notice.store_id:
            return f"logged for {masked} (no store to contact the customer)"
        task = await self._bo.tasks.create(
            TaskRequest(
                # one task per notice: "notify-{rma}-{kind}[-{tender}]" -> "{rma}-notify-..."
                task_id=f"{notice.rma_id}-notify-"
                + notice.idempotency_key.removeprefix(f"notify-{notice.rma_id}-"),
                store_id=notice.store_id,
                kind="labor",
                title=f"Contact customer {masked} about return {notice.rma_id}: {notice.message}"[
                    :300
                ],
                # from the first schedule, not now: a retry must resend the identical body
                due_at=activity.info().scheduled_time + timedelta(days=1),
            ),
            idempotency_key=notice.idempotency_key,
        )
        return task.task_id

    @activity.defn(name=c.OPEN_EXCEPTION.name)
    @refusals_are_final
    async def open_exception(self, exc: ReturnException) -> str:
        """An exception for a person (refund mismatch, approval overdue) as a store task."""
        activity.logger.warning("return %s: %s: %s", exc.rma_id, exc.kind, exc.message)
        if not exc.store_id:
            return f"logged: {exc.kind}"
        task = await self._bo.tasks.create(
            TaskRequest(
                task_id=f"{exc.rma_id}-{exc.kind}",
                store_id=exc.store_id,
                kind="labor",
                title=f"Return exception {exc.kind}: {exc.message}"[:300],
                due_at=exc.due_at,
            ),
            idempotency_key=exc.idempotency_key,
        )
        return task.task_id

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.lookup_order,
            self.score_fraud,
            self.refund_tender,
            self.post_credit_memo,
            self.follow_up,
            self.notify_customer,
            self.open_exception,
        ]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
