"""Customers returning items during the week: TPC-DS store returns run as ReturnToRefund.

Each return comes in at a seeded hour of the week: the workflow is started as `return
open` starts it, the store scans the item, an inspector grades it (damaged and defective
reasons are graded so, the rest like new or opened by the seed), and a pending approval
is decided (signed) by the first approver the return policy names for the role asked.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from cli import returns as returns_cli
from cli.common import CommandError, load_model, start_with_business_key
from common.config import Settings
from domain.identity import DecisionSigner
from domain.returns.contract import (
    Decision,
    InspectionResult,
    ItemReceived,
    ReturnInput,
    workflow_id,
)
from domain.returns.disposition import Condition
from domain.returns.policy import ReturnPolicy
from domain.returns.request import ReturnRequest
from domain.returns.status import TERMINAL_STATES, ReturnState, ReturnStatus
from sim.clock import WeekClock
from sim.world import unit
from workflows.return_to_refund import ReturnToRefund


def load_policy() -> ReturnPolicy:
    return load_model(returns_cli.DEFAULT_POLICY, ReturnPolicy)


def request_of(entry: dict[str, Any]) -> ReturnRequest:
    return ReturnRequest.model_validate(
        {
            "rma_id": entry["rma_id"],
            "order_id": entry["order_id"],
            "channel": "store",
            "store_id": entry["store_id"],
            "reason": entry["reason"],
            "has_receipt": True,
            "customer": {
                "customer_id": entry["customer_id"],
                "name": entry["customer_name"],
                "email": entry["email"],
            },
            "lines": [{"sku": entry["item_id"], "quantity": entry["quantity"]}],
        }
    )


@dataclass
class Returns:
    settings: Settings
    client: Client
    clock: WeekClock
    entries: list[dict[str, Any]]
    signer: DecisionSigner
    seed: int
    hours: int = 168
    policy: ReturnPolicy = field(default_factory=load_policy)
    started: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [asyncio.create_task(self._one(e, stop)) for e in self.entries]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, entry: dict[str, Any], stop: asyncio.Event) -> None:
        hour = 1 + unit(self.seed, "return-hour", entry["rma_id"]) * max(self.hours - 6, 1)
        await self.clock.sleep_until_hour(hour)
        request = request_of(entry)
        try:
            handle = await start_with_business_key(
                self.client,
                ReturnToRefund.run,
                ReturnInput(request=request, policy=self.policy),
                id=workflow_id(request.rma_id),
                task_queue=self.settings.task_queue,
                what=f"return {request.rma_id}",
                new_key="a new RMA id",
                static_summary=f"Return {request.rma_id} of order {request.order_id}",
            )
        except CommandError as err:
            self.problems.append(f"{request.rma_id}: {err}")
            return
        self.started.append(request.rma_id)
        with contextlib.suppress(RPCError):
            await handle.signal(
                ReturnToRefund.item_received, ItemReceived(receipt_id=f"SCAN-{request.rma_id}")
            )
            await handle.signal(
                ReturnToRefund.inspection_result,
                InspectionResult(inspector="ines", condition=self._condition(entry)),
            )
        while not stop.is_set():
            try:
                status: ReturnStatus = await handle.query(ReturnToRefund.status)
            except RPCError:
                await asyncio.sleep(1)
                continue
            if status.state in TERMINAL_STATES:
                return
            if status.state is ReturnState.AWAITING_APPROVAL and status.awaiting_role:
                role = status.awaiting_role[0]
                person = (self.policy.approvers.get(role) or ["sam"])[0]
                try:
                    await returns_cli.decide(
                        self.settings,
                        request.rma_id,
                        ReturnToRefund.approve,
                        Decision(approver=person, role=role, note="receipt and item check out"),
                        client=self.client,
                        signer=self.signer,
                    )
                except CommandError as err:
                    self.problems.append(f"{request.rma_id}: {err}")
            await asyncio.sleep(1)

    def _condition(self, entry: dict[str, Any]) -> Condition:
        if entry["reason"] == "damaged":
            return Condition.DAMAGED
        if entry["reason"] == "defective":
            return Condition.DEFECTIVE
        u = unit(self.seed, "condition", entry["rma_id"])
        return Condition.LIKE_NEW if u < 0.6 else Condition.OPENED
