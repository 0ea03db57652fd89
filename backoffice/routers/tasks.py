"""Store tasks: signage and labor with due times; completion comes back as an event."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Table, insert
from sqlmodel import Session, col, select

from backoffice.core import BackofficeState, Ctx, gate, get_or_404, mutate, read, run_ticker_sync
from backoffice.db import TaskRow, utcnow
from backoffice.errors import ApiError, bad_input, not_found
from backoffice.routers.common import known_stores, no_duplicates
from wire.events import TaskEvent
from wire.tasks import (
    BulkCancelRequest,
    BulkCancelResult,
    BulkTaskRequest,
    BulkTaskResult,
    StoreTask,
    TaskRequest,
)

SYSTEM = "tasks"
TASK_TABLE: Table = TaskRow.__table__  # type: ignore[attr-defined]
router = APIRouter(prefix="/tasks", tags=["tasks"])


def task_model(row: TaskRow) -> StoreTask:
    return StoreTask.model_validate(row.model_dump())


def _lock(s: Session, task_id: str) -> TaskRow:
    row = s.exec(select(TaskRow).where(TaskRow.task_id == task_id).with_for_update()).first()
    if row is None:
        raise not_found("task", task_id)
    return row


def _close(ctx: Ctx, row: TaskRow, status: str, *, by: str | None, reason: str | None) -> None:
    row.status = status
    row.completed_by = by
    row.reason = reason
    row.closed_at = ctx.now
    row.auto_complete_at = None
    ctx.session.add(row)
    ctx.effect(
        SYSTEM,
        "complete_task" if status == "COMPLETED" else "cancel_task",
        f"task_{status.lower()}:{row.task_id}",
    )
    event = TaskEvent(
        event_id=f"ev-task-{row.task_id}-{status.lower()}-{uuid.uuid4().hex[:8]}",
        task_id=row.task_id,
        store_id=row.store_id,
        task_kind=row.kind,
        status="completed" if status == "COMPLETED" else "cancelled",
        promotion_id=row.promotion_id,
        completed_by=by,
        occurred_at=ctx.now,
    )
    ctx.emit(SYSTEM, row.callback, event.model_dump(mode="json"))


def _row_values(ctx: Ctx, body: TaskRequest) -> dict[str, Any]:
    return {
        "task_id": body.task_id,
        "store_id": body.store_id,
        "kind": body.kind,
        "title": body.title,
        "due_at": body.due_at,
        "status": "OPEN",
        "promotion_id": body.promotion_id,
        "callback": body.callback.model_dump() if body.callback else None,
        "auto_complete_at": (
            ctx.now + timedelta(seconds=body.auto_complete_after_s)
            if body.auto_complete_after_s is not None
            else None
        ),
        "completed_by": None,
        "closed_at": None,
        "reason": None,
        "created_at": ctx.now,
    }


def _new_row(ctx: Ctx, body: TaskRequest) -> TaskRow:
    row = TaskRow(**_row_values(ctx, body))
    ctx.session.add(row)
    ctx.effect(SYSTEM, "create_task", f"task:{body.task_id}", kind=body.kind)
    return row


@router.post("", status_code=201)
async def create_task(body: TaskRequest, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "create_task")

    def fn(ctx: Ctx) -> StoreTask:
        s = ctx.session
        known_stores(s, [body.store_id], field="store_id")
        if s.get(TaskRow, body.task_id) is not None:
            raise ApiError(
                409,
                "task_exists",
                f"task {body.task_id} already exists (created with another idempotency key)",
                field="task_id",
            )
        return task_model(_new_row(ctx, body))

    return await mutate(request, body, fn, status=201)


@router.post("/bulk")
async def create_tasks(body: BulkTaskRequest, request: Request) -> JSONResponse:
    """Create up to 500 tasks in one transaction. A task id that exists with the same
    store, kind and promotion is returned as it is; one that exists for something else is
    refused (409 ``task_exists``, nothing created)."""
    await gate(request, SYSTEM, "create_tasks", stores=[t.store_id for t in body.tasks])
    no_duplicates([t.task_id for t in body.tasks], field="tasks.task_id")

    def fn(ctx: Ctx) -> BulkTaskResult:
        s = ctx.session
        known_stores(s, [t.store_id for t in body.tasks], field="tasks.store_id")
        ids = [t.task_id for t in body.tasks]
        existing = {
            r.task_id: r for r in s.exec(select(TaskRow).where(col(TaskRow.task_id).in_(ids)))
        }
        out: list[StoreTask] = []
        new_rows: list[dict[str, Any]] = []
        for index, task in enumerate(body.tasks):
            row = existing.get(task.task_id)
            if row is None:
                values = _row_values(ctx, task)
                new_rows.append(values)
                ctx.effect(SYSTEM, "create_task", f"task:{task.task_id}", kind=task.kind)
                out.append(StoreTask.model_validate(values))
                continue
            if (row.store_id, row.kind, row.promotion_id) != (
                task.store_id,
                task.kind,
                task.promotion_id,
            ):
                raise ApiError(
                    409,
                    "task_exists",
                    f"tasks[{index}]: task {task.task_id} already exists for store "
                    f"{row.store_id}, kind {row.kind}, promotion {row.promotion_id}",
                    field=f"tasks[{index}].task_id",
                )
            out.append(task_model(row))
        if new_rows:  # one multi-row INSERT: the ORM's unit of work costs more than SQLite
            s.connection().execute(insert(TASK_TABLE), new_rows)
        created = len(new_rows)
        return BulkTaskResult(tasks=out, created=created)

    return await mutate(request, body, fn)


@router.post("/bulk-cancel")
async def cancel_tasks(body: BulkCancelRequest, request: Request) -> JSONResponse:
    """Cancel up to 500 tasks in one transaction (closed tasks are returned unchanged; an
    unknown task id refuses the whole call, nothing cancelled)."""
    await gate(request, SYSTEM, "cancel_tasks")
    no_duplicates(body.task_ids, field="task_ids")

    def fn(ctx: Ctx) -> BulkCancelResult:
        s = ctx.session
        rows = {
            r.task_id: r
            for r in s.exec(
                select(TaskRow).where(col(TaskRow.task_id).in_(body.task_ids)).with_for_update()
            )
        }
        for index, task_id in enumerate(body.task_ids):
            if task_id not in rows:
                raise not_found("task", task_id, field=f"task_ids[{index}]")
        cancelled = 0
        for task_id in body.task_ids:
            row = rows[task_id]
            if row.status == "OPEN":
                _close(ctx, row, "CANCELLED", by=None, reason=body.reason or None)
                cancelled += 1
        return BulkCancelResult(
            tasks=[task_model(rows[t]) for t in body.task_ids], cancelled=cancelled
        )

    return await mutate(request, body, fn)


@router.post("/{task_id}/complete")
async def complete_task(
    task_id: str, request: Request, body: dict[str, Any] | None = None
) -> JSONResponse:
    await gate(request, SYSTEM, "complete_task")
    by = str((body or {}).get("completed_by") or "store")

    def fn(ctx: Ctx) -> StoreTask:
        row = _lock(ctx.session, task_id)
        if row.status == "CANCELLED":
            raise ApiError(409, "task_cancelled", f"task {task_id} was cancelled")
        if row.status == "OPEN":
            _close(ctx, row, "COMPLETED", by=by, reason=None)
        return task_model(row)

    return await mutate(request, body or {}, fn)


@router.post("/{task_id}/cancel")
async def cancel_task(
    task_id: str, request: Request, body: dict[str, Any] | None = None
) -> JSONResponse:
    await gate(request, SYSTEM, "cancel_task")
    reason = str((body or {}).get("reason") or "")

    def fn(ctx: Ctx) -> StoreTask:
        row = _lock(ctx.session, task_id)
        if row.status == "OPEN":
            _close(ctx, row, "CANCELLED", by=None, reason=reason or None)
        return task_model(row)

    return await mutate(request, body or {}, fn)


@router.get("/{task_id}")
async def get_task(task_id: str, request: Request) -> StoreTask:
    await gate(request, SYSTEM, "get_task")

    def q(s: Session) -> StoreTask:
        row = get_or_404(s, TaskRow, task_id, "task")
        return task_model(row)

    result: StoreTask = await read(request, q)
    return result


@router.get("")
async def list_tasks(
    request: Request,
    promotion_id: str | None = None,
    store_id: str | None = None,
    status: str | None = None,
) -> list[StoreTask]:
    await gate(request, SYSTEM, "list_tasks")
    if status is not None and status not in ("OPEN", "COMPLETED", "CANCELLED"):
        raise bad_input("status", "must be OPEN, COMPLETED or CANCELLED")
    if not (promotion_id or store_id):
        raise bad_input("promotion_id", "give promotion_id and/or store_id")

    def q(s: Session) -> list[StoreTask]:
        stmt = select(TaskRow).order_by(col(TaskRow.task_id))
        if promotion_id:
            stmt = stmt.where(TaskRow.promotion_id == promotion_id)
        if store_id:
            stmt = stmt.where(TaskRow.store_id == store_id)
        if status:
            stmt = stmt.where(TaskRow.status == status)
        return [task_model(r) for r in s.exec(stmt)]

    result: list[StoreTask] = await read(request, q)
    return result


def auto_complete(state: BackofficeState) -> int:
    with state.db.read() as s:
        due = [
            r.task_id
            for r in s.exec(
                select(TaskRow)
                .where(TaskRow.status == "OPEN", col(TaskRow.auto_complete_at) <= utcnow())
                .limit(500)
            )
        ]
    emitted = 0
    for task_id in due:

        def done(ctx: Ctx, task_id: str = task_id) -> None:
            row = _lock(ctx.session, task_id)
            if row.status == "OPEN" and row.auto_complete_at and row.auto_complete_at <= ctx.now:
                _close(ctx, row, "COMPLETED", by="store (automatic)", reason=None)

        emitted += run_ticker_sync(state, done)
    return emitted
