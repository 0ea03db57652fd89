"""Store tasks in bulk (``POST /tasks/bulk``, ``POST /tasks/bulk-cancel``): real HTTP to a
live backoffice, real database; every effect counted in the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters import BusinessRefusal
from tests.adapters.helpers import key, now, uid
from tests.fixtures.backoffice import LiveBackoffice
from wire.tasks import BulkCancelRequest, BulkTaskRequest, TaskRequest

STORES = ["S010", "S011", "S012"]


def tasks(pid: str, stores: list[str] = STORES, kind: str = "signage") -> BulkTaskRequest:
    return BulkTaskRequest(
        tasks=[
            TaskRequest(
                task_id=f"{pid}-{store}-{kind}",
                store_id=store,
                kind=kind,
                title="shelf-edge labels",
                due_at=now() + timedelta(days=1),
                promotion_id=pid,
            )
            for store in stores
        ]
    )


async def created(live: LiveBackoffice, pid: str) -> int:
    return await live.ledger_count(
        system="tasks", operation="create_task", subject_prefix=f"task:{pid}-"
    )


async def test_bulk_create_makes_every_task_once_even_when_retried(
    backoffice: LiveBackoffice,
) -> None:
    pid = uid("P")
    request = tasks(pid)
    k = key()
    async with backoffice.adapters() as bo:
        first = await bo.tasks.create_many(request, idempotency_key=k)
        replay = await bo.tasks.create_many(request, idempotency_key=k)
        # a retry under another key (a new activity attempt that lost its key) doubles nothing
        other_key = await bo.tasks.create_many(request, idempotency_key=key())
        listed = await bo.tasks.list(promotion_id=pid)
    assert first.created == 3 and [t.store_id for t in first.tasks] == STORES
    assert {t.status for t in first.tasks} == {"OPEN"}
    assert replay == first
    assert other_key.created == 0 and [t.task_id for t in other_key.tasks] == [
        t.task_id for t in first.tasks
    ]
    assert len(listed) == 3
    assert await created(backoffice, pid) == 3


async def test_bulk_create_refuses_a_clashing_task_and_creates_nothing(
    backoffice: LiveBackoffice,
) -> None:
    pid = uid("P")
    async with backoffice.adapters() as bo:
        await bo.tasks.create_many(tasks(pid, ["S010"]), idempotency_key=key())
        clash = tasks(pid, ["S011", "S012"])
        clash.tasks[1].task_id = f"{pid}-S010-signage"  # exists, for another store
        with pytest.raises(BusinessRefusal) as err:
            await bo.tasks.create_many(clash, idempotency_key=key())
        assert err.value.status == 409 and err.value.code == "task_exists"
        assert "tasks[1]" in err.value.message and "store S010" in err.value.message
        with pytest.raises(BusinessRefusal) as unknown:
            await bo.tasks.create_many(tasks(pid, ["S011", "S9999"]), idempotency_key=key())
        assert unknown.value.code == "unknown_store"
        assert unknown.value.field == "tasks.store_id[1]"
        assert [t.store_id for t in await bo.tasks.list(promotion_id=pid)] == ["S010"]
    assert await created(backoffice, pid) == 1


async def test_bulk_create_refuses_repeated_ids_and_too_many_tasks_in_words(
    backoffice: LiveBackoffice,
) -> None:
    pid = uid("P")
    body = tasks(pid, ["S010", "S010"]).model_dump(mode="json")
    async with backoffice.adapters() as bo:
        repeated = await bo.http.post("/tasks/bulk", json=body, headers={"Idempotency-Key": key()})
        one = body["tasks"][0]
        huge = {"tasks": [{**one, "task_id": f"{pid}-{n}"} for n in range(501)]}
        too_many = await bo.http.post("/tasks/bulk", json=huge, headers={"Idempotency-Key": key()})
    assert repeated.status_code == 400
    assert "listed twice" in repeated.json()["message"]
    assert too_many.status_code in (400, 422)
    assert "500" in too_many.text
    assert await created(backoffice, pid) == 0


async def test_bulk_cancel_cancels_open_tasks_once_and_leaves_closed_ones(
    backoffice: LiveBackoffice,
) -> None:
    pid = uid("P")
    async with backoffice.adapters() as bo:
        made = await bo.tasks.create_many(tasks(pid), idempotency_key=key())
        ids = [t.task_id for t in made.tasks]
        await bo.tasks.complete(ids[0])
        with pytest.raises(BusinessRefusal) as err:
            await bo.tasks.cancel_many(
                BulkCancelRequest(task_ids=[ids[1], "NOPE"], reason="x"), idempotency_key=key()
            )
        assert err.value.code == "unknown_task" and err.value.field == "task_ids[1]"
        request = BulkCancelRequest(task_ids=ids, reason="promotion cancelled")
        first = await bo.tasks.cancel_many(request, idempotency_key=key())
        again = await bo.tasks.cancel_many(request, idempotency_key=key())
    assert first.cancelled == 2
    assert [t.status for t in first.tasks] == ["COMPLETED", "CANCELLED", "CANCELLED"]
    assert again.cancelled == 0 and [t.status for t in again.tasks] == [
        "COMPLETED",
        "CANCELLED",
        "CANCELLED",
    ]
    cancels = await backoffice.ledger_count(
        system="tasks", operation="cancel_task", subject_prefix=f"task_cancelled:{pid}-"
    )
    assert cancels == 2
