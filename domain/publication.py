"""Publishing a promotion's prices to the sales channels: the pure rules.

A promotion is published to four channels: the ERP price master, the POS price book
(one per store), the e-commerce site and the marketplace. POS is the only channel
addressed store by store; the others take a single target ``"*"``.

The workflow side (``workflows/channel_publication.py``) splits a request into batches
(:func:`split_batches`), gives each batch to a child workflow that publishes it through
one activity and waits for the channel's asynchronous confirmations, and merges the
batch outcomes back into one outcome per request (:func:`merge_outcomes`).

Every call to a channel carries an idempotency key made from the promotion, the
channel, the action, the price version and the target (:func:`idempotency_key`), so
a retried call never publishes twice, and a price change (a new version) gets new keys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator


class Channel(StrEnum):
    ERP = "erp"
    POS = "pos"
    ECOMMERCE = "ecommerce"
    MARKETPLACE = "marketplace"


STORE_SCOPED: frozenset[Channel] = frozenset({Channel.POS})
"""Channels addressed store by store; every other channel takes the single target ``"*"``."""

ALL_TARGETS = "*"


class PublicationAction(StrEnum):
    PUBLISH = "publish"
    """Put the promotional price live (or, with a new version, replace it)."""
    RETRACT = "retract"
    """Take a published promotion back out (cancel or rollback)."""
    REVERT = "revert"
    """Put the regular price back at the end of the promotion."""


class PriceLine(BaseModel):
    """One item's regular and promotional price, and the offer in words ("20% off")."""

    model_config = ConfigDict(frozen=True)

    item_id: str = Field(min_length=1)
    regular_price: Decimal = Field(gt=0, decimal_places=2)
    promo_price: Decimal = Field(gt=0, decimal_places=2)
    offer: str = Field(min_length=1)

    @model_validator(mode="after")
    def _promo_not_above_regular(self) -> PriceLine:
        if self.promo_price > self.regular_price:
            raise ValueError(
                f"promo_price {self.promo_price} of item {self.item_id} is above its "
                f"regular_price {self.regular_price}"
            )
        return self


class PublicationRequest(BaseModel):
    """Publish, retract or revert one promotion on one channel for some targets."""

    promotion_id: str = Field(min_length=1)
    channel: Channel
    action: PublicationAction
    targets: list[str] = Field(min_length=1)
    """Store ids for POS; ``["*"]`` for every other channel."""
    lines: list[PriceLine]
    version: int = Field(ge=1)
    """Price version: a price change bumps it, which gives every call a new idempotency key."""
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    ack_timeout: timedelta
    """How long to wait for the channel's confirmation before reading the channel back."""
    max_republish: int = Field(ge=0, le=10)
    """How many times a target whose confirmation never came (and whose read-back does not
    show it done) is published again before it is reported FAILED."""

    # -- only for the ERP promotion master (channel ERP; ignored elsewhere) -----------------
    name: str = ""
    """The promotion's name as ERP records it (defaults to the promotion id)."""
    offer_type: str = "percent_off"
    scope_store_ids: list[str] = Field(default_factory=list)
    """ERP publish: the stores the promotion covers; required when ERP does not hold the
    promotion yet (a promotion already created in ERP is simply activated)."""
    deal_id: str | None = None
    reason: str = ""
    """Why (retract/revert): goes into the channel's audit."""

    @field_validator("targets")
    @classmethod
    def _targets_unique_and_named(cls, targets: list[str]) -> list[str]:
        blank = [t for t in targets if not t.strip()]
        if blank:
            raise ValueError("a target is blank: give store ids, or '*' for a whole channel")
        dupes = sorted(t for t, n in Counter(targets).items() if n > 1)
        if dupes:
            raise ValueError(f"targets repeat: {', '.join(dupes)}")
        return targets

    @field_validator("ack_timeout")
    @classmethod
    def _ack_timeout_positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("ack_timeout must be longer than zero")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PublicationRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError(
                f"ends_at {self.ends_at.isoformat()} is not after starts_at "
                f"{self.starts_at.isoformat()}"
            )
        if self.channel in STORE_SCOPED:
            if ALL_TARGETS in self.targets:
                raise ValueError(
                    f"targets: channel {self.channel.value} is published store by store; "
                    "list store ids, not '*'"
                )
        elif self.targets != [ALL_TARGETS]:
            raise ValueError(
                f"targets: channel {self.channel.value} takes the single target '*', "
                f"got {self.targets[:3]}"
            )
        if self.action is not PublicationAction.RETRACT and not self.lines:
            raise ValueError(f"lines: a {self.action.value} needs at least one price line")
        items = [line.item_id for line in self.lines]
        if len(set(items)) != len(items):
            raise ValueError("lines: an item appears twice")
        return self


TargetState = Literal["CONFIRMED", "FAILED", "RETRACTED"]


class TargetOutcome(BaseModel):
    """What became of one target (a store, or ``"*"``) on one channel."""

    target: str
    state: TargetState
    attempts: int
    """How many times the target was sent to the channel (1 when the first send was confirmed)."""
    reason: str = ""


class PublicationOutcome(BaseModel):
    """The result of a request (or of one batch of it)."""

    channel: Channel
    action: PublicationAction
    version: int
    outcomes: list[TargetOutcome]
    confirmed: int
    failed: int
    duplicate_acks_dropped: int
    reconciled_by_readback: int
    republished: int

    @property
    def failed_targets(self) -> list[str]:
        return [o.target for o in self.outcomes if o.state == "FAILED"]

    @property
    def ok(self) -> bool:
        return self.failed == 0


class ChannelAck(BaseModel):
    """A channel's asynchronous confirmation, as delivered by the ingress (`channel_ack`).

    ``event_id`` is unique per delivery *event*: a duplicate delivery carries the same id
    and is dropped. ``status`` is ``confirmed`` or ``rejected`` (with a ``reason``).
    """

    model_config = ConfigDict(extra="allow")

    event_id: str = Field(min_length=1)
    channel: Channel | None = None
    promotion_id: str | None = None
    publication_id: str | None = None
    """The channel's id for the call being confirmed (returned when the call was accepted)."""
    target: str | None = None
    action: PublicationAction | None = None
    version: int | None = None
    idempotency_key: str | None = None
    status: Literal["confirmed", "rejected"] = "confirmed"
    reason: str | None = None


class TargetSend(BaseModel):
    """One target's result from the publish activity: the call went through or failed."""

    target: str
    idempotency_key: str
    sent: bool
    """The channel accepted the call."""
    confirmed: bool = False
    """The channel confirmed synchronously (POS answers when the stores have the prices);
    otherwise the confirmation comes later as a `channel_ack` signal."""
    publication_id: str | None = None
    """The channel's id for the call, which its asynchronous confirmation carries."""
    error: str = ""
    """Why the call failed for good (a business refusal or retries exhausted)."""


class ReadBackState(BaseModel):
    """What the channel shows for one target when read back."""

    target: str
    done: bool
    """The channel shows the action applied (the promo price live for publish, gone for
    retract, the regular price back for revert) at this version."""
    detail: str = ""
    refused: bool = False
    """The channel shows it refused the change (e.g. marketplace policy): sending it again
    cannot help, so the target is reported FAILED at once."""


SEND_CONCURRENCY = 16
MAX_SEND_CONCURRENCY = 64


# -- the channel activities' input and output (activities/channels.py) -------------------


class TargetAttempt(BaseModel):
    target: str
    attempt: int = Field(ge=1)
    """1 for the first send; a republish after a missing confirmation is attempt 2, 3..."""


class SendBatchInput(BaseModel):
    request: PublicationRequest
    """The batch's request; only the targets listed in ``sends`` are sent."""
    sends: list[TargetAttempt]
    callback_workflow_id: str
    """Where the channel sends its asynchronous confirmations (`channel_ack` signals)."""
    callback_signal: str = "channel_ack"
    concurrency: int = Field(default=SEND_CONCURRENCY, ge=1, le=MAX_SEND_CONCURRENCY)
    give_up_on_attempt: int = Field(default=5, ge=1)
    """On this activity attempt, targets still failing transiently are reported as errors
    instead of failing the activity again (the workflow then reports them FAILED)."""


class SendBatchResult(BaseModel):
    sends: list[TargetSend]
    resumed: int = 0
    """Targets answered by an earlier attempt of this activity (from its heartbeat)."""


class ReadBackInput(BaseModel):
    request: PublicationRequest
    targets: list[str]


class ReadBackResult(BaseModel):
    states: list[ReadBackState]


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


__all__ = [
    "ALL_TARGETS",
    "MAX_SEND_CONCURRENCY",
    "SEND_CONCURRENCY",
    "STORE_SCOPED",
    "Channel",
    "ChannelAck",
    "PriceLine",
    "PublicationAction",
    "PublicationOutcome",
    "PublicationRequest",
    "ReadBackInput",
    "ReadBackResult",
    "ReadBackState",
    "SendBatchInput",
    "SendBatchResult",
    "TargetAttempt",
    "TargetOutcome",
    "TargetSend",
    "TargetState",
    "empty_outcome",
    "idempotency_key",
    "merge_outcomes",
    "split_batches",
    "success_state",
    "summarize",
]
