"""E-commerce and marketplace: publications confirmed later by an event."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from backoffice.core import (
    BackofficeState,
    Ctx,
    gate,
    get_or_404,
    mutate,
    new_id,
    read,
    run_ticker_sync,
)
from backoffice.db import PublicationRow, utcnow
from backoffice.errors import not_found
from backoffice.routers.common import check_window, known_items, no_duplicates
from wire.channels import Publication, PublicationRequest
from wire.events import ChannelEvent

CHANNELS = ("ecommerce", "marketplace")
MARKETPLACE_MAX_DEPTH = Decimal("0.70")


def publication_model(row: PublicationRow) -> Publication:
    return Publication.model_validate(row.model_dump())


def _lock(s: Session, channel: str, promotion_id: str) -> PublicationRow | None:
    return s.exec(
        select(PublicationRow)
        .where(PublicationRow.channel == channel, PublicationRow.promotion_id == promotion_id)
        .with_for_update()
    ).first()


def make_router(channel: str) -> APIRouter:
    router = APIRouter(prefix=f"/{channel}", tags=[channel])

    @router.post("/publications", status_code=202)
    async def publish(body: PublicationRequest, request: Request) -> JSONResponse:
        await gate(request, channel, "publish")
        check_window(body.start, body.end)
        no_duplicates([p.item_id for p in body.prices], field="prices")
        delay = request.app.state.backoffice.config.confirm_delay_s

        def fn(ctx: Ctx) -> Publication:
            s = ctx.session
            known_items(s, [p.item_id for p in body.prices], field="prices")
            prices = [p.model_dump(mode="json") for p in body.prices]
            row = _lock(s, channel, body.promotion_id)
            if row is None:
                row = PublicationRow(
                    channel=channel,
                    promotion_id=body.promotion_id,
                    publication_id=new_id("PUB"),
                    version=1,
                    status="PENDING",
                    prices=prices,
                    start=body.start,
                    end=body.end,
                )
            else:
                row.version += 1
                row.status = "PENDING"
                row.prices = prices
                row.start, row.end = body.start, body.end
                row.reason = None
            row.callback = body.callback.model_dump() if body.callback else None
            row.confirm_at = ctx.now + timedelta(seconds=delay)
            row.updated_at = ctx.now
            s.add(row)
            ctx.effect(
                channel,
                "publish",
                f"{channel}:{body.promotion_id}",
                version=row.version,
                quantity=len(prices),
            )
            return publication_model(row)

        return await mutate(request, body, fn, status=202)

    @router.post("/publications/{promotion_id}/retract")
    async def retract(
        promotion_id: str, request: Request, body: dict[str, Any] | None = None
    ) -> JSONResponse:
        await gate(request, channel, "retract")
        reason = str((body or {}).get("reason", ""))

        def fn(ctx: Ctx) -> Publication:
            row = _lock(ctx.session, channel, promotion_id)
            if row is None:
                raise not_found("publication", f"{channel}/{promotion_id}")
            if row.status != "RETRACTED":
                row.status = "RETRACTED"
                row.confirm_at = None
                row.reason = reason or None
                row.updated_at = ctx.now
                ctx.session.add(row)
                ctx.effect(
                    channel, "retract", f"{channel}_retract:{promotion_id}", version=row.version
                )
            return publication_model(row)

        return await mutate(request, body or {}, fn)

    @router.get("/publications/{promotion_id}")
    async def read_back(promotion_id: str, request: Request) -> Publication:
        await gate(request, channel, "read_back")

        def q(s: Session) -> Publication:
            row = get_or_404(
                s,
                PublicationRow,
                (channel, promotion_id),
                "publication",
                f"{channel}/{promotion_id}",
            )
            return publication_model(row)

        result: Publication = await read(request, q)
        return result

    return router


def _judge(ctx: Ctx, row: PublicationRow) -> tuple[str, str | None]:
    """Marketplace policy: nothing more than 70 % below the regular price."""
    if row.channel != "marketplace":
        return "confirmed", None
    from backoffice.db import ItemRow

    for line in row.prices:
        item = ctx.session.get(ItemRow, line["item_id"])
        if item is None or item.regular_price <= 0:
            continue
        depth = 1 - Decimal(line["price"]) / item.regular_price
        if depth > MARKETPLACE_MAX_DEPTH:
            return "rejected", (
                f"marketplace policy: {line['item_id']} at {line['price']} is more than 70% "
                f"below its regular price {item.regular_price}"
            )
    return "confirmed", None


def confirm_due(state: BackofficeState) -> int:
    """Ticker: confirm (or reject) pending publications whose time has come."""
    with state.db.read() as s:
        due = [
            (r.channel, r.promotion_id)
            for r in s.exec(
                select(PublicationRow)
                .where(
                    PublicationRow.status == "PENDING", col(PublicationRow.confirm_at) <= utcnow()
                )
                .limit(500)
            )
        ]
    emitted = 0
    for channel, promotion_id in due:

        def confirm(ctx: Ctx, channel: str = channel, promotion_id: str = promotion_id) -> None:
            row = _lock(ctx.session, channel, promotion_id)
            if (
                row is None
                or row.status != "PENDING"
                or row.confirm_at is None
                or row.confirm_at > ctx.now
            ):
                return
            verdict, reason = _judge(ctx, row)
            row.status = "LIVE" if verdict == "confirmed" else "REJECTED"
            row.reason = reason
            row.confirm_at = None
            row.updated_at = ctx.now
            ctx.session.add(row)
            event = ChannelEvent(
                event_id=f"ev-{channel}-{promotion_id}-v{row.version}-{uuid.uuid4().hex[:8]}",
                channel=channel,
                promotion_id=promotion_id,
                publication_id=row.publication_id,
                version=row.version,
                status=verdict,
                reason=reason,
                occurred_at=ctx.now,
            )
            ctx.emit(channel, row.callback, event.model_dump(mode="json"))

        emitted += run_ticker_sync(state, confirm)
    return emitted


routers = [make_router(c) for c in CHANNELS]
