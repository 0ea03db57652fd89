"""ChannelPublication: one channel x one batch of targets, and the fan-out that runs them.

Why batches: a child workflow per store costs far more than the work it does (on the
reference machine 500 per-store children with 4 no-op activities took 80-120 s, the same
2,000 activities in one workflow 16-21 s). So a request is split into batches of a few
hundred stores (:func:`domain.publication.rules.split_batches`); each batch is one child
workflow that

1. sends every target through one activity (bounded concurrency, heartbeated progress,
   one idempotency key per target, channel, action and price version);
2. waits for the channel's asynchronous confirmations, which the backoffice delivers to
   *this* child as ``channel_ack`` signals (so no workflow receives 15,000 signals), and
   drops a duplicate delivery by its event id;
3. reads the channel back for every target whose confirmation did not come by
   ``ack_timeout``: applied means confirmed ("reconciled by read-back"), otherwise the
   target is published again with a new key, at most ``max_republish`` times;
4. reports every target CONFIRMED, RETRACTED or FAILED (with the reason), so the parent
   applies its policy (hold the store, or fail the launch and roll back).

What each answer means is decided by :class:`domain.publication.batch.BatchProgress`.

:func:`publish_all` runs inside the parent workflow: a sliding window of at most
``max_pending_children`` children, ids ``{parent}-pub-{channel}-{action}-v{version}-b{n}``,
one merged outcome per request.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ChildWorkflowError, RetryState
from temporalio.exceptions import TimeoutError as DeadlineReached

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import PROMOTION_ID, RETAIL_KIND, RETAIL_STATE
    from common.signals import reads
    from domain.activity_options import task_priority
    from domain.publication.batch import BatchProgress
    from domain.publication.contract import (
        CHANNEL_ACK,
        DEFAULT_BATCH_SIZE,
        DEFAULT_MAX_PENDING_CHILDREN,
        FANOUT_WORKFLOW_TYPE,
        MAX_PENDING_CHILDREN,
        MIN_RETRY_WINDOW,
        NEVER_GIVE_UP,
        PRIORITY,
        READ_BACK,
        SEND_ATTEMPTS,
        SEND_BATCH,
        SEND_ONCE,
        SEND_UNTIL_DEADLINE_RETRY,
        STATUS,
        WORKFLOW_TYPE,
        ChannelAck,
        FanoutInput,
        PublicationOutcome,
        PublicationRequest,
        ReadBackInput,
        SendBatchInput,
        SendBatchResult,
        TargetAttempt,
        workflow_id,
    )
    from domain.publication.rules import (
        failed_batch,
        merge_outcomes,
        numbered_batches,
        summarize,
    )
    from workflows.activity_calls import call


@workflow.defn(name=WORKFLOW_TYPE)
class ChannelPublication:
    """Publish, retract or revert one batch of targets on one channel."""

    @workflow.init
    def __init__(self, request: PublicationRequest) -> None:
        self._progress = BatchProgress.of(request)

    @workflow.signal(name=CHANNEL_ACK)
    @reads(ChannelAck, CHANNEL_ACK, lambda wf, words: wf._progress.unreadable.append(words))
    def channel_ack(self, ack: ChannelAck) -> None:
        """A channel confirmation; a delivery whose event id was seen already is dropped.
        One the batch cannot read is recorded in its outcome (`unreadable_signals`)."""
        self._progress.receive_ack(ack)

    @workflow.query(name=STATUS)
    def status(self) -> PublicationOutcome:
        return self._progress.outcome()

    @workflow.run
    async def run(self, request: PublicationRequest) -> PublicationOutcome:
        what = (
            f"{request.action.value} v{request.version} of {request.promotion_id} "
            f"on {request.channel.value}"
        )
        workflow.upsert_search_attributes(
            [
                RETAIL_KIND.value_set("publication"),
                PROMOTION_ID.value_set(request.promotion_id),
                RETAIL_STATE.value_set("PUBLISHING"),
            ]
        )
        sends = self._progress.first_sends()
        while sends:
            await self._send(request, sends, what)
            await self._wait_for_acks(request, what)
            sends = await self._reconcile(request, what)
        outcome = self._progress.outcome()
        workflow.upsert_search_attributes(
            [RETAIL_STATE.value_set("DONE" if outcome.failed == 0 else "PARTLY_FAILED")]
        )
        workflow.set_current_details(
            f"{what}: {outcome.confirmed} of {len(request.targets)} done, {outcome.failed} failed"
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return outcome

    async def _send(
        self, request: PublicationRequest, sends: list[TargetAttempt], what: str
    ) -> None:
        workflow.set_current_details(f"{what}: sending {len(sends)} target(s)")
        self._progress.start_sending(sends)
        summary = f"{request.action.value} {len(sends)} target(s) to {request.channel.value}"
        batch = SendBatchInput(
            request=request,
            sends=sends,
            callback_workflow_id=workflow.info().workflow_id,
            callback_signal=CHANNEL_ACK,
            give_up_on_attempt=SEND_ATTEMPTS,
        )
        deadline = request.retry_until
        if deadline is not None and deadline - workflow.now() >= MIN_RETRY_WINDOW:
            result = await self._send_until(deadline, batch, summary)
            if result is None:
                return
        else:
            try:
                result = await call(SEND_BATCH, batch, summary=summary)
            except ActivityError as err:
                self._progress.send_failed(sends, str(err.cause or err))
                return
        self._progress.sent(result.sends)

    async def _send_until(
        self, deadline: datetime, batch: SendBatchInput, summary: str
    ) -> SendBatchResult | None:
        """Retry by deadline: the send is retried until `deadline`; then one last attempt
        reports each target (sent, refused, or unreachable: FAILED with the deadline)."""
        sends = batch.sends
        try:
            return await call(
                SEND_BATCH.with_options(
                    retry=SEND_UNTIL_DEADLINE_RETRY, schedule_to_close=deadline - workflow.now()
                ),
                batch.model_copy(update={"give_up_on_attempt": NEVER_GIVE_UP}),
                summary=f"{summary}, retried until {deadline.isoformat(timespec='seconds')}",
            )
        except ActivityError as err:
            deadline_reached = err.retry_state == RetryState.TIMEOUT or isinstance(
                err.cause, DeadlineReached
            )
            if not deadline_reached:
                self._progress.send_failed(sends, str(err.cause or err))
                return None
        try:
            last = await call(
                SEND_BATCH.with_options(retry=SEND_ONCE),
                batch.model_copy(update={"give_up_on_attempt": 1}),
                summary=f"{summary}, last attempt at the deadline",
            )
        except ActivityError as err:
            self._progress.send_failed(sends, f"retried until {deadline}: {err.cause or err}")
            return None
        words = f"retried until {deadline.isoformat(timespec='seconds')} (go-live minus margin)"
        return SendBatchResult(
            sends=[
                s.model_copy(update={"error": f"{words}; {s.error}"}) if s.error else s
                for s in last.sends
            ],
            resumed=last.resumed,
        )

    async def _wait_for_acks(self, request: PublicationRequest, what: str) -> None:
        waiting = self._progress.awaiting_acks()
        if not waiting:
            return
        workflow.set_current_details(
            f"{what}: waiting up to {request.ack_timeout} for {len(waiting)} confirmation(s)"
        )
        try:
            await workflow.wait_condition(
                self._progress.all_acked,
                timeout=request.ack_timeout,
                timeout_summary="confirmation deadline",
            )
        except TimeoutError:
            pass

    async def _reconcile(self, request: PublicationRequest, what: str) -> list[TargetAttempt]:
        unsure = self._progress.unsure()
        if not unsure:
            return []
        workflow.set_current_details(f"{what}: reading back {len(unsure)} target(s)")
        failure = "read-back reported nothing for it"
        try:
            result = await call(
                READ_BACK,
                ReadBackInput(request=request, targets=[t.name for t in unsure]),
                summary=f"read back {len(unsure)} target(s) on {request.channel.value}",
            )
            states = {s.target: s for s in result.states}
        except ActivityError as err:
            states = {}
            failure = f"read-back failed: {err.cause or err}"
        return self._progress.judge_read_back(unsure, states, failure)


async def publish_all(
    parent_workflow_id: str,
    requests: list[PublicationRequest],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_pending_children: int = DEFAULT_MAX_PENDING_CHILDREN,
) -> list[PublicationOutcome]:
    """Run every request as batch children (called inside the parent workflow).

    At most ``max_pending_children`` (never more than 500) children run at once; a child
    that fails as a whole reports each of its targets FAILED with the reason. Returns one
    merged outcome per request, in the order of ``requests``.
    """
    if not 1 <= max_pending_children <= MAX_PENDING_CHILDREN:
        raise ValueError(
            f"max_pending_children must be between 1 and {MAX_PENDING_CHILDREN}, "
            f"got {max_pending_children}"
        )
    window = asyncio.Semaphore(max_pending_children)
    parts: dict[int, list[PublicationOutcome]] = defaultdict(list)
    search_attributes = TypedSearchAttributes([SearchAttributePair(RETAIL_KIND, "publication")])

    async def run_batch(index: int, n: int, batch: PublicationRequest) -> None:
        async with window:
            try:
                outcome = await workflow.execute_child_workflow(
                    ChannelPublication.run,
                    batch,
                    id=workflow_id(parent_workflow_id, batch, n),
                    priority=task_priority(PRIORITY),
                    static_summary=(
                        f"{batch.action.value} {batch.promotion_id} v{batch.version} on "
                        f"{batch.channel.value}, batch {n} ({len(batch.targets)} target(s))"
                    ),
                    search_attributes=search_attributes,
                )
            except ChildWorkflowError as err:
                outcome = failed_batch(batch, f"batch workflow failed: {err.cause or err}")
            parts[index].append(outcome)

    jobs = [
        run_batch(index, n, batch) for index, n, batch in numbered_batches(requests, batch_size)
    ]
    await asyncio.gather(*jobs)
    return [merge_outcomes(request, parts[i]) for i, request in enumerate(requests)]


@workflow.defn(name=FANOUT_WORKFLOW_TYPE)
class ChannelFanout:
    """A stand-alone parent for :func:`publish_all`: publish requests, return the outcomes."""

    @workflow.run
    async def run(self, data: FanoutInput) -> list[PublicationOutcome]:
        workflow.set_current_details(
            f"publishing {len(data.requests)} request(s) in batches of {data.batch_size}"
        )
        outcomes = await publish_all(
            workflow.info().workflow_id,
            data.requests,
            batch_size=data.batch_size,
            max_pending_children=data.max_pending_children,
        )
        workflow.set_current_details(summarize(outcomes))
        return outcomes


__all__ = ["ChannelFanout", "ChannelPublication", "publish_all"]
