"""Task priority on the shared task queue: refunds and go-live work before rebalancing
(`domain.activity_options`, "Priority"; each contract's `PRIORITY`).

A real dev server and the worker's own registry with one activity slot: a backlog of
rebalancing reads is queued first (the first one holds the slot), then a return starts;
when the slot frees, the refund's order lookup is dispatched ahead of the whole backlog.
The control run gives the lookup the rebalancing key: then it waits its turn (FIFO).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities import activity_name
from common.config import Settings
from common.search_attributes import ALL_KEYS
from common.temporal import data_converter
from devstack.processes import installed_binary
from domain import activity_options
from domain.promotion import contract as promotion
from domain.publication import contract as publication
from domain.rebalance import contract as rebalance
from domain.rebalance.contract import READ_ESTATE, EstateQuery, workflow_id
from domain.rebalance.estate import Estate
from domain.returns import contract as returns
from domain.returns.contract import LOOKUP_ORDER, OrderFound, OrderLookup
from domain.returns.status import ReturnState
from domain.sellthrough import contract as sellthrough
from fakes.rebalance import FakeInventory
from fakes.returns import ScriptedReturnSystems
from tests.fixtures.rebalance import rebalance_request
from tests.fixtures.returns import return_request, start_return, wait_for_state
from tests.fixtures.temporal import suite_codec
from worker import build_worker
from workflows.inventory_rebalance import InventoryRebalance

BACKLOG = 4
"""Rebalancing reads queued behind the one holding the slot."""

ONE_PARTITION = [
    "--dynamic-config-value",
    "matching.numTaskqueueReadPartitions=1",
    "--dynamic-config-value",
    "matching.numTaskqueueWritePartitions=1",
]
"""Priority orders a partition's backlog; the dev server splits a queue into 4 partitions
by default, so the order across them is only close to priority order (a lower key can
still go first from another partition). One partition: the order the test asserts."""


@pytest.fixture(scope="module")
async def one_partition_env(codec_keys: str) -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=list(ALL_KEYS),
        data_converter=data_converter(suite_codec()),
        dev_server_extra_args=ONE_PARTITION,
    )
    try:
        yield environment
    finally:
        await environment.shutdown()


def test_the_policy_puts_refunds_and_go_live_first_and_rebalancing_last() -> None:
    keys = {
        module.__name__.split(".")[1]: {spec.priority for spec in activity_options.specs_of(module)}
        for module in (returns, publication, promotion, sellthrough, rebalance)
    }
    assert keys == {
        "returns": {1},
        "publication": {1},
        "promotion": {2},
        "sellthrough": {3},
        "rebalance": {5},
    }
    assert returns.REFUND_TENDER.task_priority.priority_key == 1


def test_a_priority_outside_the_servers_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="priority 9 is not a key from 1"):
        LOOKUP_ORDER.with_options(priority=9)


@dataclass
class GatedInventory(FakeInventory):
    """The scripted WMS whose first estate read holds the worker's only activity slot
    until the test opens the gate; every read and lookup is noted in `started`."""

    started: list[str] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    holding: asyncio.Event = field(default_factory=asyncio.Event)

    @activity.defn(name=READ_ESTATE.name)
    async def read_estate(self, query: EstateQuery) -> Estate:
        self.started.append(f"rebalance {query.plan_id}")
        self.holding.set()
        await self.gate.wait()
        return self.estate_factory(query.planned_at)

    def lookup(self, systems: ScriptedReturnSystems) -> Callable[..., Any]:
        started = self.started

        @activity.defn(name=LOOKUP_ORDER.name)
        async def lookup_order(lookup: OrderLookup) -> OrderFound:
            started.append(f"refund {lookup.rma_id}")
            return OrderFound(order=systems.order(lookup.order_id, lookup.channel))

        return lookup_order


async def scheduled(handle: WorkflowHandle[Any, Any], activity_type: str) -> None:
    """Until the run has `activity_type` queued on the task queue (not yet started)."""
    async with asyncio.timeout(30):
        while True:
            pending = (await handle.describe()).raw_description.pending_activities
            if any(
                p.activity_type.name == activity_type
                and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
                for p in pending
            ):
                return
            await asyncio.sleep(0.05)  # polling the server's view, not waiting out a race


@pytest.mark.parametrize("lookup_key", ["contract", "rebalancing"])
async def test_a_refund_is_dispatched_ahead_of_a_queued_rebalancing_backlog(
    one_partition_env: WorkflowEnvironment,
    task_queue: str,
    monkeypatch: pytest.MonkeyPatch,
    lookup_key: str,
) -> None:
    if lookup_key == "rebalancing":  # control: the same key as the backlog, so FIFO
        monkeypatch.setattr(
            returns, "LOOKUP_ORDER", LOOKUP_ORDER.with_options(priority=rebalance.PRIORITY)
        )
    client = one_partition_env.client
    inventory, systems = GatedInventory(), ScriptedReturnSystems()
    fakes = [
        *inventory.activities(),
        *(fn for fn in systems.activities() if activity_name(fn) != LOOKUP_ORDER.name),
        inventory.lookup(systems),
    ]
    worker = build_worker(
        client,
        replace(Settings(), task_queue=task_queue),
        fakes=fakes,
        max_concurrent_activities=1,
        disable_eager_activity_execution=True,
    )
    handles: list[WorkflowHandle[Any, Any]] = []
    async with worker:
        requests = [rebalance_request() for _ in range(BACKLOG + 1)]
        for n, request in enumerate(requests):
            handle = await client.start_workflow(
                InventoryRebalance.run,
                request,
                id=workflow_id(request.plan_id),
                task_queue=task_queue,
            )
            handles.append(handle)
            if n == 0:  # the first read holds the only slot
                await asyncio.wait_for(inventory.holding.wait(), 30)
            else:
                await scheduled(handle, READ_ESTATE.name)
        refund = await start_return(client, task_queue, return_request())
        handles.append(refund)
        await scheduled(refund, LOOKUP_ORDER.name)

        inventory.gate.set()
        await wait_for_state(refund, ReturnState.AWAITING_ITEM)
        async with asyncio.timeout(30):
            while len(inventory.started) < BACKLOG + 2:
                await asyncio.sleep(0.05)
        for handle in handles:
            await handle.terminate("test over")

    first, *rest = inventory.started
    assert first == f"rebalance {requests[0].plan_id}"
    queued = [f"rebalance {r.plan_id}" for r in requests[1:]]
    refund_line = next(line for line in rest if line.startswith("refund "))
    if lookup_key == "contract":
        assert rest[0] == refund_line, inventory.started  # ahead of the whole backlog
        assert rest[1:] == queued  # the backlog in its own order
    else:
        assert rest == [*queued, refund_line], inventory.started


async def test_the_cli_starts_a_return_with_the_refund_key(
    local_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    """Workflow tasks too: a return started by the CLI carries key 1 (activities inherit it
    where a spec did not set one; every spec does)."""
    from cli.returns import open_return

    request = return_request()
    path = tmp_path / "return.json"
    path.write_text(request.model_dump_json())
    settings = replace(Settings(), task_queue=task_queue)
    workflow_id = await open_return(settings, path, client=local_env.client)
    handle = local_env.client.get_workflow_handle(workflow_id)
    info = (await handle.describe()).raw_description.workflow_execution_info
    assert info.priority.priority_key == returns.PRIORITY == 1
    await handle.terminate("test over")
