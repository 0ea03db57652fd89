"""What the inbox asks Temporal: the work waiting for a person's roles (visibility), what a
decision page shows (the `status` queries), and the decisions themselves, signed by the
inbox's issuer for the person logged in (the CLI's signing functions, so the token binds
the same subject the workflow rebuilds)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from cli import promotion_sign, rebalance, returns
from cli.common import CommandError, run_query, send_update, visibility_query
from common.search_attributes import AWAITING_ROLE, RETAIL_STATE
from domain.identity import DecisionSigner, subject_hash
from domain.promotion import contract as pc
from domain.promotion import identity as pid
from domain.promotion.approvals import ApprovalState
from domain.promotion.policy import PromotionPolicy
from domain.promotion.status import PromotionStatus
from domain.rebalance.approvals import plan_subject
from domain.rebalance.contract import ApprovalDecision, RebalanceRequest
from domain.rebalance.status import RebalanceStatus
from domain.returns import contract as rc
from domain.returns.approval import return_subject
from domain.returns.policy import ReturnPolicy, Role
from domain.returns.status import ReturnStatus
from workflows.inventory_rebalance import InventoryRebalance
from workflows.promotion_launch import PromotionLaunch
from workflows.return_to_refund import ReturnToRefund

PROMOTION, RETURN, REBALANCE = "promotion", "return", "rebalance"
KINDS = (PROMOTION, RETURN, REBALANCE)


@dataclass(frozen=True)
class Waiting:
    kind: str
    workflow_id: str
    roles: list[str]
    state: str
    started: datetime | None


@dataclass(frozen=True)
class Answer:
    ok: bool
    message: str


@dataclass
class Policies:
    promotion: PromotionPolicy
    returns: ReturnPolicy

    def promotion_roles(self, person: str) -> list[str]:
        return self.promotion.roles_of(person)

    def return_roles(self, person: str) -> list[str]:
        return sorted(
            str(getattr(r, "value", r))
            for r, people in self.returns.approvers.items()
            if person in people
        )


def seen_hash(status: PromotionStatus | ReturnStatus | RebalanceStatus) -> str:
    """The hash of what a decision page shows (the subject its token would bind): the form
    carries it back, so a decision on something that changed meanwhile is not sent."""
    if isinstance(status, PromotionStatus):
        return subject_hash(
            pid.approval_subject(status.promotion_id, status.version, status.lines, status.metrics)
        )
    if isinstance(status, ReturnStatus):
        return subject_hash(return_subject(status))
    return subject_hash(plan_subject(status.plan_id, status.plan))


def changed(seen: str, status: PromotionStatus | ReturnStatus | RebalanceStatus) -> Answer | None:
    """A refusal when what the person saw is not what the workflow decides on now."""
    if seen and seen == seen_hash(status):
        return None
    return Answer(
        False,
        "what you are deciding on changed while you looked (or the form is stale): "
        "review it again before deciding",
    )


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def return_why_not(status: ReturnStatus) -> str:
    a = status.approval
    if a is not None:
        return f"{a.role.value} already {a.decision.lower()} by {a.approver} at {a.at:%Y-%m-%d %H:%M} UTC"
    return f"this return is {status.state.value}: it is not waiting for any of your roles"


def rebalance_why_not(status: RebalanceStatus) -> str:
    if status.approvals:
        a = status.approvals[-1]
        verb = "approved" if a.approve else "rejected"
        return f"{a.role} already {verb} by {a.approver} at {a.at:%Y-%m-%d %H:%M} UTC"
    return f"this plan is {status.state.value}: it is not waiting for any of your roles"


def _attr_list(values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, list):
        return [str(v) for v in values]
    return [str(values)]


class Work:
    """The inbox's Temporal side (one client: `common.temporal.connect`'s)."""

    def __init__(self, client: Client, signer: DecisionSigner, policies: Policies) -> None:
        self.client, self.signer, self.policies = client, signer, policies
        self._rebalance_approvers: dict[str, dict[str, list[str]]] = {}

    # ------------------------------------------------------------------ waiting for me

    async def _awaiting(self, kind: str, roles: list[str]) -> list[Waiting]:
        if not roles:
            return []
        wanted = ", ".join(_quote(r) for r in roles)
        query = (
            f"{visibility_query(kind)} AND {AWAITING_ROLE.name} IN ({wanted}) "
            "AND ExecutionStatus = 'Running'"
        )
        found: list[Waiting] = []
        async for ex in self.client.list_workflows(query, limit=200):
            attrs = ex.search_attributes
            awaited = _attr_list(attrs.get(AWAITING_ROLE.name))
            found.append(
                Waiting(
                    kind=kind,
                    workflow_id=ex.id,
                    roles=sorted({r for r in awaited if r in roles}) or awaited,
                    state=", ".join(_attr_list(attrs.get(RETAIL_STATE.name))),
                    started=ex.start_time,
                )
            )
        return found

    async def rebalance_approvers(self, workflow_id: str) -> dict[str, list[str]]:
        """The approvers of a plan's own policy (its start input), read once per run."""
        cached = self._rebalance_approvers.get(workflow_id)
        if cached is not None:
            return cached
        handle = self.client.get_workflow_handle(workflow_id)
        approvers: dict[str, list[str]] = {}
        async for event in handle.fetch_history_events():
            attrs = event.workflow_execution_started_event_attributes
            [request] = await self.client.data_converter.decode(
                attrs.input.payloads, [RebalanceRequest]
            )
            approvers = {k: list(v) for k, v in request.policy.approval.approvers.items()}
            break
        self._rebalance_approvers[workflow_id] = approvers
        return approvers

    async def waiting_for(self, person: str) -> list[Waiting]:
        """Every running promotion, return and plan awaiting one of `person`'s roles."""
        result = await self._awaiting(PROMOTION, self.policies.promotion_roles(person))
        result += await self._awaiting(RETURN, self.policies.return_roles(person))
        query = visibility_query(REBALANCE) + " AND ExecutionStatus = 'Running'"
        async for ex in self.client.list_workflows(query, limit=200):
            awaited = _attr_list(ex.search_attributes.get(AWAITING_ROLE.name))
            if not awaited:
                continue
            approvers = await self.rebalance_approvers(ex.id)
            mine = [r for r in awaited if person in approvers.get(r, [])]
            if mine:
                state = ", ".join(_attr_list(ex.search_attributes.get(RETAIL_STATE.name)))
                result.append(Waiting(REBALANCE, ex.id, mine, state, ex.start_time))
        return sorted(result, key=lambda w: (w.started is None, w.started), reverse=True)

    # ------------------------------------------------------------------ what a page shows

    def _handle(self, workflow_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(workflow_id)

    async def promotion(self, workflow_id: str) -> PromotionStatus:
        status: PromotionStatus = await run_query(
            self._handle(workflow_id), PromotionLaunch.status, what=f"promotion {workflow_id}"
        )
        return status

    async def return_(self, workflow_id: str) -> ReturnStatus:
        status: ReturnStatus = await run_query(
            self._handle(workflow_id), ReturnToRefund.status, what=f"return {workflow_id}"
        )
        return status

    async def rebalance(self, workflow_id: str) -> RebalanceStatus:
        status: RebalanceStatus = await run_query(
            self._handle(workflow_id), InventoryRebalance.status, what=f"plan {workflow_id}"
        )
        return status

    # ------------------------------------------------------------------ decisions

    def promotion_role(self, person: str, status: PromotionStatus) -> tuple[str | None, str]:
        """The role `person` decides as now, or None and why not (in words)."""
        held = self.policies.promotion_roles(person)
        if status.awaiting_role in held:
            return status.awaiting_role, ""
        pending = [a.role for a in status.approvals if a.state is ApprovalState.PENDING]
        mine = [r for r in pending if r in held]
        if mine:
            return mine[0], ""
        taken = [a for a in status.approvals if a.role in held and a.decided_by]
        if taken:
            a = taken[-1]
            when = f" at {a.decided_at:%Y-%m-%d %H:%M} UTC" if a.decided_at else ""
            return None, f"{a.role} already {a.state.value.lower()} by {a.decided_by}{when}"
        if status.state.value != "AWAITING_APPROVAL":
            return None, f"this promotion is {status.state.value}: nothing waits for you"
        return None, "none of your roles is asked to decide on this promotion"

    async def decide_promotion(
        self, workflow_id: str, person: str, *, approve: bool, comment: str, seen: str
    ) -> Answer:
        status = await self.promotion(workflow_id)
        role, why_not = self.promotion_role(person, status)
        if role is None:
            return Answer(False, why_not)
        if (refused := changed(seen, status)) is not None:
            return refused
        handle = self._handle(workflow_id)
        decision = pc.Decision(approver=person, role=role, comment=comment)
        update = PromotionLaunch.approve if approve else PromotionLaunch.reject
        try:
            decision = await promotion_sign.signed(
                handle, decision, self.signer, self.policies.promotion, approve=approve
            )
            answer: pc.UpdateAnswer = await send_update(
                handle, update, decision, what=f"promotion {workflow_id}"
            )
        except CommandError as err:
            return Answer(False, await self._refusal(handle, str(err)))
        return Answer(True, answer.message)

    async def decide_return(
        self, workflow_id: str, person: str, *, approve: bool, comment: str, seen: str
    ) -> Answer:
        status = await self.return_(workflow_id)
        held = self.policies.return_roles(person)
        mine = [r for r in status.awaiting_role if r.value in held]
        if not mine:
            return Answer(False, return_why_not(status))
        if (refused := changed(seen, status)) is not None:
            return refused
        handle = self._handle(workflow_id)
        update = ReturnToRefund.approve if approve else ReturnToRefund.reject
        decision = rc.Decision(approver=person, role=Role(mine[0].value), note=comment)
        try:
            decision = await returns.signed(handle, update, decision, self.signer)
            shown: ReturnStatus = await send_update(
                handle, update, decision, what=f"return {workflow_id}"
            )
        except CommandError as err:
            return Answer(False, await self._refusal(handle, str(err)))
        return Answer(True, f"return {shown.rma_id}: {shown.state.value}")

    async def decide_rebalance(
        self, workflow_id: str, person: str, *, approve: bool, comment: str, seen: str
    ) -> Answer:
        status = await self.rebalance(workflow_id)
        approvers = await self.rebalance_approvers(workflow_id)
        mine = [r for r in status.awaiting_roles if person in approvers.get(r, [])]
        if not mine:
            return Answer(False, rebalance_why_not(status))
        if (refused := changed(seen, status)) is not None:
            return refused
        handle = self._handle(workflow_id)
        decision = ApprovalDecision(
            approver=person, role=mine[0], approve=approve, comment=comment or None
        )
        try:
            decision = await rebalance.signed(
                handle, decision, self.signer, what=f"plan {workflow_id}"
            )
            shown: RebalanceStatus = await send_update(
                handle, InventoryRebalance.approve, decision, what=f"plan {workflow_id}"
            )
        except CommandError as err:
            return Answer(False, await self._refusal(handle, str(err)))
        return Answer(True, f"plan {shown.plan_id}: {shown.state.value}")

    async def _refusal(self, handle: WorkflowHandle[Any, Any], words: str) -> str:
        """The refusal in words; a run that has finished says so."""
        try:
            description = await handle.describe()
        except RPCError:
            return words
        if description.close_time is not None:
            state = description.typed_search_attributes.get(RETAIL_STATE) or "closed"
            return f"{handle.id} has already finished ({state}): nothing left to decide"
        return words
