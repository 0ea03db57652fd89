"""The refund: the quote (amount and restocking fee per line) and its split over tenders."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from domain.money import ZERO, cents
from domain.returns.policy import DEFAULT_POLICY, ReturnPolicy
from domain.returns.request import (
    Channel,
    Money,
    OrderRecord,
    ReturnLineRequest,
    ReturnRequest,
    Tender,
    TenderType,
)


class QuotedLine(BaseModel):
    sku: str
    description: str = ""
    category: str
    quantity: int
    unit_price: Money
    amount: Money
    restocking_fee: Money
    vendor_id: str | None = None
    vendor_returnable: bool = True
    unit_cost: Money | None = None


class RefundQuote(BaseModel):
    lines: list[QuotedLine]
    gross: Money
    restocking_fee: Money
    net: Money

    def taken_back(self) -> list[ReturnLineRequest]:
        """What the return takes back, line by line (every refund leg names it)."""
        return [ReturnLineRequest(sku=q.sku, quantity=q.quantity) for q in self.lines]


def quote_lines(
    request: ReturnRequest, order: OrderRecord, policy: ReturnPolicy = DEFAULT_POLICY
) -> RefundQuote:
    """Amount and restocking fee per requested line (lines not on the order are skipped)."""
    quoted: list[QuotedLine] = []
    for wanted in request.lines:
        line = order.line(wanted.sku)
        if line is None:
            continue
        amount = cents(line.unit_price * wanted.quantity)
        fee = cents(amount * policy.fee_rate(request.reason, line.category))
        quoted.append(
            QuotedLine(
                sku=line.sku,
                description=line.description,
                category=line.category,
                quantity=wanted.quantity,
                unit_price=line.unit_price,
                amount=amount,
                restocking_fee=fee,
                vendor_id=line.vendor_id,
                vendor_returnable=line.vendor_returnable,
                unit_cost=line.unit_cost,
            )
        )
    gross = sum((q.amount for q in quoted), ZERO)
    fee = sum((q.restocking_fee for q in quoted), ZERO)
    return RefundQuote(lines=quoted, gross=gross, restocking_fee=fee, net=gross - fee)


class TenderAllocation(BaseModel):
    """One refund leg: which original tender it reverses, how, and its idempotency key."""

    idempotency_key: str
    tender_id: str | None
    original_type: TenderType | None
    method: TenderType
    amount: Money
    card_last4: str | None = None


def allocate_refund(
    rma_id: str,
    net: Decimal,
    tenders: list[Tender],
    *,
    channel: Channel,
    has_receipt: bool,
    policy: ReturnPolicy = DEFAULT_POLICY,
) -> list[TenderAllocation]:
    """Split `net` over the original tenders, last captured first, cent-exact.

    Rules: without a receipt everything goes to store credit; a tender gets back at most
    what it paid minus what was already refunded to it; card and gift card go back to the
    same instrument; store credit comes back as store credit; cash comes back as cash in a
    store up to the store's cash limit, the rest (and all cash on an online return) as
    store credit; anything the tenders cannot take is store credit.
    """
    net = cents(net)
    allocations: list[TenderAllocation] = []

    def add(tender: Tender | None, method: TenderType, amount: Decimal) -> None:
        if amount > 0:
            allocations.append(_leg(rma_id, len(allocations) + 1, tender, method, amount))

    if net <= 0:
        return []
    if not has_receipt:
        add(None, TenderType.STORE_CREDIT, net)
        return allocations
    remaining = net
    cash_left = policy.store_cash_refund_limit if channel is Channel.STORE else ZERO
    for tender in _last_captured_first(tenders):
        if remaining <= 0:
            break
        take = min(remaining, max(tender.amount - tender.refunded, ZERO))
        if take <= 0:
            continue
        remaining -= take
        if tender.type is TenderType.CASH:
            as_cash = min(take, cash_left)
            cash_left -= as_cash
            add(tender, TenderType.CASH, as_cash)
            add(tender, TenderType.STORE_CREDIT, take - as_cash)
        else:
            add(tender, tender.type, take)
    add(None, TenderType.STORE_CREDIT, remaining)
    return allocations


def _last_captured_first(tenders: list[Tender]) -> list[Tender]:
    ordered = sorted(
        enumerate(tenders), key=lambda pair: (pair[1].captured_at, pair[0]), reverse=True
    )
    return [tender for _, tender in ordered]


def _leg(
    rma_id: str, n: int, tender: Tender | None, method: TenderType, amount: Decimal
) -> TenderAllocation:
    tid = tender.tender_id if tender else "store-credit"
    return TenderAllocation(
        idempotency_key=f"refund-{rma_id}-{n}-{tid}-{method.value}",
        tender_id=tender.tender_id if tender else None,
        original_type=tender.type if tender else None,
        method=method,
        amount=amount,
        card_last4=tender.card_last4 if tender else None,
    )


def can_fall_back(allocation: TenderAllocation) -> bool:
    """Whether a leg that failed for good may be issued as store credit instead (a store
    credit leg that fails has nothing left to fall back to)."""
    return allocation.method is not TenderType.STORE_CREDIT


def store_credit_fallback(allocation: TenderAllocation) -> TenderAllocation:
    """The store-credit leg that replaces a tender refund that failed for good."""
    return allocation.model_copy(
        update={
            "idempotency_key": f"{allocation.idempotency_key}-fallback-store-credit",
            "method": TenderType.STORE_CREDIT,
        }
    )


def issues_new_store_credit(allocation: TenderAllocation) -> bool:
    """Whether the leg is paid as new store credit rather than back to its tender: a
    fallback, or cash beyond the store's limit (store credit goes back as itself)."""
    return allocation.method is TenderType.STORE_CREDIT and allocation.original_type not in (
        None,
        TenderType.STORE_CREDIT,
    )


def fallback_notice(allocation: TenderAllocation, credit_id: str) -> str:
    """What the customer is told when `allocation` was issued as store credit `credit_id`."""
    ending = f" ending {allocation.card_last4}" if allocation.card_last4 else ""
    return (
        f"{allocation.amount} could not go back to your {allocation.method.value}{ending}; "
        f"it was issued as store credit {credit_id}"
    )
