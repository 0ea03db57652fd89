"""Channel publication end to end: batch children against the live backoffice.

Real-time dev server (`local_env`): the backoffice confirms e-commerce and marketplace
publications 0.2 s after the call by signalling the batch child through its ingress, so the
confirmation deadlines here are real deadlines.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.errors import BusinessRefusal
from domain.publication.contract import (
    Channel,
    FanoutInput,
    PublicationAction,
    PublicationOutcome,
    PublicationRequest,
    workflow_id,
)
from tests.fixtures.publication import (
    ChannelRig,
    price_lines,
    publication_request,
    wait_until,
)
from workflows.channel_publication import ChannelFanout, ChannelPublication

STORES = [f"S{n:03d}" for n in range(1, 10)]
WEST = ["S003", "S006", "S009"]  # region west in the seeded estate (every third store)
ITEM = "I0001"


async def _lines(rig: ChannelRig, depth: str = "0.20") -> list:
    async with rig.backoffice.adapters() as bo:
        item = await bo.erp.get_item(ITEM)
    promo = (item.regular_price * (1 - Decimal(depth))).quantize(Decimal("0.01"))
    return price_lines({ITEM: (str(item.regular_price), str(promo))})


def _pid() -> str:
    return f"PUB-{uuid.uuid4().hex[:8]}"


async def _fanout(
    client: Client,
    run_worker,
    rig: ChannelRig,
    requests: list[PublicationRequest],
    *,
    batch_size: int = 4,
    fanout_id: str | None = None,
) -> tuple[str, list[PublicationOutcome]]:
    wid = fanout_id or f"fan-{uuid.uuid4().hex[:10]}"
    async with run_worker(client, settings=rig.settings) as worker:
        outcomes = await client.execute_workflow(
            ChannelFanout.run,
            FanoutInput(requests=requests, batch_size=batch_size),
            id=wid,
            task_queue=worker.task_queue,
        )
    return wid, outcomes


async def _events(client: Client, wid: str) -> int:
    history = await client.get_workflow_handle(wid).fetch_history()
    return len(history.events)


async def test_every_channel_published_in_batches_with_acks(
    local_env: WorkflowEnvironment, run_worker, channel_rig: ChannelRig
) -> None:
    pid = _pid()
    lines = await _lines(channel_rig)
    requests = [
        publication_request(pid, Channel.POS, STORES, lines=lines),
        publication_request(pid, Channel.ECOMMERCE, lines=lines),
        publication_request(pid, Channel.MARKETPLACE, lines=lines),
        publication_request(pid, Channel.ERP, lines=lines, scope_store_ids=STORES, name="test"),
    ]
    wid, outcomes = await _fanout(local_env.client, run_worker, channel_rig, requests)

    for outcome in outcomes:
        assert (outcome.failed, outcome.reconciled_by_readback, outcome.republished) == (0, 0, 0), (
            outcome
        )
        assert all(o.state == "CONFIRMED" and o.attempts == 1 for o in outcome.outcomes)
    pos, ecommerce, _marketplace, _erp = outcomes
    assert [o.target for o in pos.outcomes] == STORES and pos.confirmed == 9
    assert ecommerce.outcomes[0].target == "*"

    # the channels hold what was published, once per store and channel
    async with channel_rig.backoffice.adapters() as bo:
        book = await bo.pos.promotion_prices(pid)
        assert sorted(e.store_id for e in book if e.status == "PUBLISHED") == STORES
        assert {e.prices[0].price for e in book} == {lines[0].promo_price}
        for client in (bo.ecommerce, bo.marketplace):
            assert (await client.read_back(pid)).status == "LIVE"
        assert (await bo.erp.get_promotion(pid)).status == "ACTIVE"
    assert await channel_rig.backoffice.ledger_count(
        system="pos", operation="publish_prices", subject_prefix=f"pos_price:{pid}:"
    ) == len(STORES)
    assert await channel_rig.backoffice.ledger_count(system="ecommerce", operation="publish") >= 1

    # 9 stores in batches of 4: three POS children, one per other channel; the e-commerce
    # child received its own confirmation signal
    first_pos = requests[0].model_copy(update={"targets": STORES[:4]})
    for n in range(3):
        await local_env.client.get_workflow_handle(workflow_id(wid, first_pos, n)).describe()
    ecommerce_child = workflow_id(wid, requests[1], 0)
    history = await local_env.client.get_workflow_handle(ecommerce_child).fetch_history()
    signals = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(signals) == 1
    assert await _events(local_env.client, wid) < 100


async def test_dropped_confirmation_is_reconciled_by_reading_the_channel_back(
    local_env: WorkflowEnvironment, run_worker, channel_rig: ChannelRig
) -> None:
    pid = _pid()
    lines = await _lines(channel_rig)
    request = publication_request(
        pid, Channel.ECOMMERCE, lines=lines, ack_timeout=timedelta(seconds=2)
    )
    async with channel_rig.backoffice.fault("ecommerce", "events", drop_rate=1.0):
        _, [outcome] = await _fanout(local_env.client, run_worker, channel_rig, [request])
    assert [(o.state, o.attempts) for o in outcome.outcomes] == [("CONFIRMED", 1)]
    assert (outcome.reconciled_by_readback, outcome.republished) == (1, 0)
    # published once: the read-back found it live, nothing was sent again
    assert (
        await channel_rig.backoffice.ledger_count(
            system="ecommerce", operation="publish", subject=f"ecommerce:{pid}"
        )
        == 1
    )
    dropped = await channel_rig.backoffice.events(status="dropped")
    assert any(e.payload.get("promotion_id") == pid for e in dropped)


async def test_a_publication_still_pending_at_the_deadline_is_republished_then_failed(
    local_env: WorkflowEnvironment, run_worker, stuck_channel_rig: ChannelRig
) -> None:
    pid = _pid()
    lines = await _lines(stuck_channel_rig)
    request = publication_request(
        pid, Channel.MARKETPLACE, lines=lines, ack_timeout=timedelta(seconds=1), max_republish=2
    )
    _, [outcome] = await _fanout(local_env.client, run_worker, stuck_channel_rig, [request])
    [target] = outcome.outcomes
    assert (target.state, target.attempts) == ("FAILED", 3)
    assert "no confirmation within the deadline after 3 send(s)" in target.reason
    assert "PENDING v3" in target.reason
    assert (outcome.republished, outcome.reconciled_by_readback) == (2, 0)
    # each send carried its own idempotency key: three publications, no more (bounded)
    page = await stuck_channel_rig.backoffice.ledger(
        system="marketplace", operation="publish", subject=f"marketplace:{pid}"
    )
    assert page.count == 3
    assert len({e.idempotency_key for e in page.entries}) == 3


async def test_duplicate_confirmations_are_dropped_by_event_id(
    local_env: WorkflowEnvironment, run_worker, channel_rig: ChannelRig, task_queue: str
) -> None:
    """The confirmation is delivered three times while no worker runs; one counts."""
    pid = _pid()
    request = publication_request(pid, Channel.ECOMMERCE, lines=await _lines(channel_rig))
    wid = f"pub-{uuid.uuid4().hex[:10]}"
    client = local_env.client
    async with channel_rig.backoffice.fault(
        "ecommerce", "events", duplicate_rate=1.0, duplicate_count=2, late_seconds=4
    ):
        async with run_worker(client, settings=channel_rig.settings):
            handle = await client.start_workflow(
                ChannelPublication.run, request, id=wid, task_queue=task_queue
            )

            async def sent() -> bool:
                status = await handle.query(ChannelPublication.status)
                return status is not None and status.outcomes[0].reason == "still sent"

            await wait_until(sent, what="the publication to be sent")
        # worker stopped: the late confirmation arrives three times, signals are kept

        async def delivered() -> bool:
            events = await channel_rig.backoffice.events(workflow_id=wid)
            return bool(events) and events[0].status == "delivered" and events[0].deliveries == 3

        await wait_until(delivered, timeout=30, what="three deliveries of the confirmation")
    async with run_worker(client, settings=channel_rig.settings):
        outcome = await handle.result()
    assert [o.state for o in outcome.outcomes] == ["CONFIRMED"]
    assert outcome.duplicate_acks_dropped == 2
    assert outcome.reconciled_by_readback == 0


async def test_permanent_pos_failure_in_one_region_is_reported_per_store(
    local_env: WorkflowEnvironment, run_worker, channel_rig: ChannelRig
) -> None:
    pid = _pid()
    lines = await _lines(channel_rig)
    requests = [
        publication_request(pid, Channel.POS, WEST, lines=lines),
        publication_request(pid, Channel.ECOMMERCE, lines=lines),
    ]
    # the west region's POS refuses every price book change (a business refusal: not retried)
    async with channel_rig.backoffice.fault("pos", "publish_prices", refusal_rate=1.0):
        _, [pos, ecommerce] = await _fanout(local_env.client, run_worker, channel_rig, requests)
    assert pos.failed == 3 and pos.confirmed == 0 and pos.failed_targets == WEST
    for o in pos.outcomes:
        assert o.attempts == 1
        assert o.reason.startswith("price_book_refused: pos refused publish_prices")
    assert ecommerce.failed == 0
    async with channel_rig.backoffice.adapters() as bo:
        assert await bo.pos.promotion_prices(pid) == []


async def test_marketplace_rejection_is_reported_with_its_reason(
    local_env: WorkflowEnvironment, run_worker, channel_rig: ChannelRig
) -> None:
    pid = _pid()
    request = publication_request(
        pid, Channel.MARKETPLACE, lines=await _lines(channel_rig, depth="0.80")
    )
    _, [outcome] = await _fanout(local_env.client, run_worker, channel_rig, [request])
    [target] = outcome.outcomes
    assert target.state == "FAILED" and target.attempts == 1
    assert "more than 70% below its regular price" in target.reason


async def test_retract_and_revert_take_the_promotion_out_of_every_channel(
    local_env: WorkflowEnvironment, run_worker, channel_rig: ChannelRig
) -> None:
    pid = _pid()
    lines = await _lines(channel_rig)
    channels = [(Channel.POS, STORES[:3]), (Channel.ECOMMERCE, None), (Channel.ERP, None)]

    def requests(action: PublicationAction) -> list[PublicationRequest]:
        return [
            publication_request(
                pid, c, t, lines=lines, action=action, scope_store_ids=STORES[:3], reason="test"
            )
            for c, t in channels
        ]

    client = local_env.client
    _, published = await _fanout(
        client, run_worker, channel_rig, requests(PublicationAction.PUBLISH)
    )
    assert all(o.failed == 0 for o in published)

    _, retracted = await _fanout(
        client, run_worker, channel_rig, requests(PublicationAction.RETRACT)
    )
    for outcome in retracted:
        assert outcome.failed == 0 and {o.state for o in outcome.outcomes} == {"RETRACTED"}
    async with channel_rig.backoffice.adapters() as bo:
        assert {e.status for e in await bo.pos.promotion_prices(pid)} == {"RETRACTED"}
        assert (await bo.ecommerce.read_back(pid)).status == "RETRACTED"
        assert (await bo.erp.get_promotion(pid)).status != "ACTIVE"
        # (another test's promotion may be live in this store: only ours must be gone)
        prices = await bo.pos.store_prices(STORES[0], [ITEM])
        assert prices[0].promotion_id != pid

    # a revert (end of promotion) of a retracted or never published promotion is harmless
    # and verified by reading every channel back
    _, reverted = await _fanout(client, run_worker, channel_rig, requests(PublicationAction.REVERT))
    for outcome in reverted:
        assert outcome.failed == 0 and {o.state for o in outcome.outcomes} == {"CONFIRMED"}
    other = _pid()
    never = [
        r.model_copy(update={"promotion_id": other}) for r in requests(PublicationAction.RETRACT)
    ]
    _, nothing = await _fanout(client, run_worker, channel_rig, never)
    assert all(o.failed == 0 for o in nothing)
    async with channel_rig.backoffice.adapters() as bo:
        try:
            await bo.ecommerce.read_back(other)
            raise AssertionError("a retract of nothing must not create a publication")
        except BusinessRefusal as err:
            assert err.status == 404


def test_a_fanout_window_over_500_children_is_refused() -> None:
    with pytest.raises(ValidationError, match="max_pending_children"):
        FanoutInput(
            requests=[publication_request(_pid(), Channel.ECOMMERCE)], max_pending_children=501
        )
