"""A scripted channel: stands in for `activities.channels.ChannelActivities`.

Registered under the contract's names (`SEND_BATCH`, `READ_BACK`), so a worker from the
registry with ``fakes=channel.activities()`` runs the batch workflow against it. It
produces what a live system produces only by chance: confirmations that arrive twice or
before the send returns, a channel that never shows the change, a send held until the
caller lets it go.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from domain.publication.contract import (
    READ_BACK,
    SEND_BATCH,
    ChannelAck,
    PublicationRequest,
    ReadBackInput,
    ReadBackResult,
    ReadBackState,
    SendBatchInput,
    SendBatchResult,
    TargetSend,
)
from domain.publication.rules import idempotency_key


@dataclass
class ScriptedChannel:
    """A channel whose confirmations and read-backs follow a script.

    * ``acks_per_send``: how many deliveries of each send's confirmation (0 = dropped);
      they are signalled to the batch workflow *before* the send activity returns.
    * ``applied_on_attempt``: the read-back shows the change only from this send attempt
      on (None: never).
    * ``confirm_on_send``: the send answers confirmed at once (as POS does).
    * ``hold``: every send waits for this event before it answers (`held` counts the
      sends waiting); set it to let them go.
    * ``unreachable_until``: an outage: an attempt scheduled before this time (server
      time, so it follows time skipping) fails transiently, as the real activity does
      (on its give-up attempt it reports each target unreachable instead of failing).
    """

    client: Client
    acks_per_send: int = 1
    applied_on_attempt: int | None = 1
    confirm_on_send: bool = False
    hold: asyncio.Event | None = None
    sends: list[tuple[str, int]] = field(default_factory=list)
    requests: list[PublicationRequest] = field(default_factory=list)
    """Every batch request received, in order."""
    unreachable_until: datetime | None = None
    failed_attempts: int = 0
    held: int = 0
    read_backs: int = 0
    _applied: dict[str, int] = field(default_factory=dict)

    @activity.defn(name=SEND_BATCH.name)
    async def send_batch(self, data: SendBatchInput) -> SendBatchResult:
        request = data.request
        self.requests.append(request)
        if self.hold is not None:
            self.held += 1
            await self.hold.wait()
            self.held -= 1
        if self.unreachable_until is not None:
            info = activity.info()
            if info.current_attempt_scheduled_time < self.unreachable_until:
                self.failed_attempts += 1
                if info.attempt < data.give_up_on_attempt:
                    raise ApplicationError(
                        f"{request.channel.value} is unavailable (scripted outage)",
                        type=f"transient_{request.channel.value}",
                    )
                return SendBatchResult(
                    sends=[
                        TargetSend(
                            target=s.target,
                            idempotency_key=idempotency_key(
                                request.promotion_id,
                                request.channel,
                                request.action,
                                request.version,
                                s.target,
                                attempt=s.attempt,
                            ),
                            sent=False,
                            error=f"{request.channel.value} unreachable after {info.attempt} "
                            "attempts: scripted outage",
                        )
                        for s in data.sends
                    ]
                )
        handle = self.client.get_workflow_handle(data.callback_workflow_id)
        out = []
        for s in data.sends:
            self.sends.append((s.target, s.attempt))
            if self.applied_on_attempt is not None and s.attempt >= self.applied_on_attempt:
                self._applied[s.target] = s.attempt
            key = idempotency_key(
                request.promotion_id,
                request.channel,
                request.action,
                request.version,
                s.target,
                attempt=s.attempt,
            )
            publication_id = f"pub-{s.target}-{s.attempt}"
            ack = ChannelAck(
                event_id=f"ev-{s.target}-{s.attempt}",
                channel=request.channel,
                promotion_id=request.promotion_id,
                publication_id=publication_id,
                status="confirmed",
            )
            for _ in range(self.acks_per_send):
                await handle.signal(data.callback_signal, ack)
            out.append(
                TargetSend(
                    target=s.target,
                    idempotency_key=key,
                    sent=True,
                    confirmed=self.confirm_on_send,
                    publication_id=publication_id,
                )
            )
        return SendBatchResult.of(out, grouped=data.grouped)

    @activity.defn(name=READ_BACK.name)
    async def read_back(self, data: ReadBackInput) -> ReadBackResult:
        self.read_backs += 1
        return ReadBackResult(
            states=[
                ReadBackState(
                    target=t,
                    done=t in self._applied,
                    detail="LIVE" if t in self._applied else "PENDING",
                )
                for t in data.targets
            ]
        )

    def activities(self) -> list[Callable[..., Any]]:
        return [self.send_batch, self.read_back]
