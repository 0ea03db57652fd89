"""InventoryRebalance, RELEASING and IN_PROGRESS: release the transfer orders to the WMS,
follow them to receipt (deadlines, overdue read-backs, escalation), claim variances and
lost shipments, and cancel what has not shipped (the `cancel` update or a workflow
cancellation)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.rebalance import transfers
    from domain.rebalance.contract import (
        FILE_CLAIM,
        READ_TRANSFER,
        RELEASE_BATCH,
        RELEASE_TRANSFERS,
        CancelReport,
        RebalanceRequest,
        ReleaseBatch,
    )
    from domain.rebalance.status import (
        RebalanceState,
        Transfer,
        TransferState,
        progress_words,
    )
    from domain.rebalance.transfers import ReadBack
    from domain.rebalance.wms_events import advance

from workflows.activity_calls import call
from workflows.rebalance_run import RebalanceRun


async def release(run: RebalanceRun, request: RebalanceRequest) -> None:
    run.set_state(RebalanceState.RELEASING, f"releasing {len(run.order)} transfer order(s)")
    workflow_id = workflow.info().workflow_id
    for start in range(0, len(run.order), RELEASE_BATCH):
        batch = [run.transfers[t] for t in run.order[start : start + RELEASE_BATCH]]
        released = await call(
            RELEASE_TRANSFERS,
            ReleaseBatch(
                plan_id=request.plan_id,
                workflow_id=workflow_id,
                transfers=[transfers.order_for(t) for t in batch],
                progress=request.wms_progress,
            ),
            summary=f"release transfers {start + 1}-{start + len(batch)} to the WMS",
        )
        for item in released:
            advance(run.transfers[item.transfer_id], TransferState.RELEASED)
    run.log("released", f"{len(run.order)} transfer order(s) to the WMS")


async def follow(run: RebalanceRun, request: RebalanceRequest) -> None:
    """Until every transfer is settled: cancel on request, claim variances, wait for an
    event or the next deadline (escalation, an overdue transfer)."""
    policy = request.policy
    while True:
        if run.cancel_request is not None and run.cancel_report is None:
            await cancel_in_flight(run)
        await file_claims(run, request)
        open_ids = [t for t in run.order if not run.transfers[t].terminal]
        if not open_ids:
            return
        run.set_state(
            RebalanceState.IN_PROGRESS, progress_words(run.all(), escalated=run.escalated)
        )
        deadline = transfers.next_deadline(
            [run.transfers[t] for t in open_ids],
            need_by=request.need_by,
            in_transit_max=policy.in_transit_max,
            escalated=run.escalated,
        )
        wait = max(deadline - workflow.now(), timedelta(seconds=1))
        run.wake = False
        try:
            await workflow.wait_condition(lambda: run.wake, timeout=wait)
            continue
        except TimeoutError:
            pass
        await on_deadlines(run, request, open_ids)


async def on_deadlines(run: RebalanceRun, request: RebalanceRequest, open_ids: list[str]) -> None:
    policy = request.policy
    now = workflow.now()
    if not run.escalated and now >= request.need_by:
        run.escalated = True
        run.awaiting = [policy.escalation_role]
        run.log(
            "escalated",
            f"need-by missed with {len(open_ids)} transfer(s) open: escalated to "
            f"{policy.escalation_role}",
        )
    for transfer_id in open_ids:
        transfer = run.transfers[transfer_id]
        if transfer.terminal:
            continue
        if now < transfers.check_due_at(transfer, request.need_by, policy.in_transit_max):
            continue
        await check_overdue(run, transfer, request)
    run.refresh_awaiting()


async def check_overdue(run: RebalanceRun, transfer: Transfer, request: RebalanceRequest) -> None:
    """Read an overdue transfer back from the WMS and act on what it says."""
    transfer_id = transfer.transfer_id
    shipped = transfer.shipped_at is not None
    back = await call(
        READ_TRANSFER, transfer_id, summary=f"check transfer {transfer_id} with the WMS"
    )
    run.log("checked with the WMS", f"{transfer_id}: {back.wms_status}")
    verdict = transfers.judge_read_back(back, shipped=shipped)
    if verdict in (ReadBack.RECEIVED, ReadBack.SHIPPED):
        # the events never reached us (a shipment found here ages from now)
        for event in transfers.read_back_events(transfer, back, verdict):
            run.apply(event)
    elif verdict == ReadBack.LOST:
        variance = transfers.declare_lost(transfer, back, request.policy.in_transit_max)
        run.variances.append(variance)
        run.pending_claims.append(variance)
        run.log("declared lost", f"{transfer_id}: {variance.units} units")
    elif verdict == ReadBack.CANCELLED:
        transfer.state = TransferState.CANCELLED
    else:
        for outcome in await run.cancel_in_wms([transfer_id], "never shipped in time"):
            if outcome.cancelled:
                transfer.state = TransferState.CANCELLED
                transfer.note = "never shipped; cancelled after the need-by time"
                run.log("never shipped", f"{transfer_id}: cancelled in the WMS")
            else:
                # it shipped while we looked: follow it (aging starts now)
                advance(transfer, TransferState.SHIPPED)
                transfer.shipped_at = workflow.now()
                run.log("shipped meanwhile", f"{transfer_id}: {outcome.detail}")


async def file_claims(run: RebalanceRun, request: RebalanceRequest) -> None:
    while run.pending_claims:
        variance = run.pending_claims.pop(0)
        transfer = run.transfers[variance.transfer_id]
        filed = await call(
            FILE_CLAIM,
            transfers.claim_for(request.plan_id, variance, transfer),
            summary=f"ERP claim for {variance.kind.lower()} {variance.transfer_id}",
        )
        variance.claim_id = filed.claim_id
        run.log(
            "claim filed",
            f"{filed.claim_id} for {variance.transfer_id}: {variance.kind} "
            f"{variance.units} units ({filed.amount})",
        )


async def cancel_in_flight(run: RebalanceRun) -> None:
    """The `cancel` update: cancel in the WMS what has not shipped, follow what is moving."""
    assert run.cancel_request is not None
    request = run.cancel_request
    run.log("cancel requested", request.reason, request.requested_by)
    split = transfers.split_for_cancel(run.all())
    moving = list(split.moving)
    cancelled: list[str] = []
    if split.to_cancel:
        for outcome in await run.cancel_in_wms(split.to_cancel, request.reason):
            transfer = run.transfers[outcome.transfer_id]
            if outcome.cancelled:
                transfer.state = TransferState.CANCELLED
                cancelled.append(outcome.transfer_id)
            else:
                moving.append(outcome.transfer_id)
                advance(transfer, TransferState.SHIPPED)
                if transfer.shipped_at is None:
                    transfer.shipped_at = workflow.now()
    run.cancel_report = CancelReport(
        cancelled=cancelled, already_moving=sorted(moving), finished=split.finished
    )
    run.log(
        "cancelled",
        f"{len(cancelled)} transfer(s); {len(moving)} already moving will be followed to receipt",
    )


async def on_workflow_cancelled(run: RebalanceRun) -> None:
    """Cancelled as a workflow (a parent promotion rolling back, or the UI): the same
    compensation as the `cancel` update, then the caller ends the run as cancelled."""
    run.log("workflow cancellation requested", "cancelling transfers that have not shipped")
    in_wms = transfers.in_wms_unshipped(run.all(), releasing=run.state == RebalanceState.RELEASING)
    cancelled: list[str] = []
    moving: list[str] = []
    if in_wms:
        for outcome in await run.cancel_in_wms(in_wms, "rebalance cancelled"):
            if outcome.cancelled:
                run.transfers[outcome.transfer_id].state = TransferState.CANCELLED
                cancelled.append(outcome.transfer_id)
            else:
                moving.append(outcome.transfer_id)
    transfers.cancel_unreleased(run.all())
    if run.cancel_report is None:
        shipped = transfers.split_for_cancel(run.all()).moving
        run.cancel_report = CancelReport(
            cancelled=cancelled, already_moving=moving + shipped, finished=[]
        )
    run.awaiting = []
    run.set_state(RebalanceState.CANCELLED, "cancelled as a workflow")
    run.log(
        "cancelled",
        f"{len(cancelled)} transfer(s) in the WMS; {len(moving)} already moving",
    )
    await workflow.wait_condition(workflow.all_handlers_finished)
