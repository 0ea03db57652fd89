"""POS: price book per store, sales for sell-through, orders and receipts, refunds."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, func, select

from backoffice.core import Ctx, gate, get_or_404, mutate, new_id, read
from backoffice.db import (
    CustomerRow,
    OrderRow,
    PriceBookRow,
    RefundRow,
    SaleRow,
    StoreRow,
    TenderRow,
    ZonePriceRow,
)
from backoffice.errors import ApiError, bad_input, not_found
from backoffice.estate import baseline_daily_units
from backoffice.routers.common import (
    check_window,
    known_items,
    known_stores,
    no_duplicates,
    split_ids,
)
from wire.pos import (
    Customer,
    Order,
    PriceBookRequest,
    PriceBookResult,
    PriceBookRetractRequest,
    PromotionPriceEntry,
    Refund,
    RefundRequest,
    ReturnedLine,
    SaleRequest,
    SalesLine,
    SalesSummary,
    StorePrice,
)

SYSTEM = "pos"
router = APIRouter(prefix="/pos", tags=["pos"])

MAX_SALES_DAYS = 400
MAX_SALES_CELLS = 200_000
CENT = Decimal("0.01")


# -- price book ----------------------------------------------------------------------------


@router.post("/price-book/publish")
async def publish_prices(body: PriceBookRequest, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "publish_prices", stores=body.store_ids)
    check_window(body.start, body.end)
    no_duplicates(body.store_ids, field="store_ids")
    no_duplicates([p.item_id for p in body.prices], field="prices")

    def fn(ctx: Ctx) -> PriceBookResult:
        s = ctx.session
        known_stores(s, body.store_ids, field="store_ids")
        known_items(s, [p.item_id for p in body.prices], field="prices")
        existing = {
            r.store_id: r
            for r in s.exec(
                select(PriceBookRow)
                .where(
                    PriceBookRow.promotion_id == body.promotion_id,
                    col(PriceBookRow.store_id).in_(body.store_ids),
                )
                .with_for_update()
            )
        }
        prices = [p.model_dump(mode="json") for p in body.prices]
        version = 1
        for store_id in body.store_ids:
            row = existing.get(store_id)
            if row is None:
                row = PriceBookRow(
                    store_id=store_id,
                    promotion_id=body.promotion_id,
                    status="PUBLISHED",
                    version=1,
                    prices=prices,
                    start=body.start,
                    end=body.end,
                    updated_at=ctx.now,
                )
            else:
                row.version += 1
                row.status = "PUBLISHED"
                row.prices = prices
                row.start, row.end, row.updated_at = body.start, body.end, ctx.now
            version = max(version, row.version)
            s.add(row)
            ctx.effect(
                SYSTEM,
                "publish_prices",
                f"pos_price:{body.promotion_id}:{store_id}",
                quantity=len(prices),
                version=row.version,
            )
        return PriceBookResult(
            promotion_id=body.promotion_id,
            store_ids=body.store_ids,
            status="PUBLISHED",
            version=version,
            items=len(prices),
            at=ctx.now,
        )

    return await mutate(request, body, fn)


@router.post("/price-book/retract")
async def retract_prices(body: PriceBookRetractRequest, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "retract_prices", stores=body.store_ids)
    no_duplicates(body.store_ids, field="store_ids")

    def fn(ctx: Ctx) -> PriceBookResult:
        s = ctx.session
        known_stores(s, body.store_ids, field="store_ids")
        rows = s.exec(
            select(PriceBookRow)
            .where(
                PriceBookRow.promotion_id == body.promotion_id,
                col(PriceBookRow.store_id).in_(body.store_ids),
            )
            .with_for_update()
        ).all()
        version = 0
        items = 0
        for row in rows:
            version = max(version, row.version)
            items = max(items, len(row.prices))
            if row.status != "RETRACTED":
                row.status = "RETRACTED"
                row.updated_at = ctx.now
                s.add(row)
                ctx.effect(
                    SYSTEM,
                    "retract_prices",
                    f"pos_retract:{body.promotion_id}:{row.store_id}",
                    reason=body.reason,
                )
        return PriceBookResult(
            promotion_id=body.promotion_id,
            store_ids=body.store_ids,
            status="RETRACTED",
            version=version,
            items=items,
            at=ctx.now,
        )

    return await mutate(request, body, fn)


def _live_entries(
    s: Session, store_ids: list[str], since: datetime, until: datetime
) -> list[PriceBookRow]:
    return list(
        s.exec(
            select(PriceBookRow).where(
                col(PriceBookRow.store_id).in_(store_ids),
                PriceBookRow.status == "PUBLISHED",
                PriceBookRow.start < until,
                PriceBookRow.end > since,
            )
        )
    )


@router.get("/price-book/stores/{store_id}")
async def store_prices(
    store_id: str,
    request: Request,
    item_ids: str = Query(description="comma-separated item ids"),
    at: datetime | None = None,
) -> list[StorePrice]:
    await gate(request, SYSTEM, "store_prices")
    ids = split_ids(item_ids)
    if not ids:
        raise bad_input("item_ids", "give at least one item id")
    when = at or datetime.now(UTC)
    if when.tzinfo is None:
        raise bad_input("at", "must carry a time zone (e.g. 2026-05-01T12:00:00Z)")

    def q(s: Session) -> list[StorePrice]:
        store = s.get(StoreRow, store_id)
        if store is None:
            raise not_found("store", store_id)
        items = known_items(s, ids, field="item_ids")
        shelf = {  # the store's price zone has its own shelf prices for some items
            r.item_id: r.shelf_price
            for r in s.exec(
                select(ZonePriceRow).where(
                    ZonePriceRow.zone_id == store.price_zone, col(ZonePriceRow.item_id).in_(ids)
                )
            )
        }
        entries = sorted(
            _live_entries(s, [store_id], when, when + timedelta(microseconds=1)),
            key=lambda r: r.updated_at,
        )
        promo: dict[str, tuple[Decimal, str]] = {}
        for entry in entries:  # the latest published entry wins
            for line in entry.prices:
                promo[line["item_id"]] = (Decimal(line["price"]), entry.promotion_id)
        out = []
        for item_id in ids:
            regular = shelf.get(item_id, items[item_id].regular_price)
            price, promotion_id = promo.get(item_id, (regular, None))
            out.append(
                StorePrice(
                    store_id=store_id,
                    item_id=item_id,
                    regular_price=regular,
                    price=price,
                    promotion_id=promotion_id,
                )
            )
        return out

    result: list[StorePrice] = await read(request, q)
    return result


@router.get("/price-book/promotions/{promotion_id}")
async def promotion_prices(promotion_id: str, request: Request) -> list[PromotionPriceEntry]:
    await gate(request, SYSTEM, "promotion_prices")

    def q(s: Session) -> list[PromotionPriceEntry]:
        rows = s.exec(
            select(PriceBookRow)
            .where(PriceBookRow.promotion_id == promotion_id)
            .order_by(col(PriceBookRow.store_id))
        )
        return [PromotionPriceEntry.model_validate(r.model_dump()) for r in rows]

    result: list[PromotionPriceEntry] = await read(request, q)
    return result


# -- sales ---------------------------------------------------------------------------------


def _days(since: datetime, until: datetime) -> list[tuple[str, float, datetime]]:
    """(day, share of that day inside the window, midpoint of the covered part)."""
    out = []
    day = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    while day < until:
        nxt = day + timedelta(days=1)
        lo, hi = max(day, since), min(nxt, until)
        if hi > lo:
            share = (hi - lo).total_seconds() / 86400
            out.append((day.date().isoformat(), share, lo + (hi - lo) / 2))
        day = nxt
    return out


def _lift(regular: Decimal, price: Decimal) -> float:
    if regular <= 0 or price >= regular:
        return 1.0
    depth = float(1 - price / regular)
    return min(1.0 + 3.0 * depth, 4.0)


@router.get("/sales")
async def sales(
    request: Request,
    item_ids: str = Query(description="comma-separated item ids"),
    since: datetime = Query(),
    until: datetime = Query(),
    store_ids: str | None = Query(default=None, description="comma-separated; default all"),
) -> SalesSummary:
    """Units and revenue per store and item: the baseline history (deterministic), the
    promotional lift where the POS price book had a promotion live, plus recorded sales."""
    await gate(request, SYSTEM, "sales")
    items_wanted = split_ids(item_ids)
    if not items_wanted:
        raise bad_input("item_ids", "give at least one item id")
    for name, value in (("since", since), ("until", until)):
        if value.tzinfo is None:
            raise bad_input(name, "must carry a time zone (e.g. 2026-05-01T00:00:00Z)")
    check_window(since, until, field="until")
    if until - since > timedelta(days=MAX_SALES_DAYS):
        raise bad_input("until", f"the window is longer than {MAX_SALES_DAYS} days")
    stores_wanted = split_ids(store_ids)

    def q(s: Session) -> SalesSummary:
        items = known_items(s, items_wanted, field="item_ids")
        if stores_wanted:
            stores = known_stores(s, stores_wanted, field="store_ids")
        else:
            stores = {
                r.store_id: r for r in s.exec(select(StoreRow).order_by(col(StoreRow.store_id)))
            }
        days = _days(since, until)
        if len(days) * len(stores) * len(items) > MAX_SALES_CELLS:
            raise bad_input("store_ids", "too many stores x items x days; ask in smaller batches")
        promos: dict[tuple[str, str], list[tuple[datetime, datetime, Decimal]]] = defaultdict(list)
        for entry in _live_entries(s, list(stores), since, until):
            for line in entry.prices:
                promos[(entry.store_id, line["item_id"])].append(
                    (entry.start, entry.end, Decimal(line["price"]))
                )
        shelf = {  # shelf prices of the stores' zones, where they differ from the regular
            (r.zone_id, r.item_id): r.shelf_price
            for r in s.exec(
                select(ZonePriceRow).where(
                    col(ZonePriceRow.zone_id).in_({st.price_zone for st in stores.values()}),
                    col(ZonePriceRow.item_id).in_(list(items)),
                )
            )
        }
        recorded: dict[tuple[str, str], tuple[int, Decimal]] = {}
        for row in s.exec(
            select(SaleRow.store_id, SaleRow.item_id, func.sum(SaleRow.units))
            .where(
                col(SaleRow.item_id).in_(list(items)),
                col(SaleRow.store_id).in_(list(stores)),
                SaleRow.sold_at >= since,
                SaleRow.sold_at < until,
            )
            .group_by(SaleRow.store_id, SaleRow.item_id)
        ):
            recorded[(row[0], row[1])] = (int(row[2] or 0), Decimal("0"))
        revenue_rows = s.exec(
            select(SaleRow).where(
                col(SaleRow.item_id).in_(list(items)),
                col(SaleRow.store_id).in_(list(stores)),
                SaleRow.sold_at >= since,
                SaleRow.sold_at < until,
            )
        )
        recorded_revenue: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for sale in revenue_rows:
            recorded_revenue[(sale.store_id, sale.item_id)] += sale.unit_price * sale.units
        lines = []
        total_units = 0
        total_revenue = Decimal("0")
        for store_id, store in stores.items():
            for item_id, item in items.items():
                windows = promos.get((store_id, item_id), [])
                units = 0.0
                revenue = Decimal("0")
                regular = shelf.get((store.price_zone, item_id), item.regular_price)
                for day, share, mid in days:
                    price = regular
                    for start, end, promo_price in windows:
                        if start <= mid < end:
                            price = min(price, promo_price)
                    day_units = (
                        baseline_daily_units(store_id, store.store_class, item_id, day)
                        * share
                        * _lift(regular, price)
                    )
                    units += day_units
                    revenue += price * Decimal(str(round(day_units, 4)))
                whole = round(units)
                extra_units = recorded.get((store_id, item_id), (0, Decimal(0)))[0]
                line_revenue = (revenue + recorded_revenue[(store_id, item_id)]).quantize(CENT)
                lines.append(
                    SalesLine(
                        store_id=store_id,
                        item_id=item_id,
                        units=whole + extra_units,
                        revenue=line_revenue,
                    )
                )
                total_units += whole + extra_units
                total_revenue += line_revenue
        return SalesSummary(
            since=since,
            until=until,
            lines=lines,
            total_units=total_units,
            total_revenue=total_revenue,
        )

    result: SalesSummary = await read(request, q)
    return result


@router.post("/sales")
async def record_sale(body: SaleRequest, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "record_sale")

    def fn(ctx: Ctx) -> SalesLine:
        s = ctx.session
        known_stores(s, [body.store_id], field="store_id")
        known_items(s, [body.item_id], field="item_id")
        s.add(
            SaleRow(
                store_id=body.store_id,
                item_id=body.item_id,
                units=body.units,
                unit_price=body.unit_price,
                sold_at=body.sold_at or ctx.now,
            )
        )
        revenue = (body.unit_price * body.units).quantize(CENT)
        ctx.effect(
            SYSTEM,
            "record_sale",
            f"sale:{body.store_id}:{body.item_id}",
            amount=revenue,
            quantity=body.units,
        )
        return SalesLine(
            store_id=body.store_id, item_id=body.item_id, units=body.units, revenue=revenue
        )

    return await mutate(request, body, fn)


# -- orders, customers ---------------------------------------------------------------------


def order_model(s: Session, row: OrderRow) -> Order:
    tenders = s.exec(
        select(TenderRow)
        .where(TenderRow.order_id == row.order_id)
        .order_by(col(TenderRow.tender_id))
    ).all()
    data: dict[str, Any] = row.model_dump()
    data["lines"] = [
        {**line, "returned_quantity": _returned(line)} for line in data.get("lines") or []
    ]
    data["tenders"] = [t.model_dump() for t in tenders]
    return Order.model_validate(data)


@router.get("/orders/{order_id}")
async def get_order(order_id: str, request: Request) -> Order:
    await gate(request, SYSTEM, "get_order")

    def q(s: Session) -> Order:
        row = get_or_404(s, OrderRow, order_id, "order")
        return order_model(s, row)

    result: Order = await read(request, q)
    return result


@router.get("/receipts/{receipt_id}")
async def find_receipt(receipt_id: str, request: Request) -> Order:
    await gate(request, SYSTEM, "find_receipt")

    def q(s: Session) -> Order:
        row = s.exec(select(OrderRow).where(OrderRow.receipt_id == receipt_id)).first()
        if row is None:
            raise not_found("receipt", receipt_id)
        return order_model(s, row)

    result: Order = await read(request, q)
    return result


@router.get("/customers/{customer_id}")
async def get_customer(customer_id: str, request: Request) -> Customer:
    await gate(request, SYSTEM, "get_customer")

    def q(s: Session) -> Customer:
        row = get_or_404(s, CustomerRow, customer_id, "customer")
        orders = s.exec(
            select(func.count()).select_from(OrderRow).where(OrderRow.customer_id == customer_id)
        ).one()
        refunds = s.exec(select(RefundRow).where(RefundRow.customer_id == customer_id)).all()
        rmas = {r.rma_id for r in refunds}
        return Customer(
            customer_id=row.customer_id,
            name=row.name,
            email=row.email,
            orders=int(orders),
            returns_last_365d=row.prior_returns + len(rmas),
            returned_value_last_365d=row.prior_returned_value
            + sum((r.amount for r in refunds), Decimal("0")),
        )

    result: Customer = await read(request, q)
    return result


@router.get("/customers/{customer_id}/orders")
async def customer_orders(customer_id: str, request: Request) -> list[Order]:
    await gate(request, SYSTEM, "customer_orders")

    def q(s: Session) -> list[Order]:
        if s.get(CustomerRow, customer_id) is None:
            raise not_found("customer", customer_id)
        rows = s.exec(
            select(OrderRow)
            .where(OrderRow.customer_id == customer_id)
            .order_by(col(OrderRow.ordered_at))
        )
        return [order_model(s, r) for r in rows]

    result: list[Order] = await read(request, q)
    return result


# -- refunds -------------------------------------------------------------------------------


def _returned(line: dict[str, Any]) -> int:
    """Units of an order line returned so far: one entry per return (RMA) in the line's
    ``returned_by`` map, so a second leg of the same return never counts twice."""
    return sum(int(q) for q in (line.get("returned_by") or {}).values())


def _record_return(order: OrderRow, rma_id: str, lines: list[ReturnedLine]) -> list[dict[str, Any]]:
    """The order's lines with this return's units recorded against them (first line of an
    item first), replacing whatever an earlier leg of the same return recorded. Refuses an
    item not on the order and more units than are left to return."""
    no_duplicates([line.item_id for line in lines], field="lines")
    updated = copy.deepcopy(list(order.lines))
    for line in updated:
        line["returned_by"] = {
            rma: q for rma, q in (line.get("returned_by") or {}).items() if rma != rma_id
        }
    for index, wanted in enumerate(lines):
        mine = sorted(
            (line for line in updated if line["item_id"] == wanted.item_id),
            key=lambda line: int(line["line_no"]),
        )
        if not mine:
            raise ApiError(
                400,
                "unknown_line",
                f"lines[{index}]: item {wanted.item_id!r} is not on order {order.order_id}",
                field=f"lines[{index}].item_id",
            )
        bought = sum(int(line["quantity"]) for line in mine)
        returned = sum(_returned(line) for line in mine)
        left = bought - returned
        if wanted.quantity > left:
            raise ApiError(
                422,
                "return_exceeds_quantity",
                f"lines[{index}]: {wanted.quantity} of item {wanted.item_id} cannot be "
                f"returned: order {order.order_id} has {bought}, {returned} already returned, "
                f"{left} left",
                field=f"lines[{index}].quantity",
                returnable=left,
            )
        todo = wanted.quantity
        for line in mine:
            take = min(int(line["quantity"]) - _returned(line), todo)
            if take > 0:
                line["returned_by"][rma_id] = take
                todo -= take
    for line in updated:
        if not line["returned_by"]:
            del line["returned_by"]
    return updated


@router.post("/refunds")
async def refund(body: RefundRequest, request: Request) -> JSONResponse:
    """Refund on one tender. Refusals: unknown order/tender, tender of another type,
    more than is left on the tender (or the order, for new store credit), closed card."""
    await gate(request, SYSTEM, f"refund.{body.tender_type}")
    if body.amount <= 0:
        raise bad_input("amount", "must be more than zero")
    if body.tender_type != "store_credit" and not body.tender_id:
        raise bad_input("tender_id", f"is required to refund to {body.tender_type}")

    def fn(ctx: Ctx) -> Refund:
        s = ctx.session
        order = s.exec(
            select(OrderRow).where(OrderRow.order_id == body.order_id).with_for_update()
        ).first()
        if order is None:
            raise not_found("order", body.order_id, field="order_id")
        if body.lines:
            # the units come back with the money: recorded once per return (RMA)
            order.lines = _record_return(order, body.rma_id, body.lines)
            s.add(order)
        store_credit_id = None
        tender_id = body.tender_id
        if tender_id:
            tender = s.exec(
                select(TenderRow).where(TenderRow.tender_id == tender_id).with_for_update()
            ).first()
            if tender is None or tender.order_id != body.order_id:
                raise ApiError(
                    400,
                    "unknown_tender",
                    f"tender {tender_id!r} did not pay order {body.order_id}",
                    field="tender_id",
                )
            if tender.tender_type != body.tender_type:
                raise bad_input(
                    "tender_type",
                    f"tender {tender_id} is {tender.tender_type}, not {body.tender_type}",
                )
            left = tender.amount - tender.refunded_amount
            if body.amount > left:
                raise ApiError(
                    422,
                    "refund_exceeds_tender",
                    f"only {left} is left to refund on tender {tender_id} "
                    f"(paid {tender.amount}, refunded {tender.refunded_amount})",
                    field="amount",
                    refundable=str(left),
                )
            if tender.closed:
                raise ApiError(
                    422,
                    "tender_declined",
                    f"the card ending {tender.last4} is closed and cannot take the "
                    "refund; refund this amount as store credit",
                    field="tender_id",
                )
            tender.refunded_amount += body.amount
            s.add(tender)
            if tender.tender_type == "store_credit":
                store_credit_id = f"SC-{tender_id}"
        else:
            refunded = sum(
                (
                    r.amount
                    for r in s.exec(select(RefundRow).where(RefundRow.order_id == body.order_id))
                ),
                Decimal("0"),
            )
            left = order.total - refunded
            if body.amount > left:
                raise ApiError(
                    422,
                    "refund_exceeds_order",
                    f"only {left} of order {body.order_id} is left to refund",
                    field="amount",
                    refundable=str(left),
                )
            store_credit_id = new_id("SC")
        row = RefundRow(
            refund_id=new_id("RFD"),
            order_id=body.order_id,
            rma_id=body.rma_id,
            customer_id=order.customer_id,
            tender_type=body.tender_type,
            tender_id=tender_id,
            amount=body.amount,
            store_credit_id=store_credit_id,
            created_at=ctx.now,
        )
        s.add(row)
        ctx.effect(
            SYSTEM,
            f"refund.{body.tender_type}",
            f"refund:{body.rma_id}:{tender_id or 'store_credit'}",
            amount=body.amount,
            refund_id=row.refund_id,
        )
        return Refund.model_validate({**row.model_dump(), "status": "REFUNDED"})

    return await mutate(request, body, fn)


@router.get("/refunds")
async def refunds(request: Request, rma_id: str) -> list[Refund]:
    await gate(request, SYSTEM, "refunds")

    def q(s: Session) -> list[Refund]:
        rows = s.exec(
            select(RefundRow).where(RefundRow.rma_id == rma_id).order_by(col(RefundRow.created_at))
        )
        return [Refund.model_validate({**r.model_dump(), "status": "REFUNDED"}) for r in rows]

    result: list[Refund] = await read(request, q)
    return result
