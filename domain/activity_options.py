"""How activities are called: the spec every contract module declares for each activity.

A contract module (`domain/<process>/contract.py`) names each of its activities once, with
its input and output models, its timeouts and its retry policy::

    LOOKUP_FACTS = ActivitySpec(
        "promotion_lookup_facts", LookupRequest, PlanFacts, READ_RETRY,
        start_to_close=LONG_CALL_TIMEOUT,
    )

The activity implementation registers under `LOOKUP_FACTS.name`; the workflow calls it with
`workflows.activity_calls.call(LOOKUP_FACTS, arg, summary=...)`. So the answer to "which
activity does this, and how does it retry?" is one line in one file.

The base policies below are the house defaults; a contract may define its own where a
process needs other values (and says why there).

Priority: every process runs on the one task queue, so when workers are busy and tasks
back up, Temporal dispatches them by priority key (1 first, 5 last; FIFO within a key).
Each contract gives its activities its process's key (`PRIORITY` there):

    1  returns (a customer waits for the money) and channel publication (a promotion's
       go-live: the price must be on every shelf and site at its start time)
    2  the promotion launch's own steps (funding, coverage gates, store tasks, alerts)
    3  sell-through monitoring (Temporal's default key)
    5  inventory rebalancing (transfers with a need-by hours or days away)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from temporalio.common import Priority, RetryPolicy
from temporalio.workflow import ActivityCancellationType

ResultT = TypeVar("ResultT")

NON_RETRYABLE_TYPES: tuple[str, ...] = (
    "invalid_input",
    "idempotency_conflict",
    "missing_idempotency_key",
    "not_found",
)
"""Refusal types that never make sense to retry whatever the call.

Refusals raised by activities are already non-retryable `ApplicationError`s; the list is
spelled out in every policy as well so a refusal raised without that flag still stops."""

TRANSIENT_PREFIX = "transient_"
"""`ApplicationError.type` of retryable backoffice failures: `transient_<system>`."""

BACKOFFICE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,  # unlimited: bounded by the schedule-to-close timeout
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)
"""Mutating calls to a system of record: keep trying with the same key, slowly."""

READ_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=10,
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)
"""Reads (positions, read-back, sales, scores): quicker, give up after 10 attempts."""

MONEY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=0,
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)
"""Refunds, accruals, claims and postings: never give up on a transient fault (every call
carries an idempotency key), never retry a refusal."""

CALL_TIMEOUT = timedelta(seconds=30)
"""`start_to_close_timeout` for one backoffice call."""

LONG_CALL_TIMEOUT = timedelta(minutes=10)
"""`start_to_close_timeout` for batch calls (they heartbeat)."""

HEARTBEAT_TIMEOUT = timedelta(seconds=20)
"""`heartbeat_timeout` to pair with `activities.common.heartbeating` (beats every 5 s)."""

MUTATION_DEADLINE = timedelta(minutes=15)
"""`schedule_to_close_timeout` for a mutating call retried with BACKOFFICE_RETRY."""

CALL_DEADLINE = timedelta(minutes=30)
"""Default `schedule_to_close_timeout`: how long all attempts of one call may take."""


PRIORITY_URGENT = 1
"""Refunds and go-live: work a customer or a start time is waiting for."""
PRIORITY_PROCESS = 2
"""A promotion launch's own steps."""
PRIORITY_DEFAULT = 3
"""Temporal's default key (the middle of 1..5): what a task without a key gets."""
PRIORITY_BACKGROUND = 5
"""Work with hours or days of slack: rebalancing transfers."""
PRIORITY_KEYS = range(1, 6)
"""The keys a Temporal server accepts with its default configuration (five levels)."""


def task_priority(key: int) -> Priority:
    """The `temporalio.common.Priority` of a process's key: for its activities (the specs),
    its workflow starts (the CLI) and the children a workflow starts."""
    return Priority(priority_key=key)


@dataclass(frozen=True)
class ActivitySpec(Generic[ResultT]):
    """One activity of a process: its registered name, payload types and call options."""

    name: str
    input: type[Any] | None
    output: type[ResultT] | None
    retry: RetryPolicy
    start_to_close: timedelta = CALL_TIMEOUT
    schedule_to_close: timedelta | None = CALL_DEADLINE
    heartbeat: timedelta | None = None
    cancellation: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL
    """How a workflow cancellation reaches a running call: `WAIT_CANCELLATION_COMPLETED`
    where the compensation must not start before the call has stopped."""
    priority: int = PRIORITY_DEFAULT
    """The task priority key (1 first .. 5 last): the process's, from its contract."""

    def __post_init__(self) -> None:
        if self.priority not in PRIORITY_KEYS:
            raise ValueError(
                f"activity {self.name}: priority {self.priority} is not a key from "
                f"{PRIORITY_KEYS.start} (first) to {PRIORITY_KEYS.stop - 1} (last)"
            )

    @property
    def task_priority(self) -> Priority:
        """The `temporalio.common.Priority` the activity is scheduled with."""
        return task_priority(self.priority)

    def with_options(self, **changes: Any) -> ActivitySpec[ResultT]:
        """The same activity with other call options (a deadline, a retry policy)."""
        return dataclasses.replace(self, **changes)


def specs_of(module: Any) -> list[ActivitySpec[Any]]:
    """Every `ActivitySpec` a contract module declares (for the registry's checks)."""
    return [v for v in vars(module).values() if isinstance(v, ActivitySpec)]
