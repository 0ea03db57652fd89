"""One batch on one channel, target by target: what each send, ack and read-back means.

`ChannelPublication` (the batch workflow) keeps a `BatchProgress` and asks it what to do:

1. every target is sent (``PENDING``); the channel answers ``sent`` (an asynchronous
   confirmation is to come: ``SENT``), ``confirmed`` (``DONE``; a revert is verified by
   reading the channel back even then: ``VERIFY``) or an error (``FAILED``);
2. a `channel_ack` matched to a ``SENT`` target settles it; a duplicate delivery (same
   event id) is counted and dropped; an ack that arrives before its send returned is kept
   and applied once it has;
3. the targets still ``SENT`` or ``VERIFY`` after the deadline are judged by what a
   read-back shows: applied means ``DONE`` ("reconciled by read-back"), refused means
   ``FAILED``, otherwise the target is sent again until ``max_republish`` is spent.

Pure: no I/O and no clock; the workflow does the sending, waiting and reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import TypeAdapter

from domain.publication.contract import (
    ChannelAck,
    PublicationAction,
    PublicationOutcome,
    PublicationRequest,
    ReadBackState,
    SendBatchResult,
    TargetAttempt,
    TargetOutcome,
    TargetState,
)
from domain.publication.rules import success_state

Phase = Literal["PENDING", "SENT", "VERIFY", "DONE", "FAILED"]
ATTEMPTS = TypeAdapter(list[TargetAttempt])
OUTCOMES = TypeAdapter(list[TargetOutcome])
"""A batch's per-target models are validated as one list (thousands of targets: one call
into pydantic, half the time of a model built per target)."""


@dataclass
class TargetProgress:
    name: str
    attempts: int = 0
    phase: Phase = "PENDING"
    publication_id: str | None = None
    channel_version: int | None = None
    reason: str = ""


@dataclass
class BatchProgress:
    """Where each target of one batch stands, and the batch's counters."""

    request: PublicationRequest
    targets: dict[str, TargetProgress] = field(default_factory=dict)
    seen_events: set[str] = field(default_factory=set)
    early_acks: list[ChannelAck] = field(default_factory=list)
    duplicates: int = 0
    unreadable: list[str] = field(default_factory=list)
    reconciled: int = 0
    republished: int = 0

    @classmethod
    def of(cls, request: PublicationRequest) -> BatchProgress:
        return cls(request=request, targets={t: TargetProgress(t) for t in request.targets})

    # -- sending ------------------------------------------------------------------------

    def first_sends(self) -> list[TargetAttempt]:
        return ATTEMPTS.validate_python([{"target": t, "attempt": 1} for t in self.request.targets])

    def start_sending(self, sends: list[TargetAttempt]) -> None:
        for s in sends:
            t = self.targets[s.target]
            t.attempts = s.attempt
            t.phase = "PENDING"

    def send_failed(self, sends: list[TargetAttempt], reason: str) -> None:
        """The send activity failed as a whole: every target of the call FAILED."""
        request = self.request
        for s in sends:
            self.fail(s.target, f"{request.channel.value} {request.action.value} failed: {reason}")

    def sent(self, result: SendBatchResult) -> None:
        """Record the send activity's answers, then apply the acks that came too early."""
        for targets, answer in result.answers():
            for target in targets:
                t = self.targets[target]
                t.publication_id = answer.publication_id or t.publication_id
                t.channel_version = answer.channel_version or t.channel_version
                if answer.error:
                    self.fail(target, answer.error)
                elif answer.confirmed:
                    # A revert is verified by reading the channel back, even when confirmed.
                    revert = self.request.action is PublicationAction.REVERT
                    t.phase = "VERIFY" if revert else "DONE"
                else:
                    t.phase = "SENT"
        acks, self.early_acks = self.early_acks, []
        for ack in acks:
            if not self._apply_ack(ack):
                self.early_acks.append(ack)

    # -- confirmations ------------------------------------------------------------------

    def receive_ack(self, ack: ChannelAck) -> None:
        """A channel confirmation; a delivery whose event id was seen already is dropped."""
        if ack.event_id in self.seen_events:
            self.duplicates += 1
            return
        self.seen_events.add(ack.event_id)
        if not self._apply_ack(ack):
            self.early_acks.append(ack)

    def awaiting_acks(self) -> list[TargetProgress]:
        return [t for t in self.targets.values() if t.phase == "SENT"]

    def all_acked(self) -> bool:
        return all(t.phase != "SENT" for t in self.targets.values())

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
            self.fail(target.name, f"the channel rejected it: {ack.reason or 'no reason given'}")
        return True

    def _match(self, ack: ChannelAck) -> TargetProgress | None:
        """The target `ack` confirms; never one whose call the channel counted under another
        version than the ack names (a stale answer to an earlier call)."""
        if ack.publication_id:
            for t in self.targets.values():
                if t.publication_id == ack.publication_id and _same_version(t, ack):
                    return t
        if ack.target and ack.target in self.targets:
            t = self.targets[ack.target]
            return t if _same_version(t, ack) else None
        if len(self.targets) == 1:
            t = next(iter(self.targets.values()))
            return t if _same_version(t, ack) else None
        return None

    # -- reconciling --------------------------------------------------------------------

    def unsure(self) -> list[TargetProgress]:
        """Targets whose confirmation did not come, or that must be verified."""
        return [t for t in self.targets.values() if t.phase in ("SENT", "VERIFY")]

    def judge_read_back(
        self, unsure: list[TargetProgress], states: dict[str, ReadBackState], failure: str
    ) -> list[TargetAttempt]:
        """Settle each unsure target by what the channel shows; returns what to send again.

        ``failure`` is why the read-back itself failed (used when a target has no state)."""
        again: list[TargetAttempt] = []
        for t in unsure:
            state = states.get(t.name)
            if state is not None and state.done:
                if t.phase == "SENT":
                    self.reconciled += 1
                t.phase = "DONE"
                continue
            seen = state.detail if state is not None else failure
            if state is not None and state.refused:
                self.fail(t.name, f"the channel refused it (found by read-back): {seen}")
                continue
            why = (
                "no confirmation within the deadline"
                if t.phase == "SENT"
                else "read-back does not show it applied"
            )
            if t.attempts <= self.request.max_republish:
                self.republished += 1
                again.append(TargetAttempt(target=t.name, attempt=t.attempts + 1))
            else:
                self.fail(t.name, f"{why} after {t.attempts} send(s); the channel shows: {seen}")
        return again

    # -- outcome ------------------------------------------------------------------------

    def fail(self, target: str, reason: str) -> None:
        t = self.targets[target]
        t.phase = "FAILED"
        t.reason = reason

    def outcome(self) -> PublicationOutcome:
        request = self.request
        good: TargetState = success_state(request.action)
        rows = []
        for t in self.targets.values():
            state: TargetState = good if t.phase == "DONE" else "FAILED"
            reason = t.reason if t.phase == "FAILED" else ""
            if t.phase not in ("DONE", "FAILED"):
                reason = f"still {t.phase.lower()}"
            rows.append(
                {"target": t.name, "state": state, "attempts": t.attempts, "reason": reason}
            )
        outcomes = OUTCOMES.validate_python(rows)
        failed = sum(1 for o in outcomes if o.state == "FAILED")
        return PublicationOutcome(
            channel=request.channel,
            action=request.action,
            version=request.version,
            outcomes=outcomes,
            confirmed=len(outcomes) - failed,
            failed=failed,
            duplicate_acks_dropped=self.duplicates,
            unreadable_signals=list(self.unreadable),
            reconciled_by_readback=self.reconciled,
            republished=self.republished,
        )

    # -- routing (batches a launch runs itself) -----------------------------------------

    def holds(self, ack: ChannelAck) -> bool:
        """Whether one of this batch's calls is the one `ack` confirms: the same publication
        id and, where both are known, the same version of it on the channel."""
        return ack.publication_id is not None and any(
            t.publication_id == ack.publication_id and _same_version(t, ack)
            for t in self.targets.values()
        )

    def awaiting_answers(self) -> bool:
        """Whether a send of this batch has not returned yet (an ack may come before it)."""
        return any(t.phase == "PENDING" for t in self.targets.values())

    def settled(self) -> bool:
        return all(t.phase in ("DONE", "FAILED") for t in self.targets.values())


def route_ack(batches: list[BatchProgress], ack: ChannelAck) -> BatchProgress | None:
    """The batch an ack belongs to, among the batches one workflow runs itself (a launch
    publishing a request one call covers, without a batch child), newest first.

    Among the batches of the ack's channel: one not settled whose call it confirms; else
    one whose send has not returned yet (an ack may come first: kept until it has); else a
    settled one whose call it confirms (a late or repeated answer, counted there); else
    None: the ack matches no publication of the workflow. The version an ack names is the channel's own count of
    publications, so it is compared with what each call answered, never with the price
    version. An ack naming no channel is placed by its publication id alone."""
    named = [b for b in reversed(batches) if ack.channel in (None, b.request.channel)]
    open_ = [b for b in named if not b.settled()]
    for batch in open_:
        if batch.holds(ack):
            return batch
    if ack.channel is not None:
        for batch in open_:
            if batch.awaiting_answers():
                return batch
    return next((b for b in named if b.holds(ack)), None)


def _same_version(target: TargetProgress, ack: ChannelAck) -> bool:
    """The ack names the channel's version of the target's call (or one side does not say)."""
    return ack.version is None or target.channel_version in (None, ack.version)
