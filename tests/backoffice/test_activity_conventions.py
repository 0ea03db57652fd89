"""activities/common.py: stable idempotency keys, final refusals, heartbeats."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.common import (
    as_application_error,
    business_key,
    heartbeating,
    translate_errors,
)
from adapters.errors import BusinessRefusal, TransientError
from common.config import Settings
from domain.activity_options import BACKOFFICE_RETRY
from tests.backoffice.conventions_workflow import (
    ConventionsWorkflow,
    HeartbeatWorkflow,
    PostingActivities,
)
from tests.fixtures.backoffice import LiveBackoffice


def settings_for(backoffice: LiveBackoffice) -> Settings:
    """The registry's activities point at the session backoffice (the queue is the test's)."""
    return replace(Settings(), backoffice_url=backoffice.url)


async def test_retry_after_a_lost_answer_replays_instead_of_acting_twice(
    env: WorkflowEnvironment, backoffice: LiveBackoffice, run_worker: Any, task_queue: str
) -> None:
    acts = PostingActivities(backoffice.url)
    ref = f"RMA-{uuid.uuid4().hex[:8]}"
    wid = f"conv-{ref}"
    async with run_worker(
        env.client,
        settings=settings_for(backoffice),
        extra_workflows=[ConventionsWorkflow],
        extra_activities=[acts.post_memo],
    ):
        result = await env.client.execute_workflow(
            ConventionsWorkflow.run, args=[ref, None], id=wid, task_queue=task_queue
        )
    assert result.endswith(f"@{wid}/1")
    assert await backoffice.ledger_count(subject=f"credit_memo:{ref}") == 1


async def test_refusal_is_final_with_its_type(
    env: WorkflowEnvironment, backoffice: LiveBackoffice, run_worker: Any, task_queue: str
) -> None:
    acts = PostingActivities(backoffice.url)
    ref = f"RMA-{uuid.uuid4().hex[:8]}"
    async with run_worker(
        env.client,
        settings=settings_for(backoffice),
        extra_workflows=[ConventionsWorkflow],
        extra_activities=[acts.post_memo],
    ):
        with pytest.raises(WorkflowFailureError) as err:
            await env.client.execute_workflow(
                ConventionsWorkflow.run,
                args=[ref, "NOPE"],
                id=f"conv-{ref}",
                task_queue=task_queue,
            )
    cause = err.value.cause
    assert isinstance(cause, ActivityError)
    app_error = cause.cause
    assert isinstance(app_error, ApplicationError)
    assert app_error.type == "unknown_item" and app_error.non_retryable
    assert "NOPE" in app_error.message
    assert cause.retry_state is not None and cause.retry_state.name == "NON_RETRYABLE_FAILURE"


async def test_heartbeating_keeps_a_slow_call_alive(
    env: WorkflowEnvironment, backoffice: LiveBackoffice, run_worker: Any, task_queue: str
) -> None:
    acts = PostingActivities(backoffice.url)
    async with backoffice.fault("fraud", "score", latency_ms=2500):
        async with run_worker(
            env.client,
            settings=settings_for(backoffice),
            extra_workflows=[HeartbeatWorkflow],
            extra_activities=[acts.slow_score],
        ):
            score = await env.client.execute_workflow(
                HeartbeatWorkflow.run,
                "C0001",
                id=f"hb-{uuid.uuid4().hex[:8]}",
                task_queue=task_queue,
            )
    assert score >= 0


async def test_helpers_outside_temporal() -> None:
    refusal = as_application_error(
        BusinessRefusal(
            "no", code="tender_declined", system="pos", operation="refund.card", field="tender_id"
        )
    )
    assert refusal.type == "tender_declined" and refusal.non_retryable
    transient = as_application_error(TransientError("later", system="wms", operation="positions"))
    assert transient.type == "transient_wms" and not transient.non_retryable
    with pytest.raises(ApplicationError) as err, translate_errors():
        raise BusinessRefusal("nope", code="unknown_item", system="erp", operation="get_item")
    assert err.value.type == "unknown_item"
    assert business_key("refund", "R1", "T2") == "refund:R1:T2"
    with pytest.raises(ValueError):
        business_key("refund", "")
    async with heartbeating("outside") as progress:
        progress("no-op outside an activity")
    assert "invalid_input" in (BACKOFFICE_RETRY.non_retryable_error_types or [])
