"""Health, the effects ledger and the event outbox, for tests, drills and operators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlmodel import Session, col, func, select

from backoffice.core import read, state_of
from backoffice.db import LedgerRow, OutboxRow, StoreRow
from wire.control import LedgerEntry, LedgerPage, OutboxEvent

router = APIRouter(tags=["control"])


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    state = state_of(request)

    def q(s: Session) -> int:
        return int(s.exec(select(func.count()).select_from(StoreRow)).one())

    stores = await read(request, q)
    return {
        "status": "ok",
        "database": state.db.dialect,
        "stores": stores,
        "started_at": state.started_at.isoformat(),
        "seeded_at": state.seeded_at.isoformat() if state.seeded_at else None,
        "ingress": state.config.event_ingress_url,
        "faults": len(state.faults.list()),
    }


@router.get("/ledger")
async def ledger(
    request: Request,
    system: str | None = None,
    operation: str | None = None,
    subject: str | None = None,
    subject_prefix: str | None = None,
    idempotency_key: str | None = None,
    limit: int = Query(default=1000, ge=0, le=100_000),
) -> LedgerPage:
    """Effects by system/operation/subject/key; ``count`` is exact, entries up to ``limit``."""

    def q(s: Session) -> LedgerPage:
        conditions: list[Any] = []
        if system:
            conditions.append(LedgerRow.system == system)
        if operation:
            conditions.append(LedgerRow.operation == operation)
        if subject:
            conditions.append(LedgerRow.subject == subject)
        if subject_prefix:
            conditions.append(col(LedgerRow.subject).startswith(subject_prefix))
        if idempotency_key:
            conditions.append(LedgerRow.idempotency_key == idempotency_key)
        count = s.exec(select(func.count()).select_from(LedgerRow).where(*conditions)).one()
        rows = s.exec(select(LedgerRow).where(*conditions).order_by(col(LedgerRow.id)).limit(limit))
        return LedgerPage(
            count=int(count), entries=[LedgerEntry.model_validate(r.model_dump()) for r in rows]
        )

    result: LedgerPage = await read(request, q)
    return result


@router.get("/events")
async def events(
    request: Request,
    workflow_id: str | None = None,
    status: str | None = None,
    system: str | None = None,
    limit: int = Query(default=1000, ge=1, le=100_000),
) -> list[OutboxEvent]:
    """The outbox: what was (or will be) delivered to which workflow, and how it went."""

    def q(s: Session) -> list[OutboxEvent]:
        stmt = select(OutboxRow).order_by(col(OutboxRow.created_at)).limit(limit)
        if workflow_id:
            stmt = stmt.where(OutboxRow.workflow_id == workflow_id)
        if status:
            stmt = stmt.where(OutboxRow.status == status)
        if system:
            stmt = stmt.where(OutboxRow.system == system)
        return [
            OutboxEvent(
                event_id=r.event_id,
                system=r.system,
                workflow_id=r.workflow_id,
                signal=r.signal,
                status=r.status,
                deliveries=r.deliveries,
                attempts=r.attempts,
                deliver_after=r.deliver_after,
                last_error=r.last_error,
                payload=r.payload,
            )
            for r in s.exec(stmt)
        ]

    result: list[OutboxEvent] = await read(request, q)
    return result
