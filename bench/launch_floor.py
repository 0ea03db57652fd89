"""The floor a launch is measured against (`bench/launch.py`): the same bulk calls to the
same systems, made (a) by a plain asyncio script and (b) by a bare workflow.

Both make, after approval, what the product's launch makes: the stock of every store
(one WMS read of up to 500 stores, side by side), the store tasks (signage and labor side
by side, up to 500 tasks a bulk call), then every channel at once: the POS price book (up
to 500 stores a call, 16 calls in flight at most), the ERP promotion master (look up,
create, activate) and e-commerce and marketplace (the prices sent, then their asynchronous
confirmation: the script reads the channel back every 20 ms, the bare workflow receives the
`channel_ack` signals the backoffice sends it). Neither has the product's logic: no
approvals, gates, policy, audit, status, batch children, read-back or republish.

Also here: what a launch's histories hold (events, the largest payload, the most
activities and children pending at once in one workflow).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

with workflow.unsafe.imports_passed_through():
    from adapters.base import new_http_client
    from adapters.channels import ChannelClient, EcommerceClient, MarketplaceClient
    from adapters.erp import ErpClient
    from adapters.errors import BusinessRefusal
    from adapters.pos import PosClient
    from adapters.tasks import TasksClient
    from adapters.wms import WmsClient
    from domain.publication.contract import CHANNEL_ACK, MAX_TARGETS_PER_CALL, ChannelAck
    from wire.channels import PublicationRequest
    from wire.common import Callback, PriceLine
    from wire.erp import PromotionMasterRequest
    from wire.pos import PriceBookRequest
    from wire.tasks import MAX_BULK_TASKS, BulkTaskRequest, TaskRequest

T = TypeVar("T")
READS_PER_CALL = 500
"""Stores per WMS stock read (the launch's coverage batch)."""
CALLS_IN_FLIGHT = 16
"""Calls in flight at most per kind of call (the launch's send concurrency)."""
POLL_S = 0.02
TIMEOUT = timedelta(minutes=5)


class FloorLaunch(BaseModel):
    """One launch's facts, as both baselines need them (prices already computed)."""

    promotion_id: str
    stores: list[str]
    prices: list[tuple[str, Decimal]]
    """(item, promotional price) per item."""
    starts_at: datetime
    ends_at: datetime
    tasks: list[tuple[str, str, timedelta]]
    """(kind, title, due before the start) per task template."""
    digital: list[str]
    """The channels confirmed asynchronously (e-commerce, marketplace) in the plan."""
    erp: bool


def chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def bounded(calls: list[Callable[[], Awaitable[T]]], limit: int = CALLS_IN_FLIGHT) -> list[T]:
    window = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with window:
            return await call()

    return list(await asyncio.gather(*(one(c) for c in calls)))


class Systems:
    """The reference systems' adapters on one HTTP client, and the calls of a launch."""

    def __init__(self, url: str) -> None:
        self.http = new_http_client(url, timeout_s=60.0, max_connections=100)
        self.pos = PosClient(http=self.http)
        self.erp = ErpClient(http=self.http)
        self.wms = WmsClient(http=self.http)
        self.tasks = TasksClient(http=self.http)
        self.ecommerce = EcommerceClient(http=self.http)
        self.marketplace = MarketplaceClient(http=self.http)

    async def aclose(self) -> None:
        await self.http.aclose()

    def channel(self, name: str) -> ChannelClient:
        return self.ecommerce if name == "ecommerce" else self.marketplace

    # -- the calls ------------------------------------------------------------------------

    async def read_stock(self, launch: FloorLaunch, stores: list[str]) -> int:
        items = [item for item, _ in launch.prices]
        positions = await self.wms.positions(location_ids=stores, item_ids=items)
        stocked = {p.location_id for p in positions if p.on_hand > 0}
        return sum(1 for s in stores if s in stocked)

    async def create_tasks(self, launch: FloorLaunch, template: int, stores: list[str]) -> int:
        kind, title, before = launch.tasks[template]
        due = launch.starts_at - before
        body = BulkTaskRequest(
            tasks=[
                TaskRequest(
                    task_id=f"{launch.promotion_id}-{s}-{kind}",
                    store_id=s,
                    kind=kind,
                    title=title,
                    due_at=due,
                    promotion_id=launch.promotion_id,
                )
                for s in stores
            ]
        )
        key = f"floor:{launch.promotion_id}:{kind}:{stores[0]}:{len(stores)}"
        result = await self.tasks.create_many(body, idempotency_key=key)
        return len(result.tasks)

    def _prices(self, launch: FloorLaunch) -> list[PriceLine]:
        return [PriceLine(item_id=item, price=price) for item, price in launch.prices]

    async def publish_pos(self, launch: FloorLaunch, stores: list[str]) -> int:
        book = await self.pos.publish_prices(
            PriceBookRequest(
                promotion_id=launch.promotion_id,
                store_ids=stores,
                prices=self._prices(launch),
                start=launch.starts_at,
                end=launch.ends_at,
            ),
            idempotency_key=f"floor:{launch.promotion_id}:pos:{stores[0]}:{len(stores)}",
        )
        return len(book.store_ids) if book.status == "PUBLISHED" else 0

    async def publish_erp(self, launch: FloorLaunch) -> bool:
        pid = launch.promotion_id
        try:
            await self.erp.get_promotion(pid)
        except BusinessRefusal as err:
            if err.status != 404:
                raise
        await self.erp.create_promotion(
            PromotionMasterRequest(
                promotion_id=pid,
                name=pid,
                items=self._prices(launch),
                store_ids=launch.stores,
                start=launch.starts_at,
                end=launch.ends_at,
            ),
            idempotency_key=f"floor:{pid}:erp:create",
        )
        master = await self.erp.activate_promotion(pid, idempotency_key=f"floor:{pid}:erp:on")
        return master.status == "ACTIVE"

    async def publish_digital(
        self, launch: FloorLaunch, channel: str, callback: Callback | None
    ) -> str:
        pub = await self.channel(channel).publish(
            PublicationRequest(
                promotion_id=launch.promotion_id,
                prices=self._prices(launch),
                start=launch.starts_at,
                end=launch.ends_at,
                callback=callback,
            ),
            idempotency_key=f"floor:{launch.promotion_id}:{channel}",
        )
        return pub.publication_id

    async def until_live(self, launch: FloorLaunch, channel: str) -> bool:
        while True:
            pub = await self.channel(channel).read_back(launch.promotion_id)
            if pub.status != "PENDING":
                return pub.status == "LIVE"
            await asyncio.sleep(POLL_S)


# -- (a) the plain asyncio script -----------------------------------------------------------


async def plain_launch(systems: Systems, launch: FloorLaunch) -> dict[str, Any]:
    """The launch's calls with no Temporal: stock, tasks, then every channel at once."""
    stores = launch.stores
    t0 = time.perf_counter()
    stock_calls: list[Callable[[], Awaitable[int]]] = [
        functools.partial(systems.read_stock, launch, b) for b in chunks(stores, READS_PER_CALL)
    ]
    ready = sum(await bounded(stock_calls, limit=len(stock_calls)))
    t_stock = time.perf_counter()
    task_calls: list[Callable[[], Awaitable[int]]] = [
        functools.partial(systems.create_tasks, launch, t, b)
        for t in range(len(launch.tasks))
        for b in chunks(stores, MAX_BULK_TASKS)
    ]
    tasks = sum(await bounded(task_calls))
    t_tasks = time.perf_counter()

    async def digital(channel: str) -> bool:
        await systems.publish_digital(launch, channel, None)
        return await systems.until_live(launch, channel)

    pos_calls: list[Callable[[], Awaitable[int]]] = [
        functools.partial(systems.publish_pos, launch, b)
        for b in chunks(stores, MAX_TARGETS_PER_CALL)
    ]
    pos, erp, live = await asyncio.gather(
        bounded(pos_calls),
        systems.publish_erp(launch) if launch.erp else _true(),
        asyncio.gather(*(digital(ch) for ch in launch.digital)),
    )
    t_end = time.perf_counter()
    phases = f"stock +{t_stock - t0:.2f}s, tasks +{t_tasks - t0:.2f}s, published +{t_end - t0:.2f}s"
    return {
        "stocked": ready,
        "tasks": tasks,
        "pos": sum(pos),
        "erp": erp,
        "live": sum(live),
        "phases": phases,
    }


async def _true() -> bool:
    return True


# -- (b) the bare workflow ------------------------------------------------------------------


class FloorActivities:
    """The bare workflow's activities: one launch call each."""

    def __init__(self, systems: Systems) -> None:
        self.systems = systems

    def all(self) -> list[Callable[..., Any]]:
        return [self.floor_stock, self.floor_tasks, self.floor_pos, self.floor_erp, self.floor_send]

    @activity.defn
    async def floor_stock(self, launch: FloorLaunch, stores: list[str]) -> int:
        return await self.systems.read_stock(launch, stores)

    @activity.defn
    async def floor_tasks(self, launch: FloorLaunch, template: int, stores: list[str]) -> int:
        return await self.systems.create_tasks(launch, template, stores)

    @activity.defn
    async def floor_pos(self, launch: FloorLaunch, stores: list[str]) -> int:
        return await self.systems.publish_pos(launch, stores)

    @activity.defn
    async def floor_erp(self, launch: FloorLaunch) -> bool:
        return await self.systems.publish_erp(launch)

    @activity.defn
    async def floor_send(self, launch: FloorLaunch, channel: str, workflow_id: str) -> str:
        callback = Callback(workflow_id=workflow_id, signal=CHANNEL_ACK)
        return await self.systems.publish_digital(launch, channel, callback)


@workflow.defn
class FloorWorkflow:
    """The bare workflow: the same calls, as activities, and the confirmations as signals."""

    def __init__(self) -> None:
        self.acks: set[str] = set()

    @workflow.signal(name=CHANNEL_ACK)
    def channel_ack(self, ack: ChannelAck) -> None:
        if ack.status == "confirmed" and ack.publication_id:
            self.acks.add(ack.publication_id)

    @workflow.run
    async def run(self, launch: FloorLaunch) -> dict[str, Any]:
        def act(fn: Any, *args: Any) -> Awaitable[Any]:
            return workflow.execute_activity(fn, args=list(args), start_to_close_timeout=TIMEOUT)

        stores = launch.stores
        t0 = workflow.time()
        stocked = await asyncio.gather(
            *(act(FloorActivities.floor_stock, launch, b) for b in chunks(stores, READS_PER_CALL))
        )
        t_stock = workflow.time()
        tasks = await asyncio.gather(
            *(
                act(FloorActivities.floor_tasks, launch, t, b)
                for t in range(len(launch.tasks))
                for b in chunks(stores, MAX_BULK_TASKS)
            )
        )
        t_tasks = workflow.time()
        me = workflow.info().workflow_id
        pos, erp, sent = await asyncio.gather(
            asyncio.gather(
                *(
                    act(FloorActivities.floor_pos, launch, b)
                    for b in chunks(stores, MAX_TARGETS_PER_CALL)
                )
            ),
            act(FloorActivities.floor_erp, launch) if launch.erp else _true(),
            asyncio.gather(
                *(act(FloorActivities.floor_send, launch, ch, me) for ch in launch.digital)
            ),
        )
        await workflow.wait_condition(lambda: set(sent) <= self.acks, timeout=TIMEOUT)
        return {
            "stocked": sum(stocked),
            "tasks": sum(tasks),
            "pos": sum(pos),
            "erp": int(bool(erp)),
            "live": len(sent),
            "phases": f"stock +{t_stock - t0:.2f}s, tasks +{t_tasks - t0:.2f}s, "
            f"published +{workflow.time() - t0:.2f}s",
        }


# -- what the histories hold ----------------------------------------------------------------


def _payload_sizes(message: Any) -> list[int]:
    """Sizes of every Payloads (or lone Payload) inside a protobuf message."""
    if isinstance(message, Payloads):
        return [sum(p.ByteSize() for p in message.payloads)]
    if isinstance(message, Payload):
        return [message.ByteSize()]
    sizes: list[int] = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if hasattr(value, "ListFields"):
            sizes += _payload_sizes(value)
        elif field.message_type.GetOptions().map_entry:
            sizes += [
                s for v in value.values() if hasattr(v, "ListFields") for s in _payload_sizes(v)
            ]
        else:
            sizes += [s for v in value for s in _payload_sizes(v)]
    return sizes


ACTIVITY_OPEN = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
ACTIVITY_CLOSED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
}
CHILD_OPEN = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
CHILD_CLOSED = {
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
}


async def history_stats(client: Client, workflow_id: str) -> dict[str, Any]:
    """Over a workflow and the workflows named after it (its children): the workflows, the
    longest history (events), the largest payload (bytes) and the most activities and
    children pending at once in one workflow."""
    ids = [workflow_id]
    async for execution in client.list_workflows(f"WorkflowId STARTS_WITH '{workflow_id}-'"):
        ids.append(execution.id)
    out: dict[str, Any] = {
        "workflows": len(ids),
        "events": 0,
        "payload": 0,
        "payload_in": "-",
        "activities": 0,
        "children": 0,
    }
    for wid in ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        out["events"] = max(out["events"], len(history.events))
        activities = children = 0
        for event in history.events:
            biggest = max(_payload_sizes(event), default=0)
            if biggest > out["payload"]:
                out["payload"] = biggest
                where = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
                out["payload_in"] = f"{wid.rsplit('-', 1)[-1]} {where}"
            if event.event_type == ACTIVITY_OPEN:
                activities += 1
            elif event.event_type in ACTIVITY_CLOSED:
                activities -= 1
            elif event.event_type == CHILD_OPEN:
                children += 1
            elif event.event_type in CHILD_CLOSED:
                children -= 1
            out["activities"] = max(out["activities"], activities)
            out["children"] = max(out["children"], children)
    return out


__all__ = [
    "FloorActivities",
    "FloorLaunch",
    "FloorWorkflow",
    "Systems",
    "history_stats",
    "plain_launch",
]


async def timeline(client: Client, workflow_id: str, since: datetime) -> list[str]:
    """Per workflow of a launch, when (seconds after `since`) it started, its activities
    were scheduled, started and closed, and it closed: where the wall time goes."""
    ids = [workflow_id]
    async for execution in client.list_workflows(f"WorkflowId STARTS_WITH '{workflow_id}-'"):
        ids.append(execution.id)
    lines = []
    for wid in ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        marks: list[str] = []
        for event in history.events:
            at = (event.event_time.ToDatetime(tzinfo=since.tzinfo) - since).total_seconds()
            if at < -0.001:
                continue
            name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
            if "workflow_task" in name or "marker" in name or "upsert" in name:
                continue
            marks.append(f"{name} {at:+.2f}")
        lines.append(
            f"{wid.rsplit('-pub-', 1)[-1] if '-pub-' in wid else wid}: " + ", ".join(marks)
        )
    return lines
