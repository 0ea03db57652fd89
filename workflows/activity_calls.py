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


async def call(spec: ActivitySpec[R], arg: Any = None, *, summary: str, local: bool = False) -> R:
    """Run the activity `spec` names with `arg`, with the options the contract gives it
    (timeouts, retries, cancellation, and its process's task priority).

    `local`: as a local activity, in this worker, with no round trip through the server's
    task queue (one short bulk call on the launch's critical path). The same timeouts and
    retries, no heartbeat (the workflow task's own timeout notices a dead worker, and the
    call runs again on the next one: every call here is idempotent) and no priority. Only
    for a spec whose retries are bounded by attempts: the SDK does not enforce a local
    activity's schedule-to-close across its retries."""
    options: dict[str, Any] = {
        "args": [] if arg is None else [arg],
        "result_type": spec.output,
        "start_to_close_timeout": spec.start_to_close,
        "schedule_to_close_timeout": spec.schedule_to_close,
        "retry_policy": spec.retry,
        "cancellation_type": spec.cancellation,
        "summary": summary[:SUMMARY_LIMIT],
    }
    if local:
        if spec.retry is None or spec.retry.maximum_attempts < 1:
            raise ValueError(f"{spec.name} retries without a bound on attempts: not local")
        return await workflow.execute_local_activity(spec.name, **options)
    return await workflow.execute_activity(
        spec.name, heartbeat_timeout=spec.heartbeat, priority=spec.task_priority, **options
    )


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
