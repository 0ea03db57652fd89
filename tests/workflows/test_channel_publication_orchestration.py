"""The batch workflow's own logic against a scripted channel (time-skipping server).

The scripted channel (fakes/publication.py) delivers its confirmations before the
send activity returns, duplicates them, or never applies the change: cases a live system
produces only by chance. The end-to-end tests against the backoffice are in
test_channel_publication.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from domain.publication.contract import SEND_ATTEMPTS, Channel, FanoutInput, PublicationAction
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


async def test_a_30_s_outage_with_go_live_4_minutes_away_is_ridden_out(
    env: WorkflowEnvironment, run_worker, task_queue: str
) -> None:
    """The reported failure: a 30 s POS outage failed (and rolled back) a launch whose
    go-live was 4 minutes away. The send retries until go-live minus the margin."""
    now = datetime.now(UTC)
    channel = ScriptedChannel(env.client, confirm_on_send=True)
    channel.unreachable_until = now + timedelta(seconds=30)
    go_live = now + timedelta(minutes=4)
    request = publication_request(
        f"P-{uuid.uuid4().hex[:6]}",
        Channel.POS,
        ["S1", "S2"],
        starts_at=go_live,
        retry_until=go_live - timedelta(minutes=1),
    )
    async with run_worker(env.client, fakes=channel.activities()):
        outcome = await env.client.execute_workflow(
            ChannelPublication.run, request, id=f"pub-{uuid.uuid4().hex}", task_queue=task_queue
        )
    assert (outcome.confirmed, outcome.failed) == (2, 0), outcome.outcomes
    assert channel.failed_attempts >= SEND_ATTEMPTS  # the old policy gave up on the 5th


async def test_an_outage_past_the_deadline_fails_the_targets_at_the_deadline(
    env: WorkflowEnvironment, run_worker, task_queue: str
) -> None:
    """Retries stop at go-live minus the margin: the targets are FAILED, with the deadline."""
    now = datetime.now(UTC)
    channel = ScriptedChannel(env.client, confirm_on_send=True)
    channel.unreachable_until = now + timedelta(hours=1)
    deadline = now + timedelta(minutes=3)
    request = publication_request(
        f"P-{uuid.uuid4().hex[:6]}",
        Channel.POS,
        ["S1"],
        starts_at=now + timedelta(minutes=4),
        retry_until=deadline,
    )
    async with run_worker(env.client, fakes=channel.activities()):
        handle = await env.client.start_workflow(
            ChannelPublication.run, request, id=f"pub-{uuid.uuid4().hex}", task_queue=task_queue
        )
        outcome = await handle.result()
        finished = await env.get_current_time(handle)
    [target] = outcome.outcomes
    assert target.state == "FAILED"
    assert "retried until" in target.reason and "unreachable" in target.reason
    # the last retry is the one whose backoff (at most 15 s) still ends before the deadline
    assert deadline - timedelta(seconds=20) <= finished < deadline + timedelta(minutes=1)
