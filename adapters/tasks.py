"""Store tasks: signage and labor work a store must do before a promotion goes live.

:meth:`TasksClient.create` opens a task with a due time; when the store completes (or the
task is cancelled) a :class:`wire.events.TaskEvent` signal goes to ``callback``
(e.g. ``signal="store_task_done"``). ``auto_complete_after_s`` lets the reference system
complete it by itself (demo, drills); otherwise tests complete it with
:meth:`TasksClient.complete`. :meth:`TasksClient.create_many` and
:meth:`TasksClient.cancel_many` create or cancel up to 500 tasks in one call.
"""

from __future__ import annotations

from adapters.base import BaseAdapter, new_idempotency_key
from wire.tasks import (
    BulkCancelRequest,
    BulkCancelResult,
    BulkTaskRequest,
    BulkTaskResult,
    StoreTask,
    TaskRequest,
    TaskStatus,
)


class TasksClient(BaseAdapter):
    """Typed client of store tasks (``/tasks``)."""

    system = "tasks"
    prefix = "/tasks"

    async def create(self, request: TaskRequest, *, idempotency_key: str) -> StoreTask:
        return await self._call(
            "POST",
            "",
            operation="create_task",
            result=StoreTask,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def create_many(
        self, request: BulkTaskRequest, *, idempotency_key: str
    ) -> BulkTaskResult:
        """Up to 500 tasks in one call, all or nothing; existing identical tasks come back
        as they are (``created`` counts the new ones)."""
        return await self._call(
            "POST",
            "/bulk",
            operation="create_tasks",
            result=BulkTaskResult,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def cancel_many(
        self, request: BulkCancelRequest, *, idempotency_key: str
    ) -> BulkCancelResult:
        """Cancel up to 500 tasks in one call (closed ones come back unchanged)."""
        return await self._call(
            "POST",
            "/bulk-cancel",
            operation="cancel_tasks",
            result=BulkCancelResult,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def complete(
        self, task_id: str, *, completed_by: str = "store", idempotency_key: str | None = None
    ) -> StoreTask:
        """What the store does when the work is done (tests and drills call it)."""
        return await self._call(
            "POST",
            f"/{task_id}/complete",
            operation="complete_task",
            result=StoreTask,
            json={"completed_by": completed_by},
            idempotency_key=idempotency_key or new_idempotency_key(),
        )

    async def cancel(self, task_id: str, *, idempotency_key: str, reason: str = "") -> StoreTask:
        """Cancel an open task (cancelling a closed one returns it unchanged)."""
        return await self._call(
            "POST",
            f"/{task_id}/cancel",
            operation="cancel_task",
            result=StoreTask,
            json={"reason": reason},
            idempotency_key=idempotency_key,
        )

    async def get(self, task_id: str) -> StoreTask:
        return await self._call("GET", f"/{task_id}", operation="get_task", result=StoreTask)

    async def list(
        self,
        *,
        promotion_id: str | None = None,
        store_id: str | None = None,
        status: TaskStatus | None = None,
    ) -> list[StoreTask]:
        return await self._call(
            "GET",
            "",
            operation="list_tasks",
            result=list[StoreTask],
            params={"promotion_id": promotion_id, "store_id": store_id, "status": status},
        )


__all__ = ["TasksClient"]
