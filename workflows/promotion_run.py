"""What every phase of a PromotionLaunch shares: its state, the audit trail, the story the
Temporal UI tells, alerts, and the exceptions that steer the saga.

Workflow code (deterministic): `workflow.now()` for every time, no I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import (
        AMOUNT_AT_RISK,
        AWAITING_ROLE,
        PROMOTION_ID,
        RETAIL_KIND,
        RETAIL_STATE,
        STORE_COUNT,
    )
    from domain.audit import AuditEntry
    from domain.promotion import contract as c
    from domain.promotion.state import LaunchState
    from domain.promotion.status import STORES_IN_RESULT, PromotionState, PromotionStatus

from workflows.activity_calls import call
from workflows.publication_batch import InlineBatches

COMPACT_RESULT = "compact-result"
"""Patch: a launch of more than `STORES_IN_RESULT` stores returns them counted, not all listed."""


class CancelRequested(Exception):
    """The `cancel` update was accepted: unwind through the compensation saga."""


class LaunchFailed(Exception):
    """A failure that cannot be retried: compensate and end FAILED."""


class ReapprovalRejected(Exception):
    """A re-opened approval (after a price change) was rejected: roll back, end REJECTED."""


def words(err: BaseException) -> str:
    """The innermost message of a Temporal failure chain, in words."""
    parts: list[str] = []
    current: BaseException | None = err
    while current is not None:
        text = str(current)
        if isinstance(current, ActivityError):
            text = f"activity {current.activity_type} failed"
        elif isinstance(current, ChildWorkflowError):
            text = f"child workflow {current.workflow_type} {current.workflow_id} failed"
        if text and (not parts or parts[-1] != text):
            parts.append(text)
        current = current.__cause__ if isinstance(current, FailureError) else None
    return ": ".join(parts) if parts else repr(err)


class LaunchRun:
    """One launch in progress: `s` is its whole state (one model); the handles of its
    children and of its SLA watch are the only other things it holds."""

    def __init__(self, inp: c.LaunchInput) -> None:
        self.s = LaunchState.start(inp)
        self.rebalance_handle: workflow.ChildWorkflowHandle[Any, Any] | None = None
        self.monitor_handle: workflow.ChildWorkflowHandle[Any, Any] | None = None
        self.sla_task: asyncio.Task[None] | None = None
        self.inline = InlineBatches()
        """Publication batches this launch runs itself (their confirmations come here)."""

    @property
    def promotion_id(self) -> str:
        return self.s.plan.promotion_id

    def audit(self, actor: str, action: str, detail: str = "", **proof: str | None) -> None:
        """One audit line; `proof` are the issuer, kid and token id of a signed decision."""
        self.s.audit.append(
            AuditEntry(at=workflow.now(), actor=actor, action=action, detail=detail, **proof)
        )

    def set_state(self, state: PromotionState, words: str) -> None:
        """Move to `state`; `words` say what the launch waits for (UI and `status`)."""
        s = self.s
        s.state = state
        s.waiting_for = words or state.value.lower().replace("_", " ")
        workflow.set_current_details(
            f"**{state.value}**: {s.waiting_for}\n\n"
            f"{s.plan.name} ({s.plan.offer_words()}), "
            f"{s.plan.starts_at.isoformat()} to {s.plan.ends_at.isoformat()}"
        )
        self.refresh_search()

    def refresh_search(self) -> None:
        s = self.s
        awaiting = s.awaiting_role()
        at_risk = float(s.metrics.unfunded_cost) if s.metrics is not None else 0.0
        workflow.upsert_search_attributes(
            [
                RETAIL_KIND.value_set("promotion"),
                RETAIL_STATE.value_set(s.state.value),
                PROMOTION_ID.value_set(s.plan.promotion_id),
                AWAITING_ROLE.value_set(awaiting) if awaiting else AWAITING_ROLE.value_unset(),
                STORE_COUNT.value_set(len(s.stores)),
                AMOUNT_AT_RISK.value_set(at_risk),
            ]
        )

    def result(self) -> PromotionStatus:
        """The status the run returns: a large launch's stores counted, not all listed, so
        its last payload stays under 512 KiB (`PromotionStatus.for_result`)."""
        status = self.s.status()
        if len(status.stores) > STORES_IN_RESULT and workflow.patched(COMPACT_RESULT):
            return status.for_result()
        return status

    def check_cancel(self) -> None:
        if self.s.cancel is not None:
            raise CancelRequested()

    def changed_since(self, seen: int) -> Callable[[], bool]:
        """A wait condition: a decision (or escalation) arrived, or a cancel."""
        return lambda: self.s.decisions != seen or self.s.cancel is not None

    async def alert(
        self, severity: Literal["info", "warning", "critical"], audience: str, message: str
    ) -> None:
        """Tell a role; an alert that cannot be delivered is audited, never fatal."""
        try:
            await call(
                c.ALERT,
                c.AlertInput(
                    promotion_id=self.promotion_id,
                    severity=severity,
                    audience=audience,
                    message=message,
                ),
                summary=f"alert {audience}: {message[:80]}",
            )
        except ActivityError as err:
            self.audit("workflow", "alert failed", words(err))
