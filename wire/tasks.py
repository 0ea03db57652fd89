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


__all__ = [
    "StoreTask",
    "TaskKind",
    "TaskRequest",
    "TaskStatus",
]
