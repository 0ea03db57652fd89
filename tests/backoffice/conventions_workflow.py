"""A workflow and activities that exercise activities/common.py against the backoffice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.common import (
        heartbeating,
        idempotency_key,
        refusals_are_final,
    )
    from domain.activity_options import CALL_TIMEOUT

# Names of this test-only workflow's activities (its contract; no literals elsewhere).
POST_MEMO = "post_memo"
SLOW_SCORE = "slow_score"

FAST_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    maximum_attempts=20,
    non_retryable_error_types=["invalid_input"],
)


class PostingActivities:
    def __init__(self, url: str) -> None:
        self.url = url

    @activity.defn(name=POST_MEMO)
    @refusals_are_final
    async def post_memo(self, reference: str, item_id: str | None) -> str:
        """Post a credit memo; the first attempt 'loses' the answer after the effect."""
        from adapters import ErpClient
        from wire.erp import PostingRequest

        async with ErpClient(self.url) as erp:
            posting = await erp.post(
                PostingRequest(
                    kind="write_off" if item_id else "credit_memo",
                    reference=reference,
                    amount=Decimal("4.20"),
                    item_id=item_id,
                ),
                idempotency_key=idempotency_key(),
            )
        if activity.info().attempt == 1:
            raise RuntimeError("connection dropped after the ERP acted (simulated)")
        return f"{posting.posting_id}@{idempotency_key()}"

    @activity.defn(name=SLOW_SCORE)
    @refusals_are_final
    async def slow_score(self, customer_id: str) -> int:
        from adapters import FraudClient
        from wire.fraud import FraudRequest

        async with heartbeating("scoring") as progress, FraudClient(self.url) as fraud:
            score = await fraud.score(
                FraudRequest(
                    rma_id="R-hb",
                    customer_id=customer_id,
                    value=Decimal("5.00"),
                    has_receipt=True,
                    days_since_purchase=3,
                )
            )
            progress({"score": score.score})
        return score.score


@workflow.defn
class ConventionsWorkflow:
    @workflow.run
    async def run(self, reference: str, item_id: str | None) -> str:
        return await workflow.execute_activity_method(
            PostingActivities.post_memo,
            args=[reference, item_id],
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=FAST_RETRY,
            summary="post a memo",
        )


@workflow.defn
class HeartbeatWorkflow:
    @workflow.run
    async def run(self, customer_id: str) -> int:
        return await workflow.execute_activity_method(
            PostingActivities.slow_score,
            customer_id,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=1),
            retry_policy=RetryPolicy(maximum_attempts=1),
            summary="score slowly",
        )
