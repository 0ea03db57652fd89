"""Events reach a workflow as signals (the backoffice's outbox posts them to the ingress
process), duplicated, dropped or late on demand."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from common.config import Settings
from tests.adapters.helpers import eventually, key, now, uid
from tests.backoffice.event_workflow import EVENT_SIGNAL, EventCollector
from tests.fixtures.backoffice import LiveBackoffice
from wire.channels import PublicationRequest
from wire.common import Callback, PriceLine
from wire.events import ChannelEvent, TaskEvent, WmsEvent
from wire.tasks import TaskRequest
from wire.wms import TransferLine, TransferRequest


@pytest.fixture
async def collector(
    env: WorkflowEnvironment, backoffice: LiveBackoffice, run_worker: Any, task_queue: str
) -> AsyncIterator[Any]:
    """``await start(expected_deliveries)`` -> (handle, callback)."""
    settings = replace(Settings(), backoffice_url=backoffice.url)
    async with run_worker(env.client, settings=settings, extra_workflows=[EventCollector]):

        async def start(expected: int) -> tuple[WorkflowHandle[Any, Any], Callback]:
            wid = f"collector-{uuid.uuid4().hex[:10]}"
            handle = await env.client.start_workflow(
                EventCollector.run, expected, id=wid, task_queue=task_queue
            )
            return handle, Callback(workflow_id=wid, signal=EVENT_SIGNAL)

        yield start


async def test_wms_progress_arrives_in_order(backoffice: LiveBackoffice, collector: Any) -> None:
    handle, callback = await collector(3)
    tid = uid("T")
    async with backoffice.adapters() as bo:
        await bo.wms.create_transfer(
            TransferRequest(
                transfer_id=tid,
                reference="plan-7",
                source_id="DC-EAST",
                dest_id="S004",
                lines=[TransferLine(item_id="I0040", quantity=3)],
                callback=callback,
            ),
            idempotency_key=key(),
        )
        await bo.wms.release_transfer(tid, idempotency_key=key())
    events = [WmsEvent.model_validate(e) for e in await handle.result()]
    assert [e.step for e in events] == ["picked", "shipped", "received"]
    assert all(e.transfer_id == tid and e.lines[0].quantity == 3 for e in events)
    assert len({e.event_id for e in events}) == 3


async def test_manual_receipt_with_variance(backoffice: LiveBackoffice, collector: Any) -> None:
    from wire.common import QuantityLine

    handle, callback = await collector(3)
    tid = uid("T")
    async with backoffice.adapters() as bo:
        await bo.wms.create_transfer(
            TransferRequest(
                transfer_id=tid,
                source_id="DC-EAST",
                dest_id="S004",
                lines=[TransferLine(item_id="I0041", quantity=5)],
                callback=callback,
                progress="manual",
            ),
            idempotency_key=key(),
        )
        await bo.wms.release_transfer(tid, idempotency_key=key())
        await bo.wms.advance(tid, "pick")
        await bo.wms.advance(tid, "ship")
        await bo.wms.advance(tid, "receive", [QuantityLine(item_id="I0041", quantity=4)])
    events = [WmsEvent.model_validate(e) for e in await handle.result()]
    assert [(e.step, e.lines[0].quantity) for e in events] == [
        ("picked", 5),
        ("shipped", 5),
        ("received", 4),
    ]


async def test_channel_confirmation_and_duplicates(
    backoffice: LiveBackoffice, collector: Any
) -> None:
    handle, callback = await collector(3)  # one confirmation, delivered three times
    pid = uid("P")
    async with backoffice.fault("ecommerce", "events", duplicate_rate=1, duplicate_count=2):
        async with backoffice.adapters() as bo:
            await bo.ecommerce.publish(
                PublicationRequest(
                    promotion_id=pid,
                    prices=[PriceLine(item_id="I0009", price=Decimal("3.00"))],
                    start=now(),
                    end=now() + timedelta(days=1),
                    callback=callback,
                ),
                idempotency_key=key(),
            )
        events = [ChannelEvent.model_validate(e) for e in await handle.result()]
    assert len(events) == 3 and len({e.event_id for e in events}) == 1
    assert events[0].status == "confirmed" and events[0].promotion_id == pid
    [row] = await backoffice.events(workflow_id=callback.workflow_id)
    assert row.status == "delivered" and row.deliveries == 3


async def test_dropped_confirmation_is_live_on_read_back(
    backoffice: LiveBackoffice, collector: Any
) -> None:
    handle, callback = await collector(1)
    pid = uid("P")
    async with backoffice.fault("marketplace", "events", drop_rate=1):
        async with backoffice.adapters() as bo:
            await bo.marketplace.publish(
                PublicationRequest(
                    promotion_id=pid,
                    prices=[PriceLine(item_id="I0009", price=Decimal("9.00"))],
                    start=now(),
                    end=now() + timedelta(days=1),
                    callback=callback,
                ),
                idempotency_key=key(),
            )
            pub = await eventually(
                lambda: bo.marketplace.read_back(pid), lambda p: p.status != "PENDING"
            )
    assert pub.status == "LIVE"
    [row] = await backoffice.events(workflow_id=callback.workflow_id)
    assert row.status == "dropped" and row.deliveries == 0
    assert await handle.query(EventCollector.count) == 0
    await handle.signal(EventCollector.finish)
    assert await handle.result() == []


async def test_late_confirmation_is_held_back(backoffice: LiveBackoffice, collector: Any) -> None:
    handle, callback = await collector(1)
    pid = uid("P")
    async with backoffice.fault("ecommerce", "events", late_seconds=600):
        async with backoffice.adapters() as bo:
            await bo.ecommerce.publish(
                PublicationRequest(
                    promotion_id=pid,
                    prices=[PriceLine(item_id="I0009", price=Decimal("3.00"))],
                    start=now(),
                    end=now() + timedelta(days=1),
                    callback=callback,
                ),
                idempotency_key=key(),
            )
            await eventually(lambda: bo.ecommerce.read_back(pid), lambda p: p.status == "LIVE")
    [row] = await backoffice.events(workflow_id=callback.workflow_id)
    occurred = ChannelEvent.model_validate(row.payload).occurred_at
    assert row.status == "pending" and row.deliver_after >= occurred + timedelta(seconds=600)
    await handle.signal(EventCollector.finish)
    assert await handle.result() == []


async def test_task_completion_event(backoffice: LiveBackoffice, collector: Any) -> None:
    handle, callback = await collector(2)
    async with backoffice.adapters() as bo:
        manual = await bo.tasks.create(
            TaskRequest(
                task_id=uid("task"),
                store_id="S001",
                kind="signage",
                title="signs",
                due_at=now() + timedelta(hours=4),
                promotion_id="P-x",
                callback=callback,
            ),
            idempotency_key=key(),
        )
        await bo.tasks.create(
            TaskRequest(
                task_id=uid("task"),
                store_id="S002",
                kind="labor",
                title="end cap",
                due_at=now() + timedelta(hours=4),
                callback=callback,
                auto_complete_after_s=0,
            ),
            idempotency_key=key(),
        )
        await bo.tasks.complete(manual.task_id, completed_by="S001 manager")
    events = [TaskEvent.model_validate(e) for e in await handle.result()]
    assert sorted(e.store_id for e in events) == ["S001", "S002"]
    assert all(e.status == "completed" for e in events)


async def test_an_event_for_a_completed_workflow_is_final_not_retried(
    backoffice: LiveBackoffice, collector: Any
) -> None:
    """The collector completes after the first event: the ingress answers the next ones
    404 `workflow_closed`, which the outbox records as final (failed, one attempt) instead
    of retrying up to 40 times."""
    handle, callback = await collector(1)
    tid = uid("T")
    async with backoffice.adapters() as bo:
        await bo.wms.create_transfer(
            TransferRequest(
                transfer_id=tid,
                source_id="DC-EAST",
                dest_id="S004",
                lines=[TransferLine(item_id="I0040", quantity=2)],
                callback=callback,
            ),
            idempotency_key=key(),
        )
        await bo.wms.release_transfer(tid, idempotency_key=key())
    await handle.result()
    rows = await eventually(
        lambda: backoffice.events(workflow_id=callback.workflow_id),
        lambda rows: len(rows) == 3 and all(r.status != "pending" for r in rows),
        timeout_s=20,
    )
    late = [r for r in rows if r.status == "failed"]
    assert len(late) == 2, [(r.status, r.attempts, r.last_error) for r in rows]
    for row in late:
        assert row.attempts == 1
        assert row.last_error is not None and row.last_error.startswith("final: ")
        assert "workflow_closed" in row.last_error
