"""The bulk paths of the activities against a live backoffice (real HTTP, real database):
POS price book calls of many stores, store tasks created and cancelled in bulk. A retried
call doubles nothing; a refused or unreachable bulk call is settled store by store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from temporalio.testing import ActivityEnvironment

from activities.channels import ChannelActivities
from activities.promotion import PromotionActivities
from domain.promotion import contract as c
from domain.publication.contract import (
    Channel,
    PublicationAction,
    SendBatchInput,
    SendBatchResult,
    TargetAttempt,
)
from tests.fixtures.backoffice import LiveBackoffice
from tests.fixtures.publication import price_lines, publication_request

STORES = ["S001", "S002", "S003", "S004", "S005"]
ITEM = "I0001"


START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
"""The window of every call here (a start read from the clock per call would differ across
a second's boundary, and the POS refuses a key reused with another body)."""


async def send(
    acts: ChannelActivities,
    pid: str,
    lines: list,
    *,
    per_call: int,
    stores: list[str] = STORES,
    action: PublicationAction = PublicationAction.PUBLISH,
    give_up_on_attempt: int = 5,
    grouped: bool = False,
) -> SendBatchResult:
    request = publication_request(
        pid,
        Channel.POS,
        stores,
        lines=lines,
        action=action,
        targets_per_call=per_call,
        starts_at=START,  # one window: a retry sends the very same body under its key
    )
    data = SendBatchInput(
        request=request,
        sends=[TargetAttempt(target=s, attempt=1) for s in stores],
        callback_workflow_id=f"test-{pid}",
        give_up_on_attempt=give_up_on_attempt,
        grouped=grouped,
    )
    result: SendBatchResult = await ActivityEnvironment().run(acts.send_batch, data)
    return result


async def lines_of(backoffice: LiveBackoffice) -> list:
    async with backoffice.adapters() as bo:
        item = await bo.erp.get_item(ITEM)
    promo = (item.regular_price * Decimal("0.8")).quantize(Decimal("0.01"))
    return price_lines({ITEM: (str(item.regular_price), str(promo))})


async def published(backoffice: LiveBackoffice, pid: str) -> int:
    return await backoffice.ledger_count(
        system="pos", operation="publish_prices", subject_prefix=f"pos_price:{pid}:"
    )


async def test_bulk_publish_sends_many_stores_a_call_and_a_retry_doubles_nothing(
    backoffice: LiveBackoffice, channels: ChannelActivities
) -> None:
    pid = f"BULK-{uuid.uuid4().hex[:8]}"
    lines = await lines_of(backoffice)
    first = await send(channels, pid, lines, per_call=2)
    assert [s.target for s in first.sends] == STORES
    assert all(s.sent and s.confirmed and not s.error for s in first.sends)
    keys = [s.idempotency_key for s in first.sends]
    assert keys[0] == keys[1] != keys[2] == keys[3] != keys[4]  # 2 + 2 + 1 stores a call
    assert len(set(keys)) == 3
    # the same activity again (a retry that lost its answer): the same calls, same keys;
    # asked for groups (as the workflows ask), one group a call
    again = await send(channels, pid, lines, per_call=2, grouped=True)
    assert again.sends == []
    assert [(g.targets, g.idempotency_key) for g in again.groups] == [
        (STORES[0:2], keys[0]),
        (STORES[2:4], keys[2]),
        (STORES[4:], keys[4]),
    ]
    assert await published(backoffice, pid) == len(STORES)
    async with backoffice.adapters() as bo:
        book = await bo.pos.promotion_prices(pid)
    assert sorted(e.store_id for e in book) == STORES
    assert {e.version for e in book} == {1}


async def test_a_bulk_call_refused_for_one_store_is_sent_store_by_store(
    backoffice: LiveBackoffice, channels: ChannelActivities
) -> None:
    pid = f"BULK-{uuid.uuid4().hex[:8]}"
    lines = await lines_of(backoffice)
    async with backoffice.fault("pos", "publish_prices", refusal_rate=1.0, stores=["S003"]):
        result = await send(channels, pid, lines, per_call=5)
    by_store = {s.target: s for s in result.sends}
    assert by_store["S003"].error.startswith("price_book_refused")
    assert all(by_store[s].confirmed for s in STORES if s != "S003")
    assert await published(backoffice, pid) == 4


async def test_a_bulk_call_unreachable_at_the_last_attempt_is_settled_by_read_back(
    backoffice: LiveBackoffice, channels: ChannelActivities
) -> None:
    pid = f"BULK-{uuid.uuid4().hex[:8]}"
    lines = await lines_of(backoffice)
    await send(channels, pid, lines, per_call=5, stores=STORES[:3])  # applied earlier
    async with backoffice.fault("pos", "publish_prices", error_rate=1.0):
        result = await send(channels, pid, lines, per_call=5, give_up_on_attempt=1)
    by_store = {s.target: s for s in result.sends}
    # applied before: confirmed from the book, not sent again
    assert all(by_store[s].confirmed and not by_store[s].error for s in STORES[:3])
    # never applied, POS still down: reported unreachable, nothing published blind
    assert all(not by_store[s].sent and "unreachable" in by_store[s].error for s in STORES[3:])
    assert await published(backoffice, pid) == 3


async def test_a_bulk_retract_takes_every_store_out_once(
    backoffice: LiveBackoffice, channels: ChannelActivities
) -> None:
    pid = f"BULK-{uuid.uuid4().hex[:8]}"
    lines = await lines_of(backoffice)
    await send(channels, pid, lines, per_call=5)
    for _ in range(2):
        out = await send(channels, pid, lines, per_call=5, action=PublicationAction.RETRACT)
        assert all(s.confirmed for s in out.sends)
    retracts = await backoffice.ledger_count(
        system="pos", operation="retract_prices", subject_prefix=f"pos_retract:{pid}:"
    )
    assert retracts == len(STORES)


async def test_store_tasks_are_created_and_cancelled_in_bulk_once(
    backoffice: LiveBackoffice,
) -> None:
    pid = f"BULK-{uuid.uuid4().hex[:8]}"
    acts = PromotionActivities(backoffice.url)
    env = ActivityEnvironment()
    request = c.CreateTasksInput(
        promotion_id=pid,
        store_ids=STORES,
        kind="signage",
        description="shelf-edge labels",
        due_at=datetime.now(UTC) + timedelta(days=1),
    )
    try:
        first = await env.run(acts.create_tasks, request)
        again = await env.run(acts.create_tasks, request)  # a retried activity
        grouped = await env.run(  # retried again, asked for groups as the workflow asks
            acts.create_tasks, request.model_copy(update={"grouped": True})
        )
        labor = await env.run(
            acts.create_tasks, request.model_copy(update={"kind": "labor"})
        )  # the same stores, another kind: its own tasks (and its own keys)
        cancelled = await env.run(
            acts.cancel_tasks, c.CancelTasksInput(promotion_id=pid, reason="rolled back")
        )
        none_left = await env.run(
            acts.cancel_tasks, c.CancelTasksInput(promotion_id=pid, reason="rolled back")
        )
    finally:
        await acts.aclose()
    assert [t.store_id for t in first.tasks] == STORES and first == again
    assert grouped.tasks == [] and len(grouped.groups) == 1
    assert grouped.all_tasks() == first.tasks
    assert {t.kind for t in labor.tasks} == {"labor"} and len(labor.tasks) == len(STORES)
    assert {t.state for t in first.tasks} == {"OPEN"}
    assert cancelled.cancelled == 2 * len(STORES) and none_left.cancelled == 0
    created = await backoffice.ledger_count(
        system="tasks", operation="create_task", subject_prefix=f"task:{pid}-"
    )
    cancels = await backoffice.ledger_count(
        system="tasks", operation="cancel_task", subject_prefix=f"task_cancelled:{pid}-"
    )
    assert created == 2 * len(STORES) and cancels == 2 * len(STORES)
