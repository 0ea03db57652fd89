"""The inbox for returns and rebalancing plans: each listed for the people holding the role
awaited (returns: the returns policy; plans: the plan's own policy), its decision page
showing the quote and fraud reasons or the moves, approved from the page."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from temporalio.testing import WorkflowEnvironment

from domain.identity import TrustPolicy
from domain.rebalance.contract import workflow_id as plan_workflow_id
from domain.rebalance.status import RebalanceState
from domain.returns.contract import InspectionResult, ItemReceived, ReturnInput
from domain.returns.contract import workflow_id as return_workflow_id
from domain.returns.disposition import Condition
from domain.returns.policy import ReturnPolicy
from domain.returns.status import ReturnState
from fakes.rebalance import FakeInventory
from fakes.returns import ScriptedReturnSystems
from inbox.config import DEFAULT_RETURNS_POLICY
from tests.fixtures.identity import DEMO_SIGNER
from tests.fixtures.rebalance import rebalance_policy, rebalance_request, wait_for_status
from tests.fixtures.returns import MEDIUM_SCORE, return_request, wait_for_state
from tests.inbox.conftest import CSRF, Browser
from workflows.inventory_rebalance import InventoryRebalance
from workflows.return_to_refund import ReturnToRefund

DEMO_TRUST = TrustPolicy(issuers=[DEMO_SIGNER.trusted_issuer()])


async def listed(tab: Browser, workflow_id: str) -> None:
    for _ in range(100):
        if workflow_id in (await tab.http.get("/")).text:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} is not listed")


async def approve_on_page(tab: Browser, path: str, comment: str) -> str:
    page = (await tab.http.get(path)).text
    token = CSRF.search(page)
    assert token and 'id="decide"' in page, page[:600]
    seen = re.search(r'name="seen" value="([^"]*)"', page)
    assert seen
    data = {"verdict": "approve", "comment": comment, "csrf": token.group(1), "seen": seen[1]}
    done = await tab.http.post(f"{path}/decide", data=data)
    assert done.status_code == 303
    return (await tab.http.get(done.headers["location"])).text


async def test_a_return_waits_for_its_supervisor_who_approves_it_from_the_page(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    plain_browsers: Callable[[], Browser],
) -> None:
    scripted = ScriptedReturnSystems()
    scripted.score = MEDIUM_SCORE + 15
    policy = ReturnPolicy.model_validate(json.loads(DEFAULT_RETURNS_POLICY.read_text()))
    request = return_request()
    async with run_worker(env.client, fakes=scripted.activities()):
        with env.with_time_skipping_disabled():
            handle = await env.client.start_workflow(
                ReturnToRefund.run,
                ReturnInput(request=request, policy=policy),
                id=return_workflow_id(request.rma_id),
                task_queue=task_queue,
            )
        await handle.signal(ReturnToRefund.item_received, ItemReceived(receipt_id="SCAN-1"))
        await handle.signal(
            ReturnToRefund.inspection_result,
            InspectionResult(inspector="ines", condition=Condition.DEFECTIVE),
        )
        await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
        sam, lena = plain_browsers(), plain_browsers()
        await sam.login("sam")
        await lena.login("lena")
        await listed(sam, handle.id)
        assert handle.id not in (await lena.http.get("/")).text
        page = (await sam.http.get(f"/return/{handle.id}")).text
        assert "Refund quote" in page and "Fraud assessment" in page
        after = await approve_on_page(sam, f"/return/{handle.id}", "receipt checked")
        assert 'id="answer" class="ok"' in after, after[:800]
        status = await handle.query(ReturnToRefund.status)
        assert status.approval is not None and status.approval.approver == "sam"
        assert status.state is not ReturnState.AWAITING_APPROVAL
        sue = plain_browsers()
        await sue.login("sue")
        taken = (await sue.http.get(f"/return/{handle.id}")).text
        assert "store_supervisor already approved by sam" in taken


async def test_a_plan_waits_for_the_approvers_its_policy_names(
    env: WorkflowEnvironment,
    task_queue: str,
    fake_inventory: FakeInventory,
    plain_browsers: Callable[[], Browser],
) -> None:
    request = rebalance_request(
        policy=rebalance_policy(cost_threshold="0", units_threshold=0, trust=DEMO_TRUST)
    )
    with env.with_time_skipping_disabled():
        handle = await env.client.start_workflow(
            InventoryRebalance.run,
            request,
            id=plan_workflow_id(request.plan_id),
            task_queue=task_queue,
        )
    await wait_for_status(handle, lambda s: s.state == RebalanceState.AWAITING_APPROVAL)
    approver = request.policy.approval.approvers["supply_chain"][0]
    tab, alice = plain_browsers(), plain_browsers()
    await tab.login(approver)
    await alice.login("alice")
    await listed(tab, handle.id)
    assert handle.id not in (await alice.http.get("/")).text
    page = (await tab.http.get(f"/rebalance/{handle.id}")).text
    assert "Moves" in page and re.search(r"Total \d+ units", page)
    after = await approve_on_page(tab, f"/rebalance/{handle.id}", "go")
    assert 'id="answer" class="ok"' in after, after[:800]
    status = await handle.query(InventoryRebalance.status)
    assert status.approvals and status.approvals[0].approver == approver
    entry = next(a for a in status.audit if a.action == "approved")
    assert (entry.issuer, entry.kid) == ("demo-inbox", "demo-inbox-1") and entry.token_id
    other = plain_browsers()
    await other.login(request.policy.approval.approvers["supply_chain"][1])
    taken = (await other.http.get(f"/rebalance/{handle.id}")).text
    assert f"supply_chain already approved by {approver}" in taken
