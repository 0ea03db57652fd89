"""One batch on one channel, run to its outcome: send, wait for the confirmations, read
back what did not confirm, send again (the steps `domain.publication.batch.BatchProgress`
judges).

A batch runs in a `ChannelPublication` child, or, when one call to the channel covers the
whole request (a chain-wide channel: ERP, e-commerce, marketplace; POS in bulk up to the
stores of one call), inside the launch itself (`InlineBatches`): a child costs a workflow
start, a first task on a new sandbox and a completion before the parent wakes, for one
activity. The channel's asynchronous confirmations then come to the launch, which routes
each to its batch (`domain.publication.batch.route_ack`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, RetryState
from temporalio.exceptions import TimeoutError as DeadlineReached

with workflow.unsafe.imports_passed_through():
    from domain.publication.batch import BatchProgress, route_ack
    from domain.publication.contract import (
        CHANNEL_ACK,
        MIN_RETRY_WINDOW,
        NEVER_GIVE_UP,
        READ_BACK,
        SEND_ATTEMPTS,
        SEND_BATCH,
        SEND_ONCE,
        SEND_UNTIL_DEADLINE_RETRY,
        ChannelAck,
        PublicationOutcome,
        PublicationRequest,
        ReadBackInput,
        SendBatchInput,
        SendBatchResult,
        TargetAttempt,
    )

from workflows.activity_calls import call


def _no_details(text: str) -> None:
    """Inline batches leave the launch's own details (its state words) alone."""


class BatchRun:
    """A batch's sends, confirmation wait and read-backs, in the workflow that holds it
    (the confirmations go to that workflow: `callback_workflow_id`)."""

    def __init__(
        self, request: PublicationRequest, describe: Callable[[str], None] = _no_details
    ) -> None:
        self.request = request
        self.progress = BatchProgress.of(request)
        self.describe = describe
        self.what = (
            f"{request.action.value} v{request.version} of {request.promotion_id} "
            f"on {request.channel.value}"
        )

    async def run(self) -> PublicationOutcome:
        sends = self.progress.first_sends()
        while sends:
            await self._send(sends)
            await self._wait_for_acks()
            sends = await self._reconcile()
        return self.progress.outcome()

    async def _send(self, sends: list[TargetAttempt]) -> None:
        request = self.request
        self.describe(f"{self.what}: sending {len(sends)} target(s)")
        self.progress.start_sending(sends)
        summary = f"{request.action.value} {len(sends)} target(s) to {request.channel.value}"
        batch = SendBatchInput(
            request=request,
            sends=sends,
            callback_workflow_id=workflow.info().workflow_id,
            callback_signal=CHANNEL_ACK,
            give_up_on_attempt=SEND_ATTEMPTS,
            grouped=True,
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
                self.progress.send_failed(sends, str(err.cause or err))
                return
        self.progress.sent(result)

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
                self.progress.send_failed(sends, str(err.cause or err))
                return None
        try:
            last = await call(
                SEND_BATCH.with_options(retry=SEND_ONCE),
                batch.model_copy(update={"give_up_on_attempt": 1}),
                summary=f"{summary}, last attempt at the deadline",
            )
        except ActivityError as err:
            self.progress.send_failed(sends, f"retried until {deadline}: {err.cause or err}")
            return None
        words = f"retried until {deadline.isoformat(timespec='seconds')} (go-live minus margin)"
        return last.with_error_prefix(words)

    async def _wait_for_acks(self) -> None:
        waiting = self.progress.awaiting_acks()
        if not waiting:
            return
        request = self.request
        self.describe(
            f"{self.what}: waiting up to {request.ack_timeout} for {len(waiting)} confirmation(s)"
        )
        try:
            await workflow.wait_condition(
                self.progress.all_acked,
                timeout=request.ack_timeout,
                timeout_summary="confirmation deadline",
            )
        except TimeoutError:
            pass

    async def _reconcile(self) -> list[TargetAttempt]:
        unsure = self.progress.unsure()
        if not unsure:
            return []
        request = self.request
        self.describe(f"{self.what}: reading back {len(unsure)} target(s)")
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
        return self.progress.judge_read_back(unsure, states, failure)


class InlineBatches:
    """The batches a launch runs itself, and the routing of their confirmations."""

    def __init__(self) -> None:
        self.runs: list[BatchProgress] = []
        self.unmatched: list[str] = []
        """Confirmations that matched no batch of this launch (event id and channel)."""

    @staticmethod
    def covers(batch: PublicationRequest) -> bool:
        """One call to the channel carries the whole batch."""
        return len(batch.targets) <= max(batch.targets_per_call, 1)

    async def run(self, batch: PublicationRequest) -> PublicationOutcome:
        runner = BatchRun(batch)
        self.runs.append(runner.progress)
        return await runner.run()

    def receive_ack(self, ack: ChannelAck) -> str | None:
        """Give an ack to its batch; None, or why it matched none (for the audit trail)."""
        batch = route_ack(self.runs, ack)
        if batch is not None:
            batch.receive_ack(ack)
            return None
        words = (
            f"{ack.event_id} ({ack.channel.value if ack.channel else 'no channel'}, "
            f"publication {ack.publication_id or '-'}) matches no publication of this launch"
        )
        self.unmatched.append(words)
        return words


__all__ = ["BatchRun", "InlineBatches"]
