"""Helpers the input drills share: settings for the drill stack, a launch taken to
publishing with every approval given, its cancellation, and effect counts per store."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from cli import promotion as promo
from domain.promotion.plan import PromotionPlan
from domain.promotion.policy import PromotionPolicy
from domain.promotion.status import PromotionState
from drills.invariants import Count
from drills.launch_drills import wait_for
from drills.stack import DrillStack
from fakes.identity import INBOX


def with_publication(policy: PromotionPolicy, **changes: Any) -> PromotionPolicy:
    publication = policy.publication.model_copy(update=changes)
    return policy.model_copy(update={"publication": publication})


async def launch_to_publishing(
    stack: DrillStack, plan: PromotionPlan, policy: PromotionPolicy
) -> WorkflowHandle[Any, Any]:
    """Start the launch and approve every role it waits for (as the drills' issuer)."""
    settings = stack.settings()
    handle = await promo.launch(settings, "-", plan=plan, policy=policy, client=stack.env.client)
    waiting = await wait_for(handle, PromotionState.AWAITING_APPROVAL)
    await promo.approve_pending(
        settings, waiting, policy, signer=INBOX.signer, client=stack.env.client
    )
    return handle


def per_store(pid: str, stores: list[str], op: str, prefix: str, expected: int) -> list[Count]:
    """`expected` POS effects `op` for each store (subject `{prefix}:{pid}:{store}`)."""
    return [
        Count(f"{op} {store}", "pos", op, expected, subject=f"{prefix}:{pid}:{store}")
        for store in stores
    ]


def channel_counts(pid: str, publishes: int, *, retracted: bool) -> list[Count]:
    counts = []
    for channel in ("ecommerce", "marketplace"):
        counts.append(
            Count(f"{channel} publication", channel, "publish", publishes, f"{channel}:{pid}")
        )
        if retracted:
            counts.append(
                Count(f"{channel} retraction", channel, "retract", 1, f"{channel}_retract:{pid}")
            )
    return counts


def accrual_counts(pid: str, *, reversed_: bool) -> list[Count]:
    counts = [Count("funding accrual", "erp", "accrue", 1, subject_prefix=f"accrual:{pid}:")]
    if reversed_:
        counts.append(
            Count("accrual reversal", "erp", "reverse_accrual", 1, subject_prefix=f"accrual:{pid}:")
        )
    return counts
