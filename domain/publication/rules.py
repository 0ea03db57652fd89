"""Channel publication rules: idempotency keys, batching, merging outcomes, summaries.

The batch workflows split a request into batches (:func:`split_batches`), publish each
batch in a child workflow and merge the batch outcomes back into one outcome per request
(:func:`merge_outcomes`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from domain.publication.contract import (
    Channel,
    PublicationAction,
    PublicationOutcome,
    PublicationRequest,
    TargetAttempt,
    TargetOutcome,
    TargetState,
)


def idempotency_key(
    promotion_id: str,
    channel: Channel,
    action: PublicationAction,
    version: int,
    target: str,
    *,
    attempt: int = 1,
) -> str:
    """One key per target, channel, action and price version.

    A republish after a missing confirmation is a *new* send and gets ``attempt`` > 1 in
    its key; the first attempt's key has no suffix so the common case reads cleanly.
    """
    key = f"promo:{promotion_id}:{channel.value}:{action.value}:v{version}:{target}"
    return key if attempt <= 1 else f"{key}:r{attempt - 1}"


def bulk_idempotency_key(
    promotion_id: str,
    channel: Channel,
    action: PublicationAction,
    version: int,
    targets: Sequence[str],
    *,
    attempt: int = 1,
) -> str:
    """One key per bulk call: the targets it names (first, last, how many, a digest of them
    all) in place of one target, so the same call always has the same key."""
    if not targets:
        raise ValueError("a bulk call names at least one target")
    digest = hashlib.sha256("\n".join(targets).encode()).hexdigest()[:16]
    name = f"bulk:{targets[0]}..{targets[-1]}:{len(targets)}:{digest}"
    return idempotency_key(promotion_id, channel, action, version, name, attempt=attempt)


def bulk_calls(sends: Sequence[TargetAttempt], per_call: int) -> list[list[TargetAttempt]]:
    """The bulk calls of a send: targets of the same attempt in consecutive groups of at most
    `per_call`, from the whole send list, so a retried activity makes the same calls."""
    if per_call < 1:
        raise ValueError(f"per_call must be at least 1, got {per_call}")
    by_attempt: dict[int, list[TargetAttempt]] = {}
    for s in sends:
        by_attempt.setdefault(s.attempt, []).append(s)
    return [
        group[i : i + per_call]
        for group in by_attempt.values()
        for i in range(0, len(group), per_call)
    ]


def split_batches(request: PublicationRequest, batch_size: int) -> list[PublicationRequest]:
    """Split a request into requests of at most ``batch_size`` targets, order kept.

    ``scope_store_ids`` (an ERP-only field) is dropped from the batches of other channels.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    targets = request.targets
    update: dict[str, object] = {}
    if request.channel is not Channel.ERP and request.scope_store_ids:
        update["scope_store_ids"] = []  # only ERP uses it: keep batch payloads small
    return [
        request.model_copy(update={**update, "targets": targets[i : i + batch_size]})
        for i in range(0, len(targets), batch_size)
    ]


def numbered_batches(
    requests: list[PublicationRequest], batch_size: int
) -> list[tuple[int, int, PublicationRequest]]:
    """Every request's batches as (request index, batch number, batch).

    Batches are numbered one after the other across requests of the same channel, action
    and version (POS stores in two time zones are two such requests), so all of them can
    run side by side under distinct child ids; a lone request numbers from 0 as before."""
    next_number: dict[tuple[Channel, PublicationAction, int], int] = {}
    out: list[tuple[int, int, PublicationRequest]] = []
    for index, request in enumerate(requests):
        key = (request.channel, request.action, request.version)
        for batch in split_batches(request, batch_size):
            number = next_number.get(key, 0)
            next_number[key] = number + 1
            out.append((index, number, batch))
    return out


def empty_outcome(request: PublicationRequest) -> PublicationOutcome:
    return PublicationOutcome(
        channel=request.channel,
        action=request.action,
        version=request.version,
        outcomes=[],
        confirmed=0,
        failed=0,
        duplicate_acks_dropped=0,
        reconciled_by_readback=0,
        republished=0,
    )


def merge_outcomes(
    request: PublicationRequest, parts: Iterable[PublicationOutcome]
) -> PublicationOutcome:
    """One outcome for ``request`` from its batches' outcomes, in the request's target order."""
    merged = empty_outcome(request)
    by_target: dict[str, TargetOutcome] = {}
    for part in parts:
        if part.channel != request.channel or part.action != request.action:
            raise ValueError(
                f"cannot merge a {part.channel.value}/{part.action.value} outcome into a "
                f"{request.channel.value}/{request.action.value} request"
            )
        for o in part.outcomes:
            by_target[o.target] = o
        merged.duplicate_acks_dropped += part.duplicate_acks_dropped
        merged.reconciled_by_readback += part.reconciled_by_readback
        merged.republished += part.republished
        merged.unreadable_signals += part.unreadable_signals
    outcomes = []
    for target in request.targets:
        found = by_target.get(target)
        if found is None:
            found = TargetOutcome(
                target=target, state="FAILED", attempts=0, reason="no outcome reported"
            )
        outcomes.append(found)
    merged.outcomes = outcomes
    merged.confirmed = sum(1 for o in outcomes if o.state != "FAILED")
    merged.failed = sum(1 for o in outcomes if o.state == "FAILED")
    return merged


def success_state(action: PublicationAction) -> TargetState:
    """The state a target reaches when the action is confirmed."""
    return "RETRACTED" if action is PublicationAction.RETRACT else "CONFIRMED"


def summarize(outcomes: Sequence[PublicationOutcome]) -> str:
    """A line in words, e.g. 'pos publish v1: 498 confirmed, 2 failed'."""
    parts = [
        f"{o.channel.value} {o.action.value} v{o.version}: {o.confirmed} confirmed, "
        f"{o.failed} failed"
        for o in outcomes
    ]
    return "; ".join(parts) if parts else "nothing published"


def failed_batch(batch: PublicationRequest, reason: str) -> PublicationOutcome:
    """The outcome of a batch whose workflow failed as a whole: every target FAILED."""
    outcome = empty_outcome(batch)
    outcome.outcomes = [
        TargetOutcome(target=t, state="FAILED", attempts=0, reason=reason) for t in batch.targets
    ]
    outcome.failed = len(outcome.outcomes)
    return outcome
