"""PromotionLaunch's proven identities: the token each decision must carry, verified.

What a token binds per decision is `domain.promotion.identity` (step, subject, verdict); the
verification is `domain.identity.verify`, deterministic (`workflow.now()`, no I/O). A
validator calls these to refuse before history; the handler calls them again through
`workflows.identity.accept` to spend the token (a token decides once).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.identity import TrustPolicy, Verdict, VerifiedDecision
    from domain.promotion import contract as c
    from domain.promotion import identity as pid

from workflows.identity import verified
from workflows.promotion_run import LaunchRun


def _prove(
    run: LaunchRun,
    trust: TrustPolicy,
    token: str | None,
    *,
    step: str,
    subject: object,
    verdict: Verdict,
    person: str,
    role: str | None,
    allowed_roles: list[str],
) -> VerifiedDecision:
    s = run.s
    if token is None and role is None:  # unsigned (where the trust allows it): the held role
        role = next((r for r in s.policy.roles_of(person) if r in allowed_roles), None)
    return verified(
        lambda: pid.prove(
            token,
            policy=s.policy,
            trust=trust,
            now=workflow.now(),
            workflow_id=workflow.info().workflow_id,
            step=step,
            subject=subject,
            verdict=verdict,
            seen=s.tokens,
            person=person,
            role=role,
            allowed_roles=allowed_roles,
        )
    )


def approval(
    run: LaunchRun, trust: TrustPolicy, d: c.Decision, role: str, approve: bool
) -> VerifiedDecision:
    """An approve or reject of `role`'s approval, over this version's prices and figures."""
    s = run.s
    return _prove(
        run,
        trust,
        d.token,
        step=pid.approval_step(role),
        subject=pid.approval_subject(s.plan.promotion_id, s.version, s.lines, s.metrics),
        verdict=Verdict.APPROVE if approve else Verdict.REJECT,
        person=d.approver,
        role=role,
        allowed_roles=[role],
    )


def price_change(run: LaunchRun, trust: TrustPolicy, change: c.PriceChange) -> VerifiedDecision:
    s = run.s
    return _prove(
        run,
        trust,
        change.token,
        step=pid.price_change_step(s.version),
        subject=pid.price_change_subject(s.plan.promotion_id, s.version, change.offer),
        verdict=Verdict.CHANGE_PRICE,
        person=change.requested_by,
        role=None,
        allowed_roles=s.policy.price_change_roles,
    )


def override(run: LaunchRun, trust: TrustPolicy, o: c.GateOverride) -> VerifiedDecision:
    s = run.s
    store = s.stores.get(o.store_id)
    return _prove(
        run,
        trust,
        o.token,
        step=pid.override_step(o.store_id),
        subject=pid.override_subject(
            s.plan.promotion_id, s.version, o.store_id, store.coverage if store else None
        ),
        verdict=Verdict.OVERRIDE,
        person=o.approver,
        role=o.role,
        allowed_roles=s.policy.override_roles,
    )


def cancel(run: LaunchRun, trust: TrustPolicy, request: c.CancelRequest) -> VerifiedDecision:
    s = run.s
    return _prove(
        run,
        trust,
        request.token,
        step=pid.CANCEL_STEP,
        subject=pid.cancel_subject(s.plan.promotion_id, s.version),
        verdict=Verdict.CANCEL,
        person=request.requested_by,
        role=request.role,
        allowed_roles=s.policy.cancel_roles,
    )
