"""Eligibility: authorize a return or decline it, naming every reason found."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from domain.returns.policy import DEFAULT_POLICY, ReturnPolicy
from domain.returns.refund import RefundQuote, quote_lines
from domain.returns.request import OrderLine, OrderRecord, ReturnLineRequest, ReturnRequest


class DeclineReason(StrEnum):
    FINAL_SALE = "FINAL_SALE"
    RETURN_PERIOD_ENDED = "RETURN_PERIOD_ENDED"
    QUANTITY_EXCEEDED = "QUANTITY_EXCEEDED"
    NO_RECEIPT_LIMIT = "NO_RECEIPT_LIMIT"
    OTHER = "OTHER"


class Decline(BaseModel):
    reason: DeclineReason
    sku: str | None = None
    message: str


class Eligibility(BaseModel):
    authorized: bool
    declines: list[Decline] = []
    quote: RefundQuote | None = None

    def reasons(self) -> str:
        """Every decline in one sentence (what the customer and the UI are told)."""
        return "; ".join(d.message for d in self.declines)


def check_eligibility(
    request: ReturnRequest,
    order: OrderRecord | None,
    now: datetime,
    policy: ReturnPolicy = DEFAULT_POLICY,
) -> Eligibility:
    """Authorize or decline, listing every reason found (not only the first)."""
    if order is None:
        missing = f"order {request.order_id} was not found in the sales records"
        return Eligibility(
            authorized=False, declines=[Decline(reason=DeclineReason.OTHER, message=missing)]
        )
    declines = _customer_declines(request, order)
    for wanted in request.lines:
        declines.extend(_line_declines(wanted, order, now, policy))
    quote = quote_lines(request, order, policy)
    if not request.has_receipt and quote.gross > policy.no_receipt_limit:
        declines.append(
            Decline(
                reason=DeclineReason.NO_RECEIPT_LIMIT,
                message=(
                    f"without a receipt at most {policy.no_receipt_limit} can be refunded; "
                    f"this return is worth {quote.gross}"
                ),
            )
        )
    if declines:
        return Eligibility(authorized=False, declines=declines, quote=quote)
    return Eligibility(authorized=True, quote=quote)


def _customer_declines(request: ReturnRequest, order: OrderRecord) -> list[Decline]:
    if order.customer_id and order.customer_id != request.customer.customer_id:
        message = f"order {order.order_id} belongs to another customer"
        return [Decline(reason=DeclineReason.OTHER, message=message)]
    return []


def _line_declines(
    wanted: ReturnLineRequest, order: OrderRecord, now: datetime, policy: ReturnPolicy
) -> list[Decline]:
    """Why one requested line cannot come back: not on the order, final sale, too late,
    more than is left."""
    line = order.line(wanted.sku)
    if line is None:
        message = f"sku {wanted.sku} is not on order {order.order_id}"
        return [Decline(reason=DeclineReason.OTHER, sku=wanted.sku, message=message)]
    declines: list[Decline] = []
    if line.final_sale:
        message = f"sku {line.sku} was sold as final sale"
        declines.append(Decline(reason=DeclineReason.FINAL_SALE, sku=line.sku, message=message))
    late = _period_ended(line, order, now, policy)
    if late:
        declines.append(
            Decline(reason=DeclineReason.RETURN_PERIOD_ENDED, sku=line.sku, message=late)
        )
    left = line.quantity - line.returned_quantity
    if wanted.quantity > left:
        message = (
            f"sku {line.sku}: {wanted.quantity} asked, {line.quantity} bought, "
            f"{line.returned_quantity} already returned"
        )
        declines.append(
            Decline(reason=DeclineReason.QUANTITY_EXCEEDED, sku=line.sku, message=message)
        )
    return declines


def _period_ended(
    line: OrderLine, order: OrderRecord, now: datetime, policy: ReturnPolicy
) -> str | None:
    days = policy.window_for(order.channel, line.category)
    ends = order.purchased_at + timedelta(days=days)
    if now > ends:
        return f"sku {line.sku}: the {days}-day return period ended {ends.date().isoformat()}"
    return None
