"""ChannelPublication: one channel x one batch of targets, and the fan-out that runs them.

Why batches: a child workflow per store costs far more than the work it does (on the
reference machine 500 per-store children with 4 no-op activities took 80-120 s, the same
2,000 activities in one workflow 16-21 s). So a request is split into batches of a few
hundred stores (:func:`domain.publication.split_batches`); each batch is one child
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

A revert (end of the promotion) is verified by reading the channel back even when the
channel answered synchronously.

:func:`publish_all` runs inside the parent workflow: a sliding window of at most
``max_pending_children`` children, ids ``{parent}-pub-{channel}-{action}-v{version}-b{n}``,
one merged outcome per request.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, Field

    from common.search_attributes import PROMOTION_ID, RETAIL_KIND, RETAIL_STATE
    from domain.activity_options import HEARTBEAT_TIMEOUT, NON_RETRYABLE_TYPES, READ_RETRY
    from domain.publication import (
        ChannelAck,
        PublicationAction,
        PublicationOutcome,
        PublicationRequest,
        ReadBackInput,
        ReadBackResult,
        SendBatchInput,
        SendBatchResult,
        TargetAttempt,
        TargetOutcome,
        TargetState,
        merge_outcomes,
        split_batches,
        success_state,
        summarize,
    )

ACK_SIGNAL = "channel_ack"
MAX_PENDING_CHILDREN = 500
SEND_ATTEMPTS = 5
SEND_TIMEOUT = timedelta(minutes=10)
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=15),
    maximum_attempts=SEND_ATTEMPTS,
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)
"""The send activity reports still-unreachable targets as errors on its last attempt."""


def child_id(parent_workflow_id: str, request: PublicationRequest, batch: int) -> str:
    return (
        f"{parent_workflow_id}-pub-{request.channel.value}-{request.action.value}"
        f"-v{request.version}-b{batch}"
    )


@dataclass
class _Target:
    name: str
    attempts: int = 0
    phase: str = "PENDING"  # PENDING -> SENT | VERIFY -> DONE | FAILED
    publication_id: str | None = None
    reason: str = ""


@workflow.defn(name="ChannelPublication")
class ChannelPublication:
    """Publish, retract or revert one batch of targets on one channel."""

    def __init__(self) -> None:
        self._request: PublicationRequest | None = None
        self._targets: dict[str, _Target] = {}
        self._seen_events: set[str] = set()
        self._early_acks: list[ChannelAck] = []
        self._duplicates = 0
        self._reconciled = 0
        self._republished = 0

    # -- messages -----------------------------------------------------------------------

    @workflow.signal(name=ACK_SIGNAL)
    def channel_ack(self, ack: ChannelAck) -> None:
        """A channel confirmation; a delivery whose event id was seen already is dropped."""
        if ack.event_id in self._seen_events:
            self._duplicates += 1
            return
        self._seen_events.add(ack.event_id)
        if not self._apply_ack(ack):
            self._early_acks.append(ack)

    @workflow.query(name="status")
    def status(self) -> PublicationOutcome | None:
        if self._request is None:
            return None
        return self._outcome(self._request)

    # -- run ----------------------------------------------------------------------------

    @workflow.run
    async def run(self, request: PublicationRequest) -> PublicationOutcome:
        self._request = request
        self._targets = {t: _Target(t) for t in request.targets}
        what = f"{request.action.value} v{request.version} of {request.promotion_id} on {request.channel.value}"
        workflow.upsert_search_attributes(
            [
                RETAIL_KIND.value_set("publication"),
                PROMOTION_ID.value_set(request.promotion_id),
                RETAIL_STATE.value_set("PUBLISHING"),
            ]
        )
        sends = [TargetAttempt(target=t, attempt=1) for t in request.targets]
        while sends:
            await self._send(request, sends, what)
            await self._wait_for_acks(request, what)
            sends = await self._reconcile(request, what)
        outcome = self._outcome(request)
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
        for s in sends:
            t = self._targets[s.target]
            t.attempts = s.attempt
            t.phase = "PENDING"
        try:
            result: SendBatchResult = await workflow.execute_activity(
                "channel_send_batch",
                SendBatchInput(
                    request=request,
                    sends=sends,
                    callback_workflow_id=workflow.info().workflow_id,
                    callback_signal=ACK_SIGNAL,
                    give_up_on_attempt=SEND_ATTEMPTS,
                ),
                start_to_close_timeout=SEND_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=SEND_RETRY,
                result_type=SendBatchResult,
                summary=f"{request.action.value} {len(sends)} target(s) to {request.channel.value}",
            )
        except ActivityError as err:
            reason = str(err.cause or err)
            for s in sends:
                self._fail(
                    s.target, f"{request.channel.value} {request.action.value} failed: {reason}"
                )
            return
        for send in result.sends:
            t = self._targets[send.target]
            t.publication_id = send.publication_id or t.publication_id
            if send.error:
                self._fail(send.target, send.error)
            elif send.confirmed:
                # A revert is verified by reading the channel back, even when confirmed.
                t.phase = "VERIFY" if request.action is PublicationAction.REVERT else "DONE"
            else:
                t.phase = "SENT"
        for ack in self._take_early_acks():
            if not self._apply_ack(ack):
                self._early_acks.append(ack)

    async def _wait_for_acks(self, request: PublicationRequest, what: str) -> None:
        waiting = [t for t in self._targets.values() if t.phase == "SENT"]
        if not waiting:
            return
        workflow.set_current_details(
            f"{what}: waiting up to {request.ack_timeout} for {len(waiting)} confirmation(s)"
        )
        try:
            await workflow.wait_condition(
                lambda: all(t.phase != "SENT" for t in self._targets.values()),
                timeout=request.ack_timeout,
                timeout_summary="confirmation deadline",
            )
        except TimeoutError:
            pass

    async def _reconcile(self, request: PublicationRequest, what: str) -> list[TargetAttempt]:
        unsure = [t for t in self._targets.values() if t.phase in ("SENT", "VERIFY")]
        if not unsure:
            return []
        workflow.set_current_details(f"{what}: reading back {len(unsure)} target(s)")
        try:
            result: ReadBackResult = await workflow.execute_activity(
                "channel_read_back",
                ReadBackInput(request=request, targets=[t.name for t in unsure]),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=READ_RETRY,
                result_type=ReadBackResult,
                summary=f"read back {len(unsure)} target(s) on {request.channel.value}",
            )
            states = {s.target: s for s in result.states}
        except ActivityError as err:
            states = {}
            reason = f"read-back failed: {err.cause or err}"
        again: list[TargetAttempt] = []
        for t in unsure:
            state = states.get(t.name)
            if state is not None and state.done:
                if t.phase == "SENT":
                    self._reconciled += 1
                t.phase = "DONE"
                continue
            seen = state.detail if state is not None else reason
            if state is not None and state.refused:
                self._fail(t.name, f"the channel refused it (found by read-back): {seen}")
                continue
            why = (
                "no confirmation within the deadline"
                if t.phase == "SENT"
                else "read-back does not show it applied"
            )
            if t.attempts <= request.max_republish:
                self._republished += 1
                again.append(TargetAttempt(target=t.name, attempt=t.attempts + 1))
            else:
                self._fail(
                    t.name,
                    f"{why} after {t.attempts} send(s); the channel shows: {seen}",
                )
        return again

    # -- helpers ------------------------------------------------------------------------

    def _take_early_acks(self) -> list[ChannelAck]:
        acks, self._early_acks = self._early_acks, []
        return acks

    def _apply_ack(self, ack: ChannelAck) -> bool:
        """Match an ack to a target; False when it cannot be matched (yet)."""
        target = self._match(ack)
        if target is None:
            return False
        if target.phase in ("DONE", "FAILED"):
            return True  # a late answer to an earlier send: the target is settled
        if target.phase != "SENT":
            return False  # the send has not returned yet: keep it for then
        if ack.status == "confirmed":
            target.phase = "DONE"
        else:
            self._fail(target.name, f"the channel rejected it: {ack.reason or 'no reason given'}")
        return True

    def _match(self, ack: ChannelAck) -> _Target | None:
        if ack.publication_id:
            for t in self._targets.values():
                if t.publication_id == ack.publication_id:
                    return t
        if ack.target and ack.target in self._targets:
            return self._targets[ack.target]
        if len(self._targets) == 1:
            return next(iter(self._targets.values()))
        return None

    def _fail(self, target: str, reason: str) -> None:
        t = self._targets[target]
        t.phase = "FAILED"
        t.reason = reason

    def _outcome(self, request: PublicationRequest) -> PublicationOutcome:
        good: TargetState = success_state(request.action)
        outcomes = []
        for t in self._targets.values():
            state: TargetState = good if t.phase == "DONE" else "FAILED"
            reason = t.reason if t.phase == "FAILED" else ""
            if t.phase not in ("DONE", "FAILED"):
                reason = f"still {t.phase.lower()}"
            outcomes.append(
                TargetOutcome(target=t.name, state=state, attempts=t.attempts, reason=reason)
            )
        failed = sum(1 for o in outcomes if o.state == "FAILED")
        return PublicationOutcome(
            channel=request.channel,
            action=request.action,
            version=request.version,
            outcomes=outcomes,
            confirmed=len(outcomes) - failed,
            failed=failed,
            duplicate_acks_dropped=self._duplicates,
            reconciled_by_readback=self._reconciled,
            republished=self._republished,
        )


def _failed_batch(batch: PublicationRequest, reason: str) -> PublicationOutcome:
    outcomes = [
        TargetOutcome(target=t, state="FAILED", attempts=0, reason=reason) for t in batch.targets
    ]
    return PublicationOutcome(
        channel=batch.channel,
        action=batch.action,
        version=batch.version,
        outcomes=outcomes,
        confirmed=0,
        failed=len(outcomes),
        duplicate_acks_dropped=0,
        reconciled_by_readback=0,
        republished=0,
    )


async def publish_all(
    parent_workflow_id: str,
    requests: list[PublicationRequest],
    *,
    batch_size: int = 250,
    max_pending_children: int = 50,
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
                    id=child_id(parent_workflow_id, batch, n),
                    static_summary=(
                        f"{batch.action.value} {batch.promotion_id} v{batch.version} on "
                        f"{batch.channel.value}, batch {n} ({len(batch.targets)} target(s))"
                    ),
                    search_attributes=search_attributes,
                )
            except ChildWorkflowError as err:
                outcome = _failed_batch(batch, f"batch workflow failed: {err.cause or err}")
            parts[index].append(outcome)

    jobs = [
        run_batch(index, n, batch)
        for index, request in enumerate(requests)
        for n, batch in enumerate(split_batches(request, batch_size))
    ]
    await asyncio.gather(*jobs)
    return [merge_outcomes(request, parts[i]) for i, request in enumerate(requests)]


class FanoutInput(BaseModel):
    """Run several publications at once (a republish from the CLI, a drill, the bench)."""

    requests: list[PublicationRequest] = Field(min_length=1)
    batch_size: int = Field(default=250, ge=1, le=500)
    max_pending_children: int = Field(default=50, ge=1, le=MAX_PENDING_CHILDREN)


@workflow.defn(name="ChannelFanout")
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


__all__ = [
    "ACK_SIGNAL",
    "ChannelFanout",
    "ChannelPublication",
    "FanoutInput",
    "child_id",
    "publish_all",
]
