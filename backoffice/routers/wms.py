"""WMS: positions, transfer orders with pick/ship/receive progress as events, restock."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, or_, select

from backoffice.core import BackofficeState, Ctx, gate, get_or_404, mutate, read, run_ticker_sync
from backoffice.db import MovementRow, PositionRow, TransferRow, utcnow
from backoffice.errors import ApiError, bad_input, not_found
from backoffice.faults import seeded_unit
from backoffice.routers.common import known_items, known_location, no_duplicates, split_ids
from wire.events import WmsEvent
from wire.wms import AdvanceRequest, Position, RestockRequest, Transfer, TransferRequest

SYSTEM = "wms"
router = APIRouter(prefix="/wms", tags=["wms"])

NEXT_STEP = {"RELEASED": "pick", "PICKED": "ship", "SHIPPED": "receive"}
STEP_FROM = {"pick": "RELEASED", "ship": "PICKED", "receive": "SHIPPED"}
STEP_TO = {"pick": "PICKED", "ship": "SHIPPED", "receive": "RECEIVED"}
STEP_EVENT = {"pick": "picked", "ship": "shipped", "receive": "received"}


def transfer_model(row: TransferRow) -> Transfer:
    return Transfer.model_validate(row.model_dump())


# -- positions -----------------------------------------------------------------------------


@router.get("/positions")
async def positions(
    request: Request, location_ids: str | None = None, item_ids: str | None = None
) -> list[Position]:
    """Positions by location and/or item. Faults may make them stale or wrong (on purpose)."""
    await gate(request, SYSTEM, "positions")
    locs = split_ids(location_ids)
    items = split_ids(item_ids)
    if not locs and not items:
        raise bad_input("location_ids", "give location_ids and/or item_ids")
    state = request.app.state.backoffice
    rule = state.faults.match(SYSTEM, "positions")

    def q(s: Session) -> list[Position]:
        for index, loc in enumerate(locs or []):
            known_location(s, loc, field=f"location_ids[{index}]")
        if items:
            known_items(s, items, field="item_ids")
        stmt = select(PositionRow).order_by(col(PositionRow.location_id), col(PositionRow.item_id))
        if locs:
            stmt = stmt.where(col(PositionRow.location_id).in_(locs))
        if items:
            stmt = stmt.where(col(PositionRow.item_id).in_(items))
        rows = list(s.exec(stmt))
        out = [
            Position(
                location_id=r.location_id,
                item_id=r.item_id,
                on_hand=r.on_hand,
                in_transit=r.in_transit,
                safety_stock=r.safety_stock,
                as_of=utcnow(),
            )
            for r in rows
        ]
        if rule is None:
            return out
        spec = rule.spec
        scoped = [p for p in out if not spec.stores or p.location_id in spec.stores]
        if spec.stale_stock:
            since = rule.created_at
            moves: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
            mstmt = select(MovementRow).where(MovementRow.at >= since)
            if locs:
                mstmt = mstmt.where(col(MovementRow.location_id).in_(locs))
            if items:
                mstmt = mstmt.where(col(MovementRow.item_id).in_(items))
            for m in s.exec(mstmt):
                acc = moves[(m.location_id, m.item_id)]
                acc[0] += m.on_hand_delta
                acc[1] += m.in_transit_delta
            for p in scoped:
                d = moves.get((p.location_id, p.item_id))
                if d:
                    p.on_hand -= d[0]
                    p.in_transit -= d[1]
                p.as_of = since
            state.faults.note(rule, "stale_stock")
        if spec.stock_factor is not None:
            for p in scoped:
                p.on_hand = int(p.on_hand * spec.stock_factor)
                state.faults.note(rule, "stock_factor")
        if spec.wrong_stock_rate > 0:
            for p in scoped:
                if (
                    seeded_unit(spec.seed, "wrong", p.location_id, p.item_id)
                    < spec.wrong_stock_rate
                ):
                    u = seeded_unit(spec.seed, "by", p.location_id, p.item_id)
                    delta = int(5 + u * max(p.on_hand, 10))
                    p.on_hand = p.on_hand + delta if u >= 0.5 else max(p.on_hand - delta, 0)
                    state.faults.note(rule, "wrong_stock")
        return out

    result: list[Position] = await read(request, q)
    return result


def _move(
    ctx: Ctx, location_id: str, item_id: str, *, on_hand: int = 0, in_transit: int = 0, reason: str
) -> PositionRow:
    s = ctx.session
    row = s.exec(
        select(PositionRow)
        .where(PositionRow.location_id == location_id, PositionRow.item_id == item_id)
        .with_for_update()
    ).first()
    if row is None:
        row = PositionRow(
            location_id=location_id, item_id=item_id, on_hand=0, in_transit=0, safety_stock=0
        )
    row.on_hand += on_hand
    row.in_transit += in_transit
    row.updated_at = ctx.now
    s.add(row)
    s.add(
        MovementRow(
            location_id=location_id,
            item_id=item_id,
            on_hand_delta=on_hand,
            in_transit_delta=in_transit,
            reason=reason,
            at=ctx.now,
        )
    )
    return row


# -- transfers -----------------------------------------------------------------------------


@router.post("/transfers", status_code=201)
async def create_transfer(body: TransferRequest, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "create_transfer")
    if body.source_id == body.dest_id:
        raise bad_input("dest_id", "must differ from source_id")
    no_duplicates([line.item_id for line in body.lines], field="lines")
    config = request.app.state.backoffice.config

    def fn(ctx: Ctx) -> Transfer:
        s = ctx.session
        known_location(s, body.source_id, field="source_id")
        known_location(s, body.dest_id, field="dest_id")
        known_items(s, [line.item_id for line in body.lines], field="lines")
        if s.get(TransferRow, body.transfer_id) is not None:
            raise ApiError(
                409,
                "transfer_exists",
                f"transfer {body.transfer_id} already exists (created with another "
                "idempotency key)",
                field="transfer_id",
            )
        row = TransferRow(
            transfer_id=body.transfer_id,
            reference=body.reference,
            source_id=body.source_id,
            dest_id=body.dest_id,
            status="CREATED",
            lines=[line.model_dump() for line in body.lines],
            progress=body.progress or config.wms_progress,
            step_seconds=config.wms_step_s if body.step_seconds is None else body.step_seconds,
            callback=body.callback.model_dump() if body.callback else None,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        if row.progress == "auto" and row.step_seconds == 0 and config.wms_step_s == 0:
            row.progress = "manual"
        s.add(row)
        ctx.effect(
            SYSTEM,
            "create_transfer",
            f"transfer:{body.transfer_id}",
            quantity=sum(line.quantity for line in body.lines),
        )
        return transfer_model(row)

    return await mutate(request, body, fn, status=201)


def _lock_transfer(s: Session, transfer_id: str) -> TransferRow:
    row = s.exec(
        select(TransferRow).where(TransferRow.transfer_id == transfer_id).with_for_update()
    ).first()
    if row is None:
        raise not_found("transfer", transfer_id)
    return row


@router.post("/transfers/{transfer_id}/release")
async def release_transfer(transfer_id: str, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "release_transfer")

    def fn(ctx: Ctx) -> Transfer:
        row = _lock_transfer(ctx.session, transfer_id)
        if row.status == "CANCELLED":
            raise ApiError(
                409,
                "transfer_cancelled",
                f"transfer {transfer_id} was cancelled; it cannot be released",
            )
        if row.status == "CREATED":
            row.status = "RELEASED"
            row.updated_at = ctx.now
            if row.progress == "auto":
                row.next_step_at = ctx.now + timedelta(seconds=row.step_seconds)
            ctx.session.add(row)
            ctx.effect(SYSTEM, "release_transfer", f"transfer_release:{transfer_id}")
        return transfer_model(row)

    return await mutate(request, {}, fn)


@router.post("/transfers/{transfer_id}/cancel")
async def cancel_transfer(
    transfer_id: str, request: Request, body: dict[str, Any] | None = None
) -> JSONResponse:
    await gate(request, SYSTEM, "cancel_transfer")
    reason = str((body or {}).get("reason", ""))

    def fn(ctx: Ctx) -> Transfer:
        row = _lock_transfer(ctx.session, transfer_id)
        if row.status in ("SHIPPED", "RECEIVED"):
            raise ApiError(
                409,
                "transfer_already_shipped",
                f"transfer {transfer_id} has shipped ({row.status}); it can no "
                "longer be cancelled: receive it and move the stock back",
            )
        if row.status != "CANCELLED":
            row.status = "CANCELLED"
            row.next_step_at = None
            row.updated_at = ctx.now
            ctx.session.add(row)
            ctx.effect(SYSTEM, "cancel_transfer", f"transfer_cancel:{transfer_id}", reason=reason)
        return transfer_model(row)

    return await mutate(request, body or {}, fn)


@router.get("/transfers")
async def list_transfers(
    request: Request,
    location_ids: str | None = None,
    statuses: str | None = None,
    updated_since: datetime | None = None,
    limit: int = Query(default=5000, ge=1, le=20_000),
) -> list[Transfer]:
    """Transfers from or to the locations (by status, changed since), newest change first.

    What a planner checks a stock feed against: the movements the feed should show."""
    await gate(request, SYSTEM, "list_transfers")
    locs = split_ids(location_ids)
    if not locs:
        raise bad_input("location_ids", "give the locations whose transfers you want")
    wanted = split_ids(statuses)

    def q(s: Session) -> list[Transfer]:
        stmt = select(TransferRow).where(
            or_(col(TransferRow.source_id).in_(locs), col(TransferRow.dest_id).in_(locs))
        )
        if wanted:
            stmt = stmt.where(col(TransferRow.status).in_(wanted))
        if updated_since is not None:
            stmt = stmt.where(col(TransferRow.updated_at) >= updated_since)
        stmt = stmt.order_by(col(TransferRow.updated_at).desc()).limit(limit)
        return [transfer_model(row) for row in s.exec(stmt)]

    result: list[Transfer] = await read(request, q)
    return result


@router.get("/transfers/{transfer_id}")
async def get_transfer(transfer_id: str, request: Request) -> Transfer:
    await gate(request, SYSTEM, "get_transfer")

    def q(s: Session) -> Transfer:
        row = get_or_404(s, TransferRow, transfer_id, "transfer")
        return transfer_model(row)

    result: Transfer = await read(request, q)
    return result


def apply_step(ctx: Ctx, row: TransferRow, step: str, lines: list[dict[str, Any]] | None) -> None:
    """Pick, ship or receive: move stock, set status, emit the event, schedule the next."""
    expected = STEP_FROM[step]
    if row.status != expected:
        allowed = NEXT_STEP.get(row.status)
        raise ApiError(
            409,
            "transfer_step_out_of_order",
            f"transfer {row.transfer_id} is {row.status}; "
            + (f"its next step is {allowed}, not {step}" if allowed else f"it cannot {step}"),
            field="step",
        )
    s = ctx.session
    if step == "pick":
        if lines is None:
            lines = []
            for line in row.lines:
                pos = s.exec(
                    select(PositionRow).where(
                        PositionRow.location_id == row.source_id,
                        PositionRow.item_id == line["item_id"],
                    )
                ).first()
                available = max(pos.on_hand, 0) if pos else 0
                lines.append(
                    {"item_id": line["item_id"], "quantity": min(int(line["quantity"]), available)}
                )
        row.picked = lines
    elif step == "ship":
        lines = lines if lines is not None else list(row.picked)
        for line in lines:
            _move(
                ctx,
                row.source_id,
                line["item_id"],
                on_hand=-int(line["quantity"]),
                reason=f"ship {row.transfer_id}",
            )
            _move(
                ctx,
                row.dest_id,
                line["item_id"],
                in_transit=int(line["quantity"]),
                reason=f"ship {row.transfer_id}",
            )
        row.shipped = lines
        ctx.effect(
            SYSTEM,
            "ship",
            f"transfer_ship:{row.transfer_id}",
            quantity=sum(int(x["quantity"]) for x in lines),
        )
    else:
        lines = lines if lines is not None else list(row.shipped)
        shipped = {x["item_id"]: int(x["quantity"]) for x in row.shipped}
        received = {x["item_id"]: int(x["quantity"]) for x in lines}
        for item_id in sorted(set(shipped) | set(received)):
            _move(
                ctx,
                row.dest_id,
                item_id,
                in_transit=-shipped.get(item_id, 0),
                on_hand=received.get(item_id, 0),
                reason=f"receive {row.transfer_id}",
            )
        row.received = lines
        ctx.effect(
            SYSTEM,
            "receive",
            f"transfer_receive:{row.transfer_id}",
            quantity=sum(received.values()),
        )
    row.status = STEP_TO[step]
    row.updated_at = ctx.now
    row.next_step_at = (
        ctx.now + timedelta(seconds=row.step_seconds)
        if row.progress == "auto" and row.status in NEXT_STEP
        else None
    )
    s.add(row)
    event = WmsEvent(
        event_id=f"ev-{row.transfer_id}-{STEP_EVENT[step]}-{uuid.uuid4().hex[:12]}",
        step=STEP_EVENT[step],
        transfer_id=row.transfer_id,
        reference=row.reference,
        source_id=row.source_id,
        dest_id=row.dest_id,
        lines=lines,
        occurred_at=ctx.now,
    )
    ctx.emit(SYSTEM, row.callback, event.model_dump(mode="json"))


@router.post("/transfers/{transfer_id}/advance")
async def advance(transfer_id: str, body: AdvanceRequest, request: Request) -> JSONResponse:
    """Drill/test control: move a transfer one step now, with given quantities.

    The Idempotency-Key header is optional here (a fresh one is made if absent)."""
    await gate(request, SYSTEM, "advance")
    lines = [line.model_dump() for line in body.lines] if body.lines is not None else None
    if lines is not None:
        no_duplicates([x["item_id"] for x in lines], field="lines")

    def fn(ctx: Ctx) -> Transfer:
        row = _lock_transfer(ctx.session, transfer_id)
        if lines is not None:
            known_items(ctx.session, [x["item_id"] for x in lines], field="lines")
        apply_step(ctx, row, body.step, lines)
        return transfer_model(row)

    return await mutate(request, body, fn, require_key=False)


def auto_progress(state: BackofficeState) -> int:
    """Ticker: move every auto transfer whose next step is due."""
    with state.db.read() as s:
        due = [
            r.transfer_id
            for r in s.exec(
                select(TransferRow)
                .where(TransferRow.progress == "auto", col(TransferRow.next_step_at) <= utcnow())
                .order_by(col(TransferRow.next_step_at))
                .limit(200)
            )
        ]
    emitted = 0
    for transfer_id in due:

        def step(ctx: Ctx, transfer_id: str = transfer_id) -> None:
            row = _lock_transfer(ctx.session, transfer_id)
            nxt = NEXT_STEP.get(row.status)
            if (
                row.progress != "auto"
                or nxt is None
                or row.next_step_at is None
                or row.next_step_at > ctx.now
            ):
                return
            apply_step(ctx, row, nxt, None)

        emitted += run_ticker_sync(state, step)
    return emitted


# -- restock -------------------------------------------------------------------------------


@router.post("/restock")
async def restock(body: RestockRequest, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "restock")

    def fn(ctx: Ctx) -> Position:
        known_location(ctx.session, body.location_id, field="location_id")
        known_items(ctx.session, [body.item_id], field="item_id")
        row = _move(
            ctx,
            body.location_id,
            body.item_id,
            on_hand=body.quantity,
            reason=f"restock {body.reference}",
        )
        ctx.effect(
            SYSTEM,
            "restock",
            f"restock:{body.reference}:{body.item_id}",
            quantity=body.quantity,
            location_id=body.location_id,
        )
        return Position(
            location_id=row.location_id,
            item_id=row.item_id,
            on_hand=row.on_hand,
            in_transit=row.in_transit,
            safety_stock=row.safety_stock,
            as_of=ctx.now,
        )

    return await mutate(request, body, fn)
