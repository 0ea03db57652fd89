"""Publication batches a workflow runs itself (`workflows.publication_batch.InlineBatches`):
one call covers the request, so there is no batch child; the channel's confirmations are
signalled to the workflow and routed to their batch (time-skipping server, scripted
channel delivering its confirmations twice and before the send returns)."""

from __future__ import annotations

import uuid

from temporalio import workflow
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

with workflow.unsafe.imports_passed_through():
    from domain.publication.contract import (
        CHANNEL_ACK,
        Channel,
        ChannelAck,
        PublicationOutcome,
        PublicationRequest,
    )
    from fakes.publication import ScriptedChannel
    from tests.fixtures.publication import publication_request

from workflows.channel_publication import publish_all
from workflows.publication_batch import InlineBatches


@workflow.defn
class InlineParent:
    """A parent running `publish_all` with inline batches, as the launch does."""

    def __init__(self) -> None:
        self.inline = InlineBatches()

    @workflow.signal(name=CHANNEL_ACK)
    def channel_ack(self, ack: ChannelAck) -> None:
        self.inline.receive_ack(ack)

    @workflow.query
    def unmatched(self) -> list[str]:
        return self.inline.unmatched

    @workflow.run
    async def run(self, requests: list[PublicationRequest]) -> list[PublicationOutcome]:
        outcomes = await publish_all(
            workflow.info().workflow_id, requests, batch_size=3, inline=self.inline
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return outcomes


async def children_of(handle: WorkflowHandle[InlineParent, list[PublicationOutcome]]) -> list[str]:
    return [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        async for e in handle.fetch_history_events()
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    ]


async def test_chain_wide_channels_publish_in_the_parent_with_acks_routed_by_channel(
    env: WorkflowEnvironment, run_worker, task_queue: str
) -> None:
    # both channels answer publication id "pub-*-1" and event id "ev-*-1", twice each,
    # before the send returns: only the channel tells their confirmations apart
    channel = ScriptedChannel(env.client, acks_per_send=2)
    pid = f"P-{uuid.uuid4().hex[:6]}"
    requests = [
        publication_request(pid, Channel.ECOMMERCE),
        publication_request(pid, Channel.MARKETPLACE),
    ]
    async with run_worker(env.client, fakes=channel.activities(), extra_workflows=[InlineParent]):
        handle = await env.client.start_workflow(
            InlineParent.run, requests, id=f"inline-{uuid.uuid4().hex}", task_queue=task_queue
        )
        web, market = await handle.result()
        assert await handle.query(InlineParent.unmatched) == []
    for outcome, ch in ((web, Channel.ECOMMERCE), (market, Channel.MARKETPLACE)):
        assert outcome.channel is ch
        assert [(o.target, o.state, o.attempts) for o in outcome.outcomes] == [
            ("*", "CONFIRMED", 1)
        ]
        assert outcome.duplicate_acks_dropped == 1
    assert channel.read_backs == 0 and await children_of(handle) == []


async def test_a_request_one_call_covers_runs_inline_and_a_larger_one_in_batch_children(
    env: WorkflowEnvironment, run_worker, task_queue: str
) -> None:
    channel = ScriptedChannel(env.client, acks_per_send=0, confirm_on_send=True)
    pid = f"P-{uuid.uuid4().hex[:6]}"
    stores = [f"S{i}" for i in range(1, 6)]
    bulk = publication_request(pid, Channel.POS, stores[:3], targets_per_call=500)
    per_store = publication_request(pid, Channel.POS, stores, version=2)
    async with run_worker(env.client, fakes=channel.activities(), extra_workflows=[InlineParent]):
        handle = await env.client.start_workflow(
            InlineParent.run,
            [bulk, per_store],
            id=f"inline-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        inline, batched = await handle.result()
    assert inline.confirmed == 3 and batched.confirmed == 5
    # the per-store request (one call a store) ran as batch children of 3 and 2 stores
    assert [c.rsplit("-pub-", 1)[1] for c in await children_of(handle)] == [
        "pos-publish-v2-b0",
        "pos-publish-v2-b1",
    ]


async def test_an_ack_for_no_publication_of_the_parent_is_recorded_not_dropped(
    env: WorkflowEnvironment, run_worker, task_queue: str
) -> None:
    channel = ScriptedChannel(env.client, acks_per_send=1)
    pid = f"P-{uuid.uuid4().hex[:6]}"
    stray = ChannelAck(event_id="ev-stray", channel=Channel.MARKETPLACE, publication_id="x")
    async with run_worker(env.client, fakes=channel.activities(), extra_workflows=[InlineParent]):
        handle = await env.client.start_workflow(
            InlineParent.run,
            [publication_request(pid, Channel.ECOMMERCE)],
            id=f"inline-{uuid.uuid4().hex}",
            task_queue=task_queue,
            start_signal=CHANNEL_ACK,
            start_signal_args=[stray],
        )
        [outcome] = await handle.result()
        unmatched = await handle.query(InlineParent.unmatched)
    assert outcome.confirmed == 1 and outcome.duplicate_acks_dropped == 0
    assert unmatched == [
        "ev-stray (marketplace, publication x) matches no publication of this launch"
    ]
