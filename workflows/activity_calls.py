"""Call an activity from a workflow by its contract spec (name, types, timeouts, retries)."""

from __future__ import annotations

from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.activity_options import ActivitySpec

R = TypeVar("R")

SUMMARY_LIMIT = 200
"""The UI shows an activity's summary on one line; longer ones are cut."""


async def call(spec: ActivitySpec[R], arg: Any = None, *, summary: str) -> R:
    """Run the activity `spec` names with `arg`, with the options the contract gives it
    (timeouts, retries, cancellation, and its process's task priority)."""
    args = [] if arg is None else [arg]
    result = await workflow.execute_activity(
        spec.name,
        args=args,
        result_type=spec.output,
        start_to_close_timeout=spec.start_to_close,
        schedule_to_close_timeout=spec.schedule_to_close,
        heartbeat_timeout=spec.heartbeat,
        retry_policy=spec.retry,
        cancellation_type=spec.cancellation,
        priority=spec.task_priority,
        summary=summary[:SUMMARY_LIMIT],
    )
    return result


def failure_words(err: BaseException) -> str:
    """What went wrong with an activity, in words: the refusal's type and message."""
    cause = err.cause if isinstance(err, ActivityError) and err.cause else err
    if isinstance(cause, ApplicationError) and cause.type:
        return f"{cause.type}: {cause.message}"
    return str(cause)


async def best_effort(spec: ActivitySpec[Any], arg: Any = None, *, summary: str) -> str | None:
    """Run an activity whose failure must not stop the process (a notice, an exception
    for a person): None when it ran, else what went wrong, for the audit trail."""
    try:
        await call(spec, arg, summary=summary)
    except ActivityError as err:
        return failure_words(err)
    return None
