"""Publishing one batch of targets to one channel, and reading a channel back.

One activity call handles one batch (at most a few hundred stores) of one channel and one
action, with bounded concurrency inside. Every call to the channel carries its own
idempotency key (:func:`domain.publication.rules.idempotency_key`: promotion, channel, action,
price version, target, and the republish attempt), so a retried activity never acts twice.

Progress is heartbeated (the targets already answered): a retried attempt resumes where the
previous one stopped instead of calling every store again.

POS in bulk (`PublicationRequest.targets_per_call` > 1): the batch's stores go in calls of
that many (`domain.publication.rules.bulk_calls`, one key per call from the stores it names,
so a retried attempt makes the same calls with the same keys). A call refused as a whole
(nothing applied) is sent again store by store, so one refused store or region does not fail
the others; a call still unreachable on the last attempt is settled by reading the book
back (stores showing it applied are confirmed, the rest are sent store by store), and if the
book cannot be read either its stores are reported unreachable, never resent blind.

What each channel does:

===========  =======================================  ==========================================
channel      publish                                  retract / revert
===========  =======================================  ==========================================
POS          price book of one store, or of up to     take the promotion out of the stores' books
             500 stores a call where the policy
             configures POS as bulk (synchronous)
e-commerce   send prices; confirmation is an event    take the promotion down (synchronous)
marketplace  (``channel_ack`` to the batch workflow)
ERP          create (if needed) and activate the      deactivate the promotion master
             promotion master (synchronous)
===========  =======================================  ==========================================
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from decimal import Decimal
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common import heartbeating, last_heartbeat
from adapters.base import new_http_client
from adapters.channels import ChannelClient, EcommerceClient, MarketplaceClient
from adapters.erp import ErpClient
from adapters.errors import BusinessRefusal, TransientError
from adapters.pos import PosClient
from domain.publication.contract import (
    READ_BACK,
    SEND_BATCH,
    Channel,
    PublicationAction,
    PublicationRequest,
    ReadBackInput,
    ReadBackResult,
    ReadBackState,
    SendBatchInput,
    SendBatchResult,
    TargetAttempt,
    TargetSend,
)
from domain.publication.rules import bulk_calls, bulk_idempotency_key, idempotency_key
from wire.channels import PublicationRequest as ChannelPublicationRequest
from wire.common import Callback
from wire.common import PriceLine as WirePriceLine
from wire.erp import PromotionMasterRequest
from wire.pos import PriceBookRequest, PriceBookRetractRequest, PromotionPriceEntry

T = TypeVar("T")

PROGRESS_EVERY = 25
"""Heartbeat the answered targets every this many answers (and every 5 s)."""


def _wire_prices(request: PublicationRequest, *, promo: bool = True) -> list[WirePriceLine]:
    return [
        WirePriceLine(item_id=line.item_id, price=line.promo_price if promo else line.regular_price)
        for line in request.lines
    ]


def _same_prices(request: PublicationRequest, prices: list[WirePriceLine] | list[object]) -> bool:
    wanted = {line.item_id: line.promo_price for line in request.lines}
    seen: dict[str, Decimal] = {}
    for p in prices:
        item_id = getattr(p, "item_id", None)
        price = getattr(p, "price", None)
        if isinstance(item_id, str) and price is not None:
            seen[item_id] = Decimal(str(price))
    return seen == wanted


class ChannelActivities:
    """Channel publication activities bound to the backoffice adapters."""

    def __init__(
        self,
        backoffice_url: str,
        *,
        timeout_s: float = 10.0,
        max_connections: int = 100,
    ) -> None:
        self._http = new_http_client(
            backoffice_url, timeout_s=timeout_s, max_connections=max_connections
        )
        self.pos = PosClient(http=self._http)
        self.erp = ErpClient(http=self._http)
        self.ecommerce: ChannelClient = EcommerceClient(http=self._http)
        self.marketplace: ChannelClient = MarketplaceClient(http=self._http)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _digital(self, channel: Channel) -> ChannelClient:
        return self.ecommerce if channel is Channel.ECOMMERCE else self.marketplace

    # -- send ------------------------------------------------------------------------------

    @activity.defn(name=SEND_BATCH.name)
    async def send_batch(self, data: SendBatchInput) -> SendBatchResult:
        """Send one batch of targets to one channel; heartbeat the targets answered so far."""
        request = data.request
        previous = last_heartbeat(None)
        done: dict[str, TargetSend] = {}
        if isinstance(previous, dict):
            for raw in previous.get("sends", []):
                send = TargetSend.model_validate(raw)
                done[send.target] = send
        wanted = {s.target for s in data.sends}
        done = {t: s for t, s in done.items() if t in wanted}
        resumed = len(done)
        todo = [s for s in data.sends if s.target not in done]
        attempt = activity.info().attempt if activity.in_activity() else 1
        last_try = attempt >= data.give_up_on_attempt
        transient: list[str] = []
        limit = asyncio.Semaphore(data.concurrency)

        dumped = [s.model_dump(mode="json") for s in done.values()]
        async with heartbeating({"sends": list(dumped)}) as progress:

            async def one(item: TargetAttempt) -> None:
                key = idempotency_key(
                    request.promotion_id,
                    request.channel,
                    request.action,
                    request.version,
                    item.target,
                    attempt=item.attempt,
                )
                async with limit:
                    try:
                        send = await self._send_one(request, item.target, key, data)
                    except TransientError as err:
                        if not last_try:
                            transient.append(f"{item.target}: {err.message}")
                            return
                        send = TargetSend(
                            target=item.target,
                            idempotency_key=key,
                            sent=False,
                            error=f"{request.channel.value} unreachable after {attempt} "
                            f"attempts: {err.message}",
                        )
                    except BusinessRefusal as err:
                        send = TargetSend(
                            target=item.target,
                            idempotency_key=key,
                            sent=False,
                            error=f"{err.code}: {err.message}",
                        )
                done[item.target] = send
                dumped.append(send.model_dump(mode="json"))
                if len(dumped) % PROGRESS_EVERY == 0:
                    progress({"sends": list(dumped)})

            calls: list[list[TargetAttempt]] = []
            if _bulk(request):
                for call_ in bulk_calls(data.sends, request.targets_per_call):
                    left = [s for s in call_ if s.target not in done]
                    if len(left) == len(call_):
                        calls.append(call_)
                    else:  # a call split store by store on an earlier attempt stays split
                        calls += [[s] for s in left]
            else:
                calls = [[item] for item in todo]

            async def bulk(items: list[TargetAttempt]) -> None:
                key = bulk_idempotency_key(
                    request.promotion_id,
                    request.channel,
                    request.action,
                    request.version,
                    [s.target for s in items],
                    attempt=items[0].attempt,
                )
                async with limit:
                    try:
                        sends = await self._send_pos(request, [s.target for s in items], key)
                    except TransientError as err:
                        if not last_try:
                            transient.extend(f"{s.target}: {err.message}" for s in items)
                            return
                        # the call may have been applied: what the POS shows first
                        sends = await self._settled_by_read_back(
                            request, items, key, f"unreachable after {attempt} attempts: {err}"
                        )
                    except BusinessRefusal:
                        sends = []  # refused as a whole, nothing applied: store by store
                for send in sends:
                    done[send.target] = send
                    dumped.append(send.model_dump(mode="json"))
                progress({"sends": list(dumped)})
                answered = {send.target for send in sends}
                await asyncio.gather(*(one(s) for s in items if s.target not in answered))

            await asyncio.gather(
                *(bulk(call_) if len(call_) > 1 else one(call_[0]) for call_ in calls)
            )
            progress({"sends": list(dumped)})  # the resume point for a retried attempt

        if transient:
            raise ApplicationError(
                f"{len(transient)} of {len(data.sends)} {request.channel.value} targets could "
                f"not be reached (first: {transient[0]}); {len(done)} answered and kept for "
                "the next attempt",
                type=f"transient_{request.channel.value}",
            )
        return SendBatchResult.of(
            [done[s.target] for s in data.sends], grouped=data.grouped, resumed=resumed
        )

    async def _send_pos(
        self, request: PublicationRequest, targets: list[str], key: str
    ) -> list[TargetSend]:
        """One POS price book call for `targets` (publish, or retract/revert)."""
        if request.action is PublicationAction.PUBLISH:
            book = await self.pos.publish_prices(
                PriceBookRequest(
                    promotion_id=request.promotion_id,
                    store_ids=targets,
                    prices=_wire_prices(request),
                    start=request.starts_at,
                    end=request.ends_at,
                ),
                idempotency_key=key,
            )
            ok = book.status == "PUBLISHED"
        else:
            book = await self.pos.retract_prices(
                PriceBookRetractRequest(
                    promotion_id=request.promotion_id,
                    store_ids=targets,
                    reason=request.reason or request.action.value,
                ),
                idempotency_key=key,
            )
            ok = book.status == "RETRACTED"
        return [
            TargetSend(
                target=target,
                idempotency_key=key,
                sent=True,
                confirmed=ok,
                error="" if ok else f"POS answered {book.status}",
            )
            for target in targets
        ]

    async def _settled_by_read_back(
        self,
        request: PublicationRequest,
        items: list[TargetAttempt],
        key: str,
        failure: str,
    ) -> list[TargetSend]:
        """A bulk call still failing on the last attempt: the stores whose book shows it
        applied are answered (confirmed under the call's key); the others are left to be
        sent store by store. If the book cannot be read either, every store of the call is
        reported unreachable (never resent blind: the call may have gone through)."""
        try:
            entries = {e.store_id: e for e in await self.pos.promotion_prices(request.promotion_id)}
        except (TransientError, BusinessRefusal) as read_err:
            return [
                TargetSend(
                    target=s.target,
                    idempotency_key=key,
                    sent=False,
                    error=f"pos {failure}; read-back failed too: {read_err}",
                )
                for s in items
            ]
        return [
            TargetSend(target=s.target, idempotency_key=key, sent=True, confirmed=True)
            for s in items
            if _pos_applied(request, entries.get(s.target))
        ]

    async def _send_one(
        self, request: PublicationRequest, target: str, key: str, data: SendBatchInput
    ) -> TargetSend:
        channel, action = request.channel, request.action
        if channel is Channel.POS:
            [send] = await self._send_pos(request, [target], key)
            return send
        if channel is Channel.ERP:
            return await self._send_erp(request, key)
        client = self._digital(channel)
        if action is PublicationAction.PUBLISH:
            pub = await client.publish(
                ChannelPublicationRequest(
                    promotion_id=request.promotion_id,
                    prices=_wire_prices(request),
                    start=request.starts_at,
                    end=request.ends_at,
                    callback=Callback(
                        workflow_id=data.callback_workflow_id, signal=data.callback_signal
                    ),
                ),
                idempotency_key=key,
            )
            if pub.status == "REJECTED":
                return TargetSend(
                    target=target,
                    idempotency_key=key,
                    sent=False,
                    publication_id=pub.publication_id,
                    error=f"{channel.value} rejected the prices: {pub.reason or 'no reason'}",
                )
            return TargetSend(
                target=target,
                idempotency_key=key,
                sent=True,
                confirmed=pub.status == "LIVE" and _same_prices(request, pub.prices),
                publication_id=pub.publication_id,
                channel_version=pub.version,
            )
        try:
            pub = await client.retract(
                request.promotion_id, idempotency_key=key, reason=request.reason or action.value
            )
        except BusinessRefusal as err:
            if _missing(err):  # never published: nothing to take down
                return TargetSend(target=target, idempotency_key=key, sent=True, confirmed=True)
            raise
        return TargetSend(
            target=target,
            idempotency_key=key,
            sent=True,
            confirmed=pub.status == "RETRACTED",
            publication_id=pub.publication_id,
            error="" if pub.status == "RETRACTED" else f"{channel.value} answered {pub.status}",
        )

    async def _send_erp(self, request: PublicationRequest, key: str) -> TargetSend:
        pid = request.promotion_id
        try:
            master = await self.erp.get_promotion(pid)
        except BusinessRefusal as err:
            if not _missing(err):
                raise
            master = None
        if request.action is not PublicationAction.PUBLISH:
            if master is None or master.status != "ACTIVE":
                return TargetSend(target="*", idempotency_key=key, sent=True, confirmed=True)
            master = await self.erp.deactivate_promotion(
                pid, idempotency_key=key, reason=request.reason or request.action.value
            )
            ok = master.status != "ACTIVE"
            return TargetSend(target="*", idempotency_key=key, sent=True, confirmed=ok)
        if master is not None and master.status == "ACTIVE":
            if _same_prices(request, list(master.items)):
                return TargetSend(target="*", idempotency_key=key, sent=True, confirmed=True)
            await self.erp.deactivate_promotion(
                pid, idempotency_key=f"{key}:deactivate", reason="new price version"
            )
        stores = request.scope_store_ids or (list(master.store_ids) if master else [])
        if not stores:
            return TargetSend(
                target="*",
                idempotency_key=key,
                sent=False,
                error="ERP does not hold the promotion and the request names no "
                "scope_store_ids to create it with",
            )
        if master is None or not _same_prices(request, list(master.items)):
            await self.erp.create_promotion(
                PromotionMasterRequest(
                    promotion_id=pid,
                    name=request.name or pid,
                    offer_type=request.offer_type,
                    items=_wire_prices(request),
                    store_ids=stores,
                    start=request.starts_at,
                    end=request.ends_at,
                    deal_id=request.deal_id,
                    exclusive=request.exclusive,
                    priority=request.priority,
                ),
                idempotency_key=f"{key}:create",
            )
        master = await self.erp.activate_promotion(
            pid, idempotency_key=f"{key}:activate", reason=f"price version {request.version}"
        )
        return TargetSend(
            target="*", idempotency_key=key, sent=True, confirmed=master.status == "ACTIVE"
        )

    # -- read back -------------------------------------------------------------------------

    @activity.defn(name=READ_BACK.name)
    async def read_back(self, data: ReadBackInput) -> ReadBackResult:
        """What the channel shows for each target: is the action applied at this version?"""
        request = data.request
        publish = request.action is PublicationAction.PUBLISH
        try:
            if request.channel is Channel.POS:
                entries = {
                    e.store_id: e for e in await self.pos.promotion_prices(request.promotion_id)
                }
                states = []
                for target in data.targets:
                    entry = entries.get(target)
                    done = _pos_applied(request, entry)
                    detail: str = "no price book entry" if entry is None else entry.status
                    states.append(ReadBackState(target=target, done=done, detail=detail))
                return ReadBackResult(states=states)
            if request.channel is Channel.ERP:
                master = await _or_none(self.erp.get_promotion(request.promotion_id))
                if publish:
                    done = (
                        master is not None
                        and master.status == "ACTIVE"
                        and _same_prices(request, list(master.items))
                    )
                else:
                    done = master is None or master.status != "ACTIVE"
                detail = "not in ERP" if master is None else master.status
                return ReadBackResult(
                    states=[ReadBackState(target=t, done=done, detail=detail) for t in data.targets]
                )
            pub = await _or_none(self._digital(request.channel).read_back(request.promotion_id))
            if publish:
                done = (
                    pub is not None and pub.status == "LIVE" and _same_prices(request, pub.prices)
                )
            else:
                done = pub is None or pub.status == "RETRACTED"
            detail = "never published" if pub is None else f"{pub.status} v{pub.version}"
            refused = publish and pub is not None and pub.status == "REJECTED"
            if refused and pub is not None and pub.reason:
                detail = f"{detail}: {pub.reason}"
            return ReadBackResult(
                states=[
                    ReadBackState(target=t, done=done, detail=detail, refused=refused)
                    for t in data.targets
                ]
            )
        except TransientError as err:
            raise ApplicationError(err.message, type=f"transient_{request.channel.value}") from err
        except BusinessRefusal as err:
            raise ApplicationError(err.message, type=err.code, non_retryable=True) from err


def _bulk(request: PublicationRequest) -> bool:
    """POS configured to take many stores a call (a central price book)."""
    return request.channel is Channel.POS and request.targets_per_call > 1


def _pos_applied(request: PublicationRequest, entry: PromotionPriceEntry | None) -> bool:
    """The store's price book shows the action applied (publish: these prices live)."""
    if request.action is PublicationAction.PUBLISH:
        return (
            entry is not None
            and entry.status == "PUBLISHED"
            and _same_prices(request, list(entry.prices))
        )
    return entry is None or entry.status == "RETRACTED"


def _missing(err: BusinessRefusal) -> bool:
    """The system does not hold the thing at all (HTTP 404: ``unknown_promotion``...)."""
    return err.status == 404 or err.code == "not_found"


async def _or_none(call: Awaitable[T]) -> T | None:
    try:
        return await call
    except BusinessRefusal as err:
        if _missing(err):
            return None
        raise


__all__ = ["ChannelActivities"]
