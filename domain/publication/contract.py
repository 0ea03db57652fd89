"""The channel publication contract: workflow types, ids, messages, activities and options.

A promotion is published to four channels: the ERP price master, the POS price book (one
per store), the e-commerce site and the marketplace. POS is the only channel addressed
store by store; the others take a single target ``"*"``.

`ChannelPublication` publishes one batch of targets on one channel (a child of
`PromotionLaunch`, `SellThroughMonitor` or `ChannelFanout`) and receives the channel's
asynchronous confirmations as `channel_ack` signals. `ChannelFanout` is a stand-alone
parent that publishes several requests in batches (the CLI, drills, the bench).

Every call to a channel carries an idempotency key
(:func:`domain.publication.rules.idempotency_key`), so a retried call never publishes
twice, and a price change (a new version) gets new keys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from temporalio.common import RetryPolicy, VersioningBehavior

from domain.activity_options import (
    HEARTBEAT_TIMEOUT,
    LONG_CALL_TIMEOUT,
    NON_RETRYABLE_TYPES,
    PRIORITY_URGENT,
    READ_RETRY,
    ActivitySpec,
)
from domain.publication.prices import PriceLine

WORKFLOW_TYPE = "ChannelPublication"
FANOUT_WORKFLOW_TYPE = "ChannelFanout"

PRIORITY = PRIORITY_URGENT
"""Go-live: the price must be on every channel at the promotion's start time, ahead of the
rest of the queue (`domain.activity_options`, "Priority")."""

VERSIONING = VersioningBehavior.PINNED
"""A batch lasts minutes (send, confirmations, read-back): it finishes on the build that sent
it; a new build gets the next batches. Both `ChannelPublication` and `ChannelFanout`."""

CHANNEL_ACK = "channel_ack"
"""Signal to a `ChannelPublication`: a channel's asynchronous confirmation (`ChannelAck`)."""
STATUS = "status"
"""Query of a `ChannelPublication`: the batch's outcome so far (`PublicationOutcome`)."""

MAX_PENDING_CHILDREN = 500
"""Never more batch children than this at once under one parent."""
DEFAULT_BATCH_SIZE = 250
MAX_TARGETS_PER_CALL = 500
"""The most stores one bulk call to a channel names (the reference POS price book's limit)."""
DEFAULT_MAX_PENDING_CHILDREN = 50


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
    retry_until: AwareDatetime | None = None
    """Retry by deadline: a channel that cannot be reached is tried again until this time
    (go-live minus the policy's `retry_margin`), then its targets are reported FAILED.
    None, or a time already past: the fixed `SEND_ATTEMPTS` (requests recorded before)."""

    targets_per_call: int = Field(default=1, ge=1, le=MAX_TARGETS_PER_CALL)
    """How many targets one call to the channel carries: 1 where the channel is addressed
    store by store (POS on store servers), up to 500 where it takes many stores a call (a
    central POS price book). Requests recorded before this field: 1."""

    # -- only for the ERP promotion master (channel ERP; ignored elsewhere) -----------------
    name: str = ""
    """The promotion's name as ERP records it (defaults to the promotion id)."""
    offer_type: str = "percent_off"
    scope_store_ids: list[str] = Field(default_factory=list)
    """ERP publish: the stores the promotion covers; required when ERP does not hold the
    promotion yet (a promotion already created in ERP is simply activated)."""
    deal_id: str | None = None
    exclusive: bool = True
    """Whether the promotion is exclusive (ERP records it on the master for overlap checks)."""
    priority: int = Field(default=0, ge=0)
    """Its stacking priority (lower applies first), recorded on the ERP master."""
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
    unreadable_signals: list[str] = Field(default_factory=list)
    """`channel_ack` signals the batch could not read (event id and why): recorded, not
    dropped in silence (the run's `RetailProblem` search attribute is set too)."""

    @property
    def failed_targets(self) -> list[str]:
        return [o.target for o in self.outcomes if o.state == "FAILED"]

    @property
    def ok(self) -> bool:
        return self.failed == 0


def workflow_id(parent_workflow_id: str, request: PublicationRequest, batch: int) -> str:
    """``{parent}-pub-{channel}-{action}-v{version}-b{n}``, e.g.
    ``promotion-P1-pub-pos-publish-v1-b0``: batch ``n`` of a request under its parent."""
    return (
        f"{parent_workflow_id}-pub-{request.channel.value}-{request.action.value}"
        f"-v{request.version}-b{batch}"
    )


class FanoutInput(BaseModel):
    """`ChannelFanout`'s input: publish several requests at once, in batch children."""

    requests: list[PublicationRequest] = Field(min_length=1)
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=500)
    max_pending_children: int = Field(
        default=DEFAULT_MAX_PENDING_CHILDREN, ge=1, le=MAX_PENDING_CHILDREN
    )


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
    channel_version: int | None = None
    """The channel's own version of the publication this call made (a digital channel
    counts its publications of a promotion; its confirmation names that version)."""
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


# -- the activities: send one batch, read a channel back ------------------------------------


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
    callback_signal: str = CHANNEL_ACK
    concurrency: int = Field(default=SEND_CONCURRENCY, ge=1, le=MAX_SEND_CONCURRENCY)
    give_up_on_attempt: int = Field(default=5, ge=1)
    """On this activity attempt, targets still failing transiently are reported as errors
    instead of failing the activity again (the workflow then reports them FAILED)."""
    grouped: bool = False
    """Answer in `SendBatchResult.groups`: the targets one call answered alike as one group.
    Workflows built before groups do not ask, and read `sends` (one answer a target)."""


class SendGroup(BaseModel):
    """Targets answered alike: one bulk call's stores (the same key, the same answer)."""

    targets: list[str]
    idempotency_key: str
    sent: bool
    confirmed: bool = False
    publication_id: str | None = None
    channel_version: int | None = None
    error: str = ""


class SendBatchResult(BaseModel):
    sends: list[TargetSend] = Field(default_factory=list)
    """One answer a target (results recorded before groups, and activities not asked for
    groups)."""
    groups: list[SendGroup] = Field(default_factory=list)
    """The answers grouped (`SendBatchInput.grouped`): 5,000 stores sent 500 a call cross
    history as 10 groups, not 5,000 answers to decode in the workflow."""
    resumed: int = 0
    """Targets answered by an earlier attempt of this activity (from its heartbeat)."""

    @classmethod
    def of(cls, sends: list[TargetSend], *, grouped: bool, resumed: int = 0) -> SendBatchResult:
        """The answers as the workflow asked for them: neighbours answered alike together."""
        if not grouped:
            return cls(sends=sends, resumed=resumed)
        groups: list[SendGroup] = []
        last: tuple[Any, ...] | None = None
        for s in sends:
            answer = {k: getattr(s, k) for k in _GROUP_ANSWER}
            if last != (key := tuple(answer.values())):
                last = key
                groups.append(SendGroup(targets=[], **answer))
            groups[-1].targets.append(s.target)
        return cls(groups=groups, resumed=resumed)

    def answers(self) -> Iterator[tuple[list[str], SendGroup | TargetSend]]:
        """Every answer with the targets it answers (a target's own answer: itself)."""
        for g in self.groups:
            yield g.targets, g
        for s in self.sends:
            yield [s.target], s

    def with_error_prefix(self, words: str) -> SendBatchResult:
        """The same answers, each error prefixed with `words` (why the send gave up)."""
        return SendBatchResult(
            sends=[
                s.model_copy(update={"error": f"{words}; {s.error}"}) if s.error else s
                for s in self.sends
            ],
            groups=[
                g.model_copy(update={"error": f"{words}; {g.error}"}) if g.error else g
                for g in self.groups
            ],
            resumed=self.resumed,
        )


_GROUP_ANSWER = (
    "idempotency_key",
    "sent",
    "confirmed",
    "publication_id",
    "channel_version",
    "error",
)


class ReadBackInput(BaseModel):
    request: PublicationRequest
    targets: list[str]


class ReadBackResult(BaseModel):
    states: list[ReadBackState]


SEND_ATTEMPTS = 5
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=15),
    maximum_attempts=SEND_ATTEMPTS,
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)
"""Own policy for sends (not BACKOFFICE_RETRY's unlimited attempts): on its last attempt
the send activity reports still-unreachable targets as errors instead of failing, so the
batch reports them FAILED and the parent applies its policy (hold or roll back)."""

SEND_UNTIL_DEADLINE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=15),
    maximum_attempts=0,  # unlimited: bounded by the request's `retry_until`
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)
"""Sends with a deadline: every 15 s at most until `retry_until` (the schedule-to-close)."""

SEND_ONCE = RetryPolicy(maximum_attempts=1)
"""The last attempt at the deadline: it reports each target, it is not retried."""

NEVER_GIVE_UP = 1_000_000
"""`give_up_on_attempt` while retrying by deadline: the activity keeps failing transiently
(so Temporal retries it) until the deadline ends the attempts."""

MIN_RETRY_WINDOW = timedelta(seconds=5)
"""A `retry_until` closer than this leaves no room to retry: the fixed attempts apply."""

SEND_BATCH: ActivitySpec[SendBatchResult] = ActivitySpec(
    "channel_send_batch",
    SendBatchInput,
    SendBatchResult,
    SEND_RETRY,
    start_to_close=LONG_CALL_TIMEOUT,
    schedule_to_close=None,
    heartbeat=HEARTBEAT_TIMEOUT,
    priority=PRIORITY,
)
"""Send one batch of targets to one channel (bounded concurrency, heartbeated progress)."""

READ_BACK: ActivitySpec[ReadBackResult] = ActivitySpec(
    "channel_read_back",
    ReadBackInput,
    ReadBackResult,
    READ_RETRY,
    start_to_close=timedelta(minutes=2),
    schedule_to_close=None,
    priority=PRIORITY,
)
"""What a channel shows for some targets: is the action applied at this version?"""
