"""The flows the process drills put through their faults: a rebalance plan, a return over a
split tender and a launch to go-live, each started the way an operator starts it (the
CLI's own functions, on files in the drill's folder), and what exactly-once means for each
in the backoffice ledger."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio.client import WorkflowHandle

from adapters import Backoffice
from adapters.control import ControlClient
from adapters.errors import BusinessRefusal
from cli import promotion as promo
from cli import rebalance as rebalance_cli
from cli import returns as returns_cli
from domain.promotion.status import PromotionState
from domain.rebalance.contract import DemandOverride, RebalanceRequest, RebalanceScope
from domain.rebalance.policy import ApprovalPolicy, RebalancePolicy
from domain.rebalance.status import CLOSED_STATES, RebalanceState, RebalanceStatus
from domain.returns.contract import InspectionResult, ItemReceived
from domain.returns.disposition import Condition
from domain.returns.policy import DEFAULT_POLICY, Role
from domain.returns.refund import TenderAllocation, allocate_refund
from domain.returns.request import Channel, ReturnRequest, Tender, TenderType
from domain.returns.status import TERMINAL_STATES, ReturnState, ReturnStatus
from drills.invariants import (
    Count,
    Each,
    Verdict,
    count_each,
    count_effects,
    launch_effects,
    prices_reverted,
    runs_closed,
)
from drills.launch_drills import cancel_launch, drill_plan, drill_policy, wait_for
from drills.stack import REPO, DrillStack, until
from fakes.identity import INBOX
from wire.fraud import FraudRequest
from workflows.inventory_rebalance import InventoryRebalance
from workflows.return_to_refund import ReturnToRefund

PERIODIC = REPO / "examples" / "rebalance" / "periodic.json"
REBALANCE_ITEMS = ["I0001", "I0003"]
REBALANCE_DEMAND = 150
"""Units of demand per store and item: more than a store holds, so each pair gets a move."""
WAIT_S = 240.0


async def ledger_count(stack: DrillStack, **filters: Any) -> int:
    async with ControlClient(stack.backoffice.url) as control:
        return (await control.ledger(limit=0, **filters)).count


# --------------------------------------------------------------------------- rebalance


@dataclass
class RebalanceCase:
    request: RebalanceRequest
    handle: WorkflowHandle[Any, Any]

    @property
    def plan_id(self) -> str:
        return self.request.plan_id

    @property
    def transfer_prefix(self) -> str:
        return f"{self.plan_id}-T"


async def unused_east_stores(stack: DrillStack, count: int) -> list[str]:
    """Stores served by DC-EAST that no drill on this stack has planned for yet."""
    async with Backoffice(stack.backoffice.url) as bo:
        stores = await bo.erp.list_stores(region="east")
    free = [s.store_id for s in stores if s.store_id not in stack.taken]
    if len(free) < count:
        raise RuntimeError(f"only {len(free)} unused east stores left on this stack")
    chosen = free[:count]
    stack.taken.update(chosen)
    return chosen


async def start_rebalance(stack: DrillStack, stores: int = 6) -> RebalanceCase:
    """`rebalance plan` on a file: the example's approvers, thresholds no plan reaches (it
    releases without a decision), demand no store covers, WMS progress by itself."""
    example = json.loads(PERIODIC.read_text())
    approval = ApprovalPolicy.model_validate(example["policy"]["approval"]).model_copy(
        update={"cost_threshold": Decimal("1000000"), "units_threshold": 1_000_000}
    )
    chosen = await unused_east_stores(stack, stores)
    request = RebalanceRequest(
        plan_id=f"DRILL-{uuid.uuid4().hex[:8]}",
        reason="manual",
        scope=RebalanceScope(stores=chosen, items=REBALANCE_ITEMS),
        need_by=datetime.now(UTC) + timedelta(days=3),
        policy=RebalancePolicy(approval=approval, trust=INBOX.trust()),
        demand_override=[
            DemandOverride(store_id=s, item_id=i, units=REBALANCE_DEMAND)
            for s in chosen
            for i in REBALANCE_ITEMS
        ],
        wms_progress="auto",
        requested_by="drill",
    )
    path = stack.workdir / f"{request.plan_id}.json"
    path.write_text(request.model_dump_json())
    wf_id = await rebalance_cli.plan_command(stack.settings(), path, client=stack.env.client)
    handle = stack.env.client.get_workflow_handle_for(InventoryRebalance.run, wf_id)
    return RebalanceCase(request, handle)


async def rebalance_status(case: RebalanceCase) -> RebalanceStatus:
    status: RebalanceStatus = await case.handle.query(InventoryRebalance.status)
    return status


async def wait_rebalance(
    case: RebalanceCase, *states: RebalanceState, timeout_s: float = WAIT_S
) -> RebalanceStatus:
    found: list[RebalanceStatus] = []

    async def reached() -> bool:
        status = await rebalance_status(case)
        if status.state in states or status.state in CLOSED_STATES:
            found.append(status)
            return True
        return False

    await until(reached, f"{case.plan_id} {'/'.join(states)}", timeout_s)
    return found[-1]


async def check_rebalance(stack: DrillStack, case: RebalanceCase, verdict: Verdict) -> None:
    """Completed, every planned transfer created, released, shipped and received once, no
    claim, and the units received those planned."""
    try:
        status = await wait_rebalance(case, *CLOSED_STATES)
    except TimeoutError as err:
        verdict.problems.append(str(err))
        status = await rebalance_status(case)
    if status.state is not RebalanceState.COMPLETED:
        verdict.problems.append(f"{case.plan_id} ended {status.state.value}: {status.reason}")
    planned = status.plan.moves if status.plan else []
    if not planned or len(planned) != len(status.transfers):
        verdict.problems.append(
            f"{case.plan_id}: {len(planned)} move(s) planned, {len(status.transfers)} transfer(s)"
        )
    ids = {t.transfer_id for t in status.transfers}
    eaches = [
        Each(
            f"transfer {step}",
            "wms",
            f"{subject}:{case.transfer_prefix}",
            {f"{subject}:{t}" for t in ids},
        )
        for step, subject in (
            ("created", "transfer"),
            ("released", "transfer_release"),
            ("shipped", "transfer_ship"),
            ("received", "transfer_receive"),
        )
    ]
    await count_each(stack.backoffice.url, eaches, verdict)
    await count_effects(
        stack.backoffice.url,
        [
            Count(
                "transfer claims",
                "erp",
                "claim_transfer",
                0,
                subject_prefix=f"transfer_claim:{case.transfer_prefix}",
            )
        ],
        verdict,
    )
    await runs_closed(stack.env.client, case.plan_id, verdict)
    received = sum(t.units_received or 0 for t in status.transfers)
    if received != sum(t.units_planned for t in status.transfers):
        verdict.problems.append(f"{case.plan_id}: {received} units received of those planned")


# --------------------------------------------------------------------------- returns

RETURN_POLICY = DEFAULT_POLICY.model_copy(
    update={
        "approvers": {Role.STORE_SUPERVISOR: ["sam"], Role.LOSS_PREVENTION: ["lee"]},
        "trust": INBOX.trust(),
    }
)


@dataclass
class ReturnCase:
    request: ReturnRequest
    allocations: list[TenderAllocation]
    """How the domain splits the refund over the order's tenders (one POS refund each)."""
    handle: WorkflowHandle[Any, Any] | None = None

    @property
    def rma_id(self) -> str:
        return self.request.rma_id

    @property
    def tender_types(self) -> list[TenderType]:
        return [a.method for a in self.allocations]


def order_allocations(
    order: Any, lines: list[tuple[str, int]], rma_id: str
) -> list[TenderAllocation]:
    """How a store return of `lines` from a seeded `order` (with its receipt) is refunded
    over the order's tenders."""
    prices = {line.item_id: line.unit_price for line in order.lines}
    net = sum((prices[s] * q for s, q in lines), Decimal("0"))
    tenders = [
        Tender(
            tender_id=t.tender_id,
            type=TenderType(t.tender_type),
            amount=t.amount,
            captured_at=order.ordered_at,
        )
        for t in order.tenders
    ]
    return allocate_refund(rma_id, net, tenders, channel=Channel.STORE, has_receipt=True)


async def split_tender_return(stack: DrillStack) -> ReturnCase:
    """A seeded order of a customer no drill on this stack has used, its returnable lines
    refunded over two tenders or more, scoring low for fraud (refunded without a decision)."""
    now = datetime.now(UTC)
    async with Backoffice(stack.backoffice.url) as bo:
        for n in range(1, 1000):
            customer = f"C{n:04d}"
            if customer in stack.taken:
                continue
            try:
                orders = await bo.pos.customer_orders(customer)
            except BusinessRefusal:  # the seeded customers are numbered: past the last one
                break
            for order in orders:
                age = (now - order.ordered_at).days
                if not 1 <= age <= 12 or any(t.refunded_amount > 0 for t in order.tenders):
                    continue
                lines: dict[str, int] = {}
                for line in order.lines:
                    item = await bo.erp.get_item(line.item_id)
                    if not (line.final_sale or item.final_sale):
                        lines[line.item_id] = lines.get(line.item_id, 0) + line.quantity
                if not lines:
                    continue
                rma_id = f"RMA-DRILL-{uuid.uuid4().hex[:8]}"
                chosen = list(lines.items())
                allocations = order_allocations(order, chosen, rma_id)
                if len(allocations) < 2 or TenderType.CASH in {a.method for a in allocations}:
                    continue
                value = sum((a.amount for a in allocations), Decimal("0"))
                score = await bo.fraud.score(
                    FraudRequest(
                        rma_id=f"probe-{uuid.uuid4().hex[:8]}",
                        customer_id=order.customer_id,
                        value=value,
                        has_receipt=True,
                        days_since_purchase=age,
                        reason_code="defective",
                        item_count=sum(q for _, q in chosen),
                    )
                )
                if score.tier != "low":
                    continue
                stack.taken.add(customer)
                request = ReturnRequest.model_validate(
                    {
                        "rma_id": rma_id,
                        "order_id": order.order_id,
                        "channel": "store",
                        "store_id": order.store_id,
                        "reason": "defective",
                        "has_receipt": True,
                        "customer": {
                            "customer_id": order.customer_id,
                            "name": "Drill Customer",
                            "email": f"drill.{uuid.uuid4().hex[:6]}@example.com",
                        },
                        "lines": [{"sku": s, "quantity": q} for s, q in chosen],
                    }
                )
                return ReturnCase(request, allocations)
    raise LookupError("no seeded order left with a low-risk return over two tenders")


async def open_return(stack: DrillStack, case: ReturnCase) -> ReturnCase:
    """`return open` on files; returns once the return waits for the item."""
    request_path = stack.workdir / f"{case.rma_id}.json"
    policy_path = stack.workdir / "return-policy.json"
    request_path.write_text(case.request.model_dump_json())
    policy_path.write_text(RETURN_POLICY.model_dump_json())
    wf_id = await returns_cli.open_return(
        stack.settings(), request_path, client=stack.env.client, policy_path=policy_path
    )
    case.handle = stack.env.client.get_workflow_handle_for(ReturnToRefund.run, wf_id)
    await wait_return(case, ReturnState.AWAITING_ITEM)
    return case


async def bring_in(stack: DrillStack, case: ReturnCase) -> None:
    """The store scans the item and inspects it unopened: the refund saga starts."""
    settings, client = stack.settings(), stack.env.client
    await returns_cli.receive_item(
        settings, case.rma_id, ItemReceived(receipt_id=f"SCAN-{case.rma_id}"), client=client
    )
    await returns_cli.inspect_item(
        settings,
        case.rma_id,
        InspectionResult(inspector="ines", condition=Condition.UNOPENED),
        client=client,
    )


async def return_status(case: ReturnCase) -> ReturnStatus:
    assert case.handle is not None, "open the return first"
    status: ReturnStatus = await case.handle.query(ReturnToRefund.status)
    return status


async def wait_return(
    case: ReturnCase, *states: ReturnState, timeout_s: float = WAIT_S
) -> ReturnStatus:
    found: list[ReturnStatus] = []

    async def reached() -> bool:
        status = await return_status(case)
        if status.state in states or status.state in TERMINAL_STATES:
            found.append(status)
            return True
        return False

    await until(reached, f"{case.rma_id} {'/'.join(states)}", timeout_s)
    return found[-1]


async def refunds_done(stack: DrillStack, case: ReturnCase) -> int:
    return await ledger_count(stack, system="pos", subject_prefix=f"refund:{case.rma_id}:")


async def check_return(stack: DrillStack, case: ReturnCase, verdict: Verdict) -> None:
    """Closed with everything refunded: one POS refund per tender of the split, amounts
    those of the split, one credit memo, one restock per line."""
    try:
        status = await wait_return(case, ReturnState.CLOSED)
    except TimeoutError as err:
        verdict.problems.append(str(err))
        status = await return_status(case)
    if status.state is not ReturnState.CLOSED or status.mismatch != 0:
        verdict.problems.append(
            f"{case.rma_id} {status.state.value} (mismatch {status.mismatch}): {status.reason}"
        )
    rma = case.rma_id
    await count_each(
        stack.backoffice.url,
        [
            Each(
                "refund per tender",
                "pos",
                f"refund:{rma}:",
                {f"refund:{rma}:{a.tender_id or 'store_credit'}" for a in case.allocations},
            ),
            Each("credit memo", "erp", f"credit_memo:{rma}", {f"credit_memo:{rma}"}),
            Each(
                "restock",
                "wms",
                f"restock:{rma}:",
                {f"restock:{rma}:{line.sku}" for line in case.request.lines},
            ),
        ],
        verdict,
    )
    await runs_closed(stack.env.client, rma, verdict)
    async with ControlClient(stack.backoffice.url) as control:
        page = await control.ledger(system="pos", subject_prefix=f"refund:{rma}:", limit=1000)
    paid = {e.subject.rsplit(":", 1)[1]: e.amount for e in page.entries}
    for a in case.allocations:
        got = paid.get(a.tender_id or "store_credit")
        if got is not None and got != a.amount:
            verdict.problems.append(
                f"{rma}: {got} refunded to {a.tender_id}, split says {a.amount}"
            )


# --------------------------------------------------------------------------- launch to go-live


@dataclass
class LaunchCase:
    promotion_id: str
    stores: int
    handle: WorkflowHandle[Any, Any]


async def start_launch(stack: DrillStack, go_live_in: timedelta) -> LaunchCase:
    """Launch the sample plan and approve it (every role the policy asks for)."""
    settings, client = stack.settings(), stack.env.client
    plan, policy = drill_plan(go_live_in), drill_policy()
    handle = await promo.launch(settings, "-", plan=plan, policy=policy, client=client)
    waiting = await wait_for(handle, PromotionState.AWAITING_APPROVAL)
    await promo.approve_pending(settings, waiting, policy, signer=INBOX.signer, client=client)
    return LaunchCase(plan.promotion_id, len(plan.stores), handle)


async def close_launch(stack: DrillStack, case: LaunchCase, name: str, verdict: Verdict) -> None:
    """Cancel it, then: ended CANCELLED, every channel published and retracted once, the
    accrual made and reversed once, no POS price left live."""
    await cancel_launch(stack, case.handle, case.promotion_id, name, verdict)
    await count_effects(
        stack.backoffice.url,
        launch_effects(case.promotion_id, case.stores, rolled_back=True),
        verdict,
    )
    await prices_reverted(stack.backoffice.url, case.promotion_id, verdict)
    await runs_closed(stack.env.client, case.promotion_id, verdict)
