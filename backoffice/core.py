"""What every router shares: the app state, idempotent mutations, the effects ledger,
and emitting events into the transactional outbox.

A mutating endpoint looks like::

    @router.post("/refunds")
    async def refund(body: RefundRequest, request: Request) -> JSONResponse:
        await gate(request, "pos", f"refund.{body.tender_type}")   # faults first
        return await mutate(request, body, lambda ctx: _refund(ctx, body))

``_refund`` runs in a worker thread inside one database transaction with
``ctx.session``; it records its external effect with ``ctx.effect(...)`` and its
asynchronous events with ``ctx.emit(...)``. The idempotency record, the effect, the
state change and the events commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from backoffice.config import BackofficeConfig
from backoffice.db import Database, IdempotencyRow, LedgerRow, OutboxRow, utcnow
from backoffice.errors import ApiError, not_found
from backoffice.faults import FaultRegistry
from wire.headers import IDEMPOTENCY_HEADER, REPLAY_HEADER

if TYPE_CHECKING:
    from backoffice.outbox import Outbox

MAX_KEY_LENGTH = 300
KEY_TABLE: Table = IdempotencyRow.__table__  # type: ignore[attr-defined]
LEDGER_TABLE: Table = LedgerRow.__table__  # type: ignore[attr-defined]
# built once: statement construction costs more than the SQLite round trip
KEY_SELECT = select(KEY_TABLE).where(KEY_TABLE.c.key == bindparam("key"))
KEY_INSERT = insert(KEY_TABLE)
LEDGER_INSERT = insert(LEDGER_TABLE)

Ticker = Callable[["BackofficeState"], int]


@dataclass
class BackofficeState:
    config: BackofficeConfig
    db: Database
    faults: FaultRegistry
    started_at: datetime = field(default_factory=utcnow)
    seeded_at: datetime | None = None
    outbox: Outbox | None = None
    tickers: list[Ticker] = field(default_factory=list)

    def wake_outbox(self) -> None:
        if self.outbox is not None:
            self.outbox.wake()


def state_of(request: Request) -> BackofficeState:
    return request.app.state.backoffice


async def gate(
    request: Request, system: str, operation: str, *, stores: Sequence[str] = ()
) -> None:
    """Apply injected faults for (system, operation) before doing anything; `stores` are
    the stores the call names, for faults scoped to some stores."""
    await state_of(request).faults.gate(system, operation, stores)


R = TypeVar("R")


def get_or_404(session: Session, model: type[R], key: Any, what: str, label: str = "") -> R:
    """The row of `model` with primary key `key`, or a 404 naming the unknown `what`."""
    row = session.get(model, key)
    if row is None:
        raise not_found(what, label or str(key))
    return row


async def read(request: Request, fn: Callable[[Session], Any]) -> Any:
    """Run a read-only function with a session in a worker thread."""
    state = state_of(request)

    def run() -> Any:
        with state.db.read() as session:
            return fn(session)

    return await run_in_threadpool(run)


@dataclass
class Ctx:
    """One mutation's transaction: the session plus ledger and outbox helpers."""

    session: Session
    key: str
    now: datetime
    state: BackofficeState
    emitted: int = 0
    ledger: list[dict[str, Any]] = field(default_factory=list)

    def flush_ledger(self) -> None:
        """Write the recorded effects (one multi-row INSERT, part of the transaction)."""
        if self.ledger:
            self.session.connection().execute(LEDGER_INSERT, self.ledger)
            self.ledger = []

    def effect(
        self,
        system: str,
        operation: str,
        subject: str,
        *,
        amount: Decimal | None = None,
        quantity: int | None = None,
        **detail: Any,
    ) -> None:
        """Record one external effect in the ledger (tests count them by subject)."""
        self.ledger.append(
            {
                "system": system,
                "operation": operation,
                "subject": subject,
                "idempotency_key": self.key,
                "amount": amount,
                "quantity": quantity,
                "detail": jsonable_encoder(detail) if detail else {},
                "created_at": self.now,
            }
        )

    def emit(
        self, system: str, callback: dict[str, Any] | None, payload: dict[str, Any]
    ) -> str | None:
        """Queue an event for ``callback``'s workflow; returns its event id (None: no callback)."""
        event_id = emit_event(self.session, self.state, system, callback, payload, now=self.now)
        if event_id:
            self.emitted += 1
        return event_id


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def emit_event(
    session: Session,
    state: BackofficeState,
    system: str,
    callback: dict[str, Any] | None,
    payload: dict[str, Any],
    *,
    now: datetime,
) -> str | None:
    """Insert an outbox row, applying the system's event faults (drop, late, duplicate)."""
    if not callback:
        return None
    event_id = payload.get("event_id") or f"ev-{uuid.uuid4().hex}"
    payload = {**payload, "event_id": event_id}
    status = "pending"
    deliver_after = now
    planned = 1
    faults = state.faults
    rule = faults.match(system, "events")
    if rule is not None:
        spec = rule.spec
        if faults.decide(rule, "drop", spec.drop_rate, system, "events"):
            status = "dropped"
        else:
            if spec.late_seconds > 0 and faults.decide(
                rule, "late", spec.late_rate, system, "events"
            ):
                deliver_after = now + timedelta(seconds=spec.late_seconds)
            if faults.decide(rule, "duplicate", spec.duplicate_rate, system, "events"):
                planned = 1 + spec.duplicate_count
    session.add(
        OutboxRow(
            event_id=event_id,
            system=system,
            workflow_id=callback["workflow_id"],
            run_id=callback.get("run_id"),
            signal=callback["signal"],
            payload=jsonable_encoder(payload),
            status=status,
            planned_deliveries=planned,
            deliver_after=deliver_after,
            created_at=now,
        )
    )
    return str(event_id)


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps({"m": method, "p": path, "b": body}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class _Outcome:
    status: int
    body: Any
    replay: bool
    emitted: int = 0


def _require_key(request: Request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if not key.strip():
        raise ApiError(
            400,
            "missing_idempotency_key",
            f"the {IDEMPOTENCY_HEADER} header is required on every change "
            "(same key + same request = the first result, never a second effect)",
            field=IDEMPOTENCY_HEADER,
        )
    if len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            400,
            "invalid_input",
            f"the {IDEMPOTENCY_HEADER} header is longer than {MAX_KEY_LENGTH} characters",
            field=IDEMPOTENCY_HEADER,
        )
    return key


async def mutate(
    request: Request,
    body: BaseModel | dict[str, Any] | None,
    fn: Callable[[Ctx], Any],
    *,
    status: int = 200,
    require_key: bool = True,
) -> JSONResponse:
    """Run ``fn`` once per idempotency key (see the module doc)."""
    state = state_of(request)
    if require_key:
        key = _require_key(request)
    else:
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip() or f"auto-{uuid.uuid4().hex}"
    body_json = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    method = request.method
    path = request.url.path
    digest = request_hash(method, path, body_json)
    if state.db.is_sqlite and state.config.inline_sqlite_writes:
        # SQLite writes are serialised anyway: running them on the event loop saves a
        # thread hop and GIL hand-offs per write (each takes about a millisecond)
        outcome = _mutate_sync(state, key, method, path, digest, fn, status)
    else:
        outcome = await run_in_threadpool(
            _mutate_sync, state, key, method, path, digest, fn, status
        )
    if outcome.emitted:
        state.wake_outbox()
    headers = {REPLAY_HEADER: "true"} if outcome.replay else {}
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


def _mutate_sync(
    state: BackofficeState,
    key: str,
    method: str,
    path: str,
    digest: str,
    fn: Callable[[Ctx], Any],
    status: int,
) -> _Outcome:
    for _attempt in range(5):
        with state.db.write() as session:
            existing = session.connection().execute(KEY_SELECT, {"key": key}).mappings().first()
            if existing is not None:
                return _replay(existing, key, method, path, digest)
            ctx = Ctx(session=session, key=key, now=utcnow(), state=state)
            result = fn(ctx)
            body = (
                result.model_dump(mode="json")
                if isinstance(result, BaseModel)
                else jsonable_encoder(result)
            )
            ctx.flush_ledger()
            try:
                # a concurrent twin with the same key: on PostgreSQL this insert waits
                # for the first commit, then fails with IntegrityError
                session.connection().execute(
                    KEY_INSERT,
                    [
                        {
                            "key": key,
                            "method": method,
                            "path": path,
                            "request_hash": digest,
                            "status_code": status,
                            "response": json.dumps(body),
                            "created_at": ctx.now,
                        }
                    ],
                )
                session.commit()
            except IntegrityError:
                # another request with the same key committed first: answer as a replay
                session.rollback()
                continue
            return _Outcome(status, body, replay=False, emitted=ctx.emitted)
    raise ApiError(503, "busy", "could not record the request; try again with the same key")


def _replay(row: Any, key: str, method: str, path: str, digest: str) -> _Outcome:
    if row["request_hash"] != digest:
        same_call = row["method"] == method and row["path"] == path
        what = (
            "with a different request body"
            if same_call
            else (f"for another request ({row['method']} {row['path']})")
        )
        raise ApiError(
            409,
            "idempotency_conflict",
            f"idempotency key {key!r} was already used {what} at "
            f"{row['created_at'].isoformat(timespec='seconds')}; resend the identical request to "
            "get the first result, or use a new key for a new request",
            field="Idempotency-Key",
        )
    return _Outcome(row["status_code"], json.loads(row["response"]), replay=True)


def run_ticker_sync(state: BackofficeState, fn: Callable[[Ctx], Any]) -> int:
    """Run a background change (auto progress) in its own transaction; returns events."""
    with state.db.write() as session:
        ctx = Ctx(session=session, key=f"auto-{uuid.uuid4().hex}", now=utcnow(), state=state)
        fn(ctx)
        ctx.flush_ledger()
        session.commit()
        return ctx.emitted
