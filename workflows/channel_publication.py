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

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import PROMOTION_ID, RETAIL_KIND, RETAIL_STATE
    from common.signals import reads
    from domain.activity_options import task_priority
    from domain.publication.contract import (
        CHANNEL_ACK,
        DEFAULT_BATCH_SIZE,
        DEFAULT_MAX_PENDING_CHILDREN,
        FANOUT_WORKFLOW_TYPE,
        MAX_PENDING_CHILDREN,
        PRIORITY,
        STATUS,
        WORKFLOW_TYPE,
        ChannelAck,
        FanoutInput,
        PublicationOutcome,
        PublicationRequest,
        workflow_id,
    )
    from domain.publication.rules import (
        failed_batch,
        merge_outcomes,
        numbered_batches,
        summarize,
    )

from workflows.publication_batch import BatchRun, InlineBatches


@workflow.defn(name=WORKFLOW_TYPE)
class ChannelPublication:
    """Publish, retract or revert one batch of targets on one channel."""

    @workflow.init
    def __init__(self, request: PublicationRequest) -> None:
        self._batch = BatchRun(request, describe=workflow.set_current_details)
        self._progress = self._batch.progress

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
        workflow.upsert_search_attributes(
            [
                RETAIL_KIND.value_set("publication"),
                PROMOTION_ID.value_set(request.promotion_id),
                RETAIL_STATE.value_set("PUBLISHING"),
            ]
        )
        outcome = await self._batch.run()
        workflow.upsert_search_attributes(
            [RETAIL_STATE.value_set("DONE" if outcome.failed == 0 else "PARTLY_FAILED")]
        )
        workflow.set_current_details(
            f"{self._batch.what}: {outcome.confirmed} of {len(request.targets)} done, "
            f"{outcome.failed} failed"
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return outcome


async def publish_all(
    parent_workflow_id: str,
    requests: list[PublicationRequest],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_pending_children: int = DEFAULT_MAX_PENDING_CHILDREN,
    inline: InlineBatches | None = None,
) -> list[PublicationOutcome]:
    """Run every request as batch children (called inside the parent workflow).

    At most ``max_pending_children`` (never more than 500) children run at once; a child
    that fails as a whole reports each of its targets FAILED with the reason. Returns one
    merged outcome per request, in the order of ``requests``. Requests of the same
    channel, action and version number their batches one after the other (distinct ids).
    With ``inline``, a batch one call covers runs in this workflow, not in a child.
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
            if inline is not None and inline.covers(batch):
                parts[index].append(await inline.run(batch))
                return
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
