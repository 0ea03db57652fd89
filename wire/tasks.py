"""Store task wire schemas (``/tasks``): signage and labor work before a promotion goes live.

Completion (or cancellation) comes as a :class:`wire.events.TaskEvent` signal to the
request's ``callback``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from wire.common import Callback, Identifier, Model, ResultModel

TaskKind = Literal["signage", "labor"]
TaskStatus = Literal["OPEN", "COMPLETED", "CANCELLED"]


class TaskRequest(Model):
    task_id: Identifier = Field(description="caller's business key, e.g. 'P1-S012-signage'")
    store_id: Identifier
    kind: TaskKind
    title: str = Field(min_length=1, max_length=300)
    due_at: AwareDatetime
    promotion_id: str | None = None
    callback: Callback | None = None
    auto_complete_after_s: float | None = Field(default=None, ge=0, le=86400)


class StoreTask(ResultModel):
    task_id: str
    store_id: str
    kind: TaskKind
    title: str
    due_at: datetime
    status: TaskStatus
    promotion_id: str | None = None
    completed_by: str | None = None
    closed_at: datetime | None = None
    reason: str | None = None
    created_at: datetime


MAX_BULK_TASKS = 500
"""Tasks one bulk call creates or cancels at most."""


class BulkTaskRequest(Model):
    """Create many tasks in one call (``POST /tasks/bulk``), all or nothing.

    Idempotent twice over: the same idempotency key returns the first answer, and a task id
    that exists already with the same store, kind and promotion is returned as it is
    (``created`` false), so a retry with another key doubles nothing either."""

    tasks: list[TaskRequest] = Field(min_length=1, max_length=MAX_BULK_TASKS)


class BulkTaskResult(ResultModel):
    tasks: list[StoreTask]
    created: int
    """How many of ``tasks`` this call created (the others existed already)."""


class BulkCancelRequest(Model):
    """Cancel many tasks in one call (``POST /tasks/bulk-cancel``); closed ones are left."""

    task_ids: list[Identifier] = Field(min_length=1, max_length=MAX_BULK_TASKS)
    reason: str = Field(default="", max_length=500)


class BulkCancelResult(ResultModel):
    tasks: list[StoreTask]
    cancelled: int
    """How many of ``task_ids`` this call cancelled (the others were closed already)."""


__all__ = [
    "MAX_BULK_TASKS",
    "BulkCancelRequest",
    "BulkCancelResult",
    "BulkTaskRequest",
    "BulkTaskResult",
    "StoreTask",
    "TaskKind",
    "TaskRequest",
    "TaskStatus",
]
