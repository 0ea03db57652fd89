"""A small example workflow for the replay drill, in three versions of its code.

`OrderV1` reserves stock, waits for a `go` signal, then ships. The code change adds a
credit check before the reservation: `OrderV2Unpatched` simply inserts it (a different
command where recorded histories have `reserve`: replay fails with a non-determinism
error, for completed runs and for runs waiting for `go` alike),
`OrderV2Patched` puts it behind `workflow.patched(CREDIT_CHECK_PATCH)` (recorded and
running workflows keep the old path, new ones take the check). All three register under
the same workflow type, as one workflow's code before and after a deploy would.

Not a product workflow: it exists so the drill can change workflow code on purpose.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

EXAMPLE_TYPE = "DrillReplayOrder"
GO = "go"
STAGE = "stage"
CREDIT_CHECK_PATCH = "drill-credit-check"
TIMEOUT = timedelta(seconds=30)


@activity.defn(name="drill_reserve")
async def reserve(order_id: str) -> str:
    return f"reserved {order_id}"


@activity.defn(name="drill_check_credit")
async def check_credit(order_id: str) -> str:
    return f"credit ok for {order_id}"


@activity.defn(name="drill_ship")
async def ship(order_id: str) -> str:
    return f"shipped {order_id}"


ACTIVITIES = [reserve, check_credit, ship]


class _Order:
    """What every version shares: the `go` signal and the `stage` query."""

    def __init__(self) -> None:
        self._go = False
        self._stage = "started"

    @workflow.signal(name=GO)
    def go(self) -> None:
        self._go = True

    @workflow.query(name=STAGE)
    def stage(self) -> str:
        return self._stage

    async def _step(self, fn: object, order_id: str, steps: list[str]) -> None:
        steps.append(
            await workflow.execute_activity(fn, order_id, start_to_close_timeout=TIMEOUT)  # type: ignore[call-overload]
        )

    async def _wait_and_ship(self, order_id: str, steps: list[str]) -> list[str]:
        self._stage = "waiting for go"
        await workflow.wait_condition(lambda: self._go)
        await self._step(ship, order_id, steps)
        self._stage = "shipped"
        return steps


@workflow.defn(name=EXAMPLE_TYPE)
class OrderV1(_Order):
    @workflow.run
    async def run(self, order_id: str) -> list[str]:
        steps: list[str] = []
        await self._step(reserve, order_id, steps)
        return await self._wait_and_ship(order_id, steps)


@workflow.defn(name=EXAMPLE_TYPE)
class OrderV2Unpatched(_Order):
    @workflow.run
    async def run(self, order_id: str) -> list[str]:
        steps: list[str] = []
        await self._step(check_credit, order_id, steps)  # the change, unguarded
        await self._step(reserve, order_id, steps)
        return await self._wait_and_ship(order_id, steps)


@workflow.defn(name=EXAMPLE_TYPE)
class OrderV2Patched(_Order):
    @workflow.run
    async def run(self, order_id: str) -> list[str]:
        steps: list[str] = []
        if workflow.patched(CREDIT_CHECK_PATCH):  # the change, behind a patch
            await self._step(check_credit, order_id, steps)
        await self._step(reserve, order_id, steps)
        return await self._wait_and_ship(order_id, steps)
