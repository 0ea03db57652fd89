"""The batch workflow's own logic against a scripted channel (time-skipping server).

The scripted channel (fakes/publication.py) delivers its confirmations before the
send activity returns, duplicates them, or never applies the change: cases a live system
produces only by chance. The end-to-end tests against the backoffice are in
test_channel_publication.py.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from domain.publication.contract import Channel, FanoutInput, PublicationAction
from fakes.publication import ScriptedChannel
from tests.fixtures.publication import publication_request
from workflows.channel_publication import ChannelFanout, ChannelPublication


async def test_duplicate_acks_are_dropped_by_event_id(
    env: WorkflowEnvironment, run_worker, task_queue: str
) -> None:
    channel = ScriptedChannel(env.client, acks_per_send=3)
    request = publication_request(f"P-{uuid.uuid4().hex[:6]}", Channel.ECOMMERCE)
    async with run_worker(env.client, fakes=channel.activities()):
        outcome = await env.client.execute_workflow(
            ChannelPublication.run, request, id=f"pub-{uuid.uuid4().hex}", task_queue=task_queue
        )
    assert [(o.target, o.state, o.attempts) for o in outcome.outcomes] == [("*", "CONFIRMED", 1)]
    assert outcome.duplicate_acks_dropped == 2
    assert outcome.reconciled_by_readback == 0 and channel.read_backs == 0


async def test_a_channel_that_never_shows_the_change_is_republished_then_failed(
    env: WorkflowEnvironment, run_worker, task_queue: str
) -> None:
    channel = ScriptedChannel(env.client, acks_per_send=0, applied_on_attempt=None)
    request = publication_request(
        f"P-{uuid.uuid4().hex[:6]}",
        Channel.MARKETPLACE,
        ack_timeout=timedelta(minutes=10),
        max_republish=2,
    )
    async with run_worker(env.client, fakes=channel.activities()):
        outcome = await env.client.execute_workflow(
            ChannelPublication.run, request, id=f"pub-{uuid.uuid4().hex}", task_queue=task_queue
        )
    [target] = outcome.outcomes
    assert (target.state, target.attempts) == ("FAILED", 3)
    assert "no confirmation within the deadline after 3 send(s)" in target.reason
    assert "PENDING" in target.reason
    assert channel.sends == [("*", 1), ("*", 2), ("*", 3)]
    assert (outcome.republished, outcome.failed, outcome.confirmed) == (2, 1, 0)


async def test_missing_ack_then_republish_succeeds_on_the_second_send(
    env: WorkflowEnvironment, run_worker, task_queue: str
) -> None:
    channel = ScriptedChannel(env.client, acks_per_send=0, applied_on_attempt=2)
    request = publication_request(
        f"P-{uuid.uuid4().hex[:6]}", Channel.POS, [f"S{i}" for i in range(1, 8)], max_republish=1
    )
    async with run_worker(env.client, fakes=channel.activities()):
        [outcome] = await env.client.execute_workflow(
            ChannelFanout.run,
            FanoutInput(requests=[request], batch_size=3, max_pending_children=2),
            id=f"fan-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
    assert outcome.confirmed == 7 and outcome.failed == 0
    # first send: no ack, read-back shows nothing -> republished; second send applied but
    # its ack never comes either -> read-back shows it -> reconciled
    assert outcome.republished == 7 and outcome.reconciled_by_readback == 7
    assert all(o.attempts == 2 for o in outcome.outcomes)
    assert [o.target for o in outcome.outcomes] == request.targets


async def test_retract_outcomes_say_retracted(
    env: WorkflowEnvironment, run_worker, task_queue: str
) -> None:
    channel = ScriptedChannel(env.client, acks_per_send=1)
    request = publication_request(
        f"P-{uuid.uuid4().hex[:6]}", Channel.ECOMMERCE, action=PublicationAction.RETRACT
    )
    async with run_worker(env.client, fakes=channel.activities()):
        outcome = await env.client.execute_workflow(
            ChannelPublication.run, request, id=f"pub-{uuid.uuid4().hex}", task_queue=task_queue
        )
    assert [o.state for o in outcome.outcomes] == ["RETRACTED"]
