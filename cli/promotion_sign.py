"""Signing a promotion decision as the person who takes it (`--key` / RETAIL_DECISION_KEY).

The token binds what the person sees now: the `decision_view` query's price version, lines and
figures (an approval), the offer replacing that version (a price change), the held store
and its coverage (an override). The workflow rebuilds the same subject from its state
(`domain.promotion.identity`), so a decision signed on version 1 is refused on version 2.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import WorkflowHandle

from cli.common import CommandError, run_query
from cli.keys import sign_now
from domain.identity import DecisionSigner, Verdict
from domain.promotion import contract as c
from domain.promotion import identity as pid
from domain.promotion.policy import PromotionPolicy
from domain.promotion.status import DecisionView
from workflows.promotion_launch import PromotionLaunch

D = TypeVar("D", c.Decision, c.PriceChange, c.GateOverride, c.CancelRequest)


def _role(person: str, given: str | None, allowed: list[str], policy: PromotionPolicy) -> str:
    """The role a person signs as: the one named, else the first they hold among `allowed`."""
    if given is not None:
        return given
    held = [r for r in policy.roles_of(person) if r in allowed]
    if not held:
        raise CommandError(
            f"{person} holds none of the roles that may do this ({', '.join(allowed)})"
        )
    return held[0]


def _approval_role(d: c.Decision, view: DecisionView, policy: PromotionPolicy) -> str:
    if d.role is not None:
        return d.role
    held = policy.roles_of(d.approver)
    if view.awaiting_role in held:
        return view.awaiting_role
    mine = [a.role for a in view.approvals if a.decided_by == d.approver]
    return (mine or held or [view.awaiting_role or ""])[-1]


async def signed(
    handle: WorkflowHandle[Any, Any],
    decision: D,
    signer: DecisionSigner,
    policy: PromotionPolicy,
    *,
    approve: bool = True,
    ttl: timedelta | None = None,
) -> D:
    """`decision` with a token over what the `decision_view` query shows now."""
    store_id = decision.store_id if isinstance(decision, c.GateOverride) else ""
    view: DecisionView = await run_query(
        handle, PromotionLaunch.decision_view, store_id, what=f"workflow {handle.id}"
    )
    pid_, version = view.promotion_id, view.version
    if isinstance(decision, c.Decision):
        person, role = decision.approver, _approval_role(decision, view, policy)
        step, verdict = pid.approval_step(role), Verdict.APPROVE if approve else Verdict.REJECT
        subject: Any = pid.approval_subject(pid_, version, view.lines, view.metrics)
    elif isinstance(decision, c.PriceChange):
        person = decision.requested_by
        role = _role(person, None, policy.price_change_roles, policy)
        step, verdict = pid.price_change_step(version), Verdict.CHANGE_PRICE
        subject = pid.price_change_subject(pid_, version, decision.offer)
    elif isinstance(decision, c.GateOverride):
        person = decision.approver
        role = _role(person, decision.role, policy.override_roles, policy)
        store = view.store
        step, verdict = pid.override_step(decision.store_id), Verdict.OVERRIDE
        subject = pid.override_subject(
            pid_, version, decision.store_id, store.coverage if store else None
        )
    else:
        person = decision.requested_by
        role = _role(person, decision.role, policy.cancel_roles, policy)
        step, verdict, subject = pid.CANCEL_STEP, Verdict.CANCEL, pid.cancel_subject(pid_, version)
    try:
        token = sign_now(
            signer,
            person=person,
            role=role,
            workflow_id=handle.id,
            step=step,
            subject=subject,
            decision=verdict,
            ttl=ttl,
        )
    except ValueError as err:
        raise CommandError(str(err)) from None
    return decision.model_copy(update={"token": token})
