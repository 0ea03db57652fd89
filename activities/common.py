"""Conventions every activity follows: idempotency keys, refusals, heartbeats, retries.

Activities (not workflows) call the adapters; this module is what makes them safe to retry.

Idempotency key::

    key = idempotency_key()              # "<workflow id>/<activity id>"
    key = idempotency_key("tender-2")    # several effects in one activity: add a part

The key is stable across every retry of the same activity execution, so the backoffice
returns the first result instead of acting twice. Workflows that ``continue_as_new``
restart activity ids: there (and wherever an effect must happen once per business fact
across runs) use :func:`business_key` (``business_key("refund", rma_id, tender_id)``).

Refusals::

    @activity.defn
    @refusals_are_final
    async def refund_tender(self, req: RefundTender) -> RefundDone:
        ...adapter call...

turns ``BusinessRefusal`` into a non-retryable ``ApplicationError`` whose ``type`` is the
refusal code (``tender_declined``, ``unknown_item``...) and ``TransientError`` into a
retryable ``ApplicationError(type="transient_<system>")`` with the message in words. The
same conversion is available as :func:`as_application_error` and as the context manager
:func:`translate_errors`.

Heartbeats for long calls::

    async with heartbeating("waiting for the WMS"):
        await wms.release_transfer(...)

Retry policies and timeouts are not here: each process's contract module gives every
activity its options (`domain.activity_options.ActivitySpec`), and the workflow calls it
with `workflows.activity_calls.call(SPEC, arg, summary=...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.activity_options import TRANSIENT_PREFIX

if TYPE_CHECKING:  # keep workflow imports free of the adapters package
    from adapters.errors import BackofficeError

P = ParamSpec("P")
T = TypeVar("T")

# -- refusal types (ApplicationError.type) and call options live in the contracts ------------
# `domain.activity_options` holds the retry policies and timeouts; each process's contract
# module gives every activity its own. This module only makes activities safe to retry.

# -- idempotency keys ----------------------------------------------------------------------


def idempotency_key(*parts: object) -> str:
    """``"<workflow id>/<activity id>[/<part>...]"`` for the running activity.

    Stable across retries of this activity execution. Call it inside the activity.
    """
    info = activity.info()
    base = f"{info.workflow_id}/{info.activity_id}"
    return "/".join([base, *(str(p) for p in parts)]) if parts else base


def business_key(*parts: object) -> str:
    """A key from business facts only (``business_key("refund", "R1", "T2")``)."""
    if not parts or any(str(p) == "" for p in parts):
        raise ValueError("business_key needs non-empty parts")
    return ":".join(str(p) for p in parts)


def chunk_key(kind: str, scope: str, members: list[str]) -> str:
    """A key for one bulk call from the business facts it names: its kind, its scope (the
    promotion...) and its members (first, last, how many and a digest of them all), so the
    same call always has the same key and a different set of members never shares it."""
    if not members:
        raise ValueError("chunk_key needs at least one member")
    digest = hashlib.sha256("\n".join(members).encode()).hexdigest()[:16]
    return business_key(kind, scope, f"{members[0]}..{members[-1]}", len(members), digest)


# -- errors --------------------------------------------------------------------------------


def as_application_error(err: BackofficeError) -> ApplicationError:
    """The ``ApplicationError`` Temporal should see for an adapter error.

    ``BusinessRefusal`` -> non-retryable, ``type`` = refusal code, details = one dict with
    system, operation, code, field, status. ``TransientError`` -> retryable,
    ``type="transient_<system>"``.
    """
    from adapters.errors import BusinessRefusal

    details = {
        "system": err.system,
        "operation": err.operation,
        "status": err.status,
        **({"code": err.code, "field": err.field} if isinstance(err, BusinessRefusal) else {}),
    }
    if isinstance(err, BusinessRefusal):
        return ApplicationError(err.message, details, type=err.code, non_retryable=True)
    return ApplicationError(
        err.message, details, type=f"{TRANSIENT_PREFIX}{err.system}", non_retryable=False
    )


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """``with translate_errors(): await adapter.call(...)``: adapter errors -> ApplicationError."""
    from adapters.errors import BackofficeError

    try:
        yield
    except BackofficeError as err:
        raise as_application_error(err) from err


def refusals_are_final(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorator for async activities: wraps the body in :func:`translate_errors`.

    Put it *under* ``@activity.defn`` so Temporal registers the wrapped function.
    """

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with translate_errors():
            return await fn(*args, **kwargs)

    return wrapper


def refusal(message: str, type: str, **details: Any) -> ApplicationError:
    """A business refusal decided in the activity itself (not by a system)."""
    return ApplicationError(message, details or None, type=type, non_retryable=True)


# -- heartbeats ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def heartbeating(
    details: object = None, *, every: timedelta = timedelta(seconds=5)
) -> AsyncIterator[Callable[[object], None]]:
    """Heartbeat every ``every`` (at most a third of the activity's heartbeat timeout) while
    the block runs; yields a function to update the details.

    ::

        async with heartbeating("publishing") as progress:
            for i, batch in enumerate(batches):
                await pos.publish_prices(batch, idempotency_key=idempotency_key(i))
                progress({"done": i + 1})

    Outside an activity (plain tests) it does nothing. Pair with ``heartbeat_timeout``
    (``HEARTBEAT_TIMEOUT``) at the call site so a dead worker is noticed.
    """
    current: list[object] = [details]

    def update(value: object) -> None:
        current[0] = value
        if activity.in_activity():
            activity.heartbeat(value)

    if not activity.in_activity():
        yield update
        return

    interval = every.total_seconds()
    timeout = activity.info().heartbeat_timeout
    if timeout:  # beat at least three times per heartbeat timeout
        interval = min(interval, timeout.total_seconds() / 3)

    async def beat() -> None:
        while True:
            activity.heartbeat(current[0])
            await asyncio.sleep(interval)

    task = asyncio.create_task(beat())
    try:
        yield update
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def keeps_heartbeating(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorator for long async activities: heartbeat (the activity's name) all the while
    the body runs, so a worker that dies mid-call is noticed by the heartbeat timeout
    (``HEARTBEAT_TIMEOUT`` on its spec) and not by a start-to-close of minutes.

    Put it *under* ``@activity.defn``."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        label = activity.info().activity_type if activity.in_activity() else None
        async with heartbeating({"label": label}):
            return await fn(*args, **kwargs)

    return wrapper


def last_heartbeat(default: T) -> T | Any:
    """The details of the last heartbeat of a previous attempt (resume point), or default."""
    beats = activity.info().heartbeat_details
    return beats[0] if beats else default


__all__ = [
    "as_application_error",
    "business_key",
    "heartbeating",
    "idempotency_key",
    "keeps_heartbeating",
    "last_heartbeat",
    "refusal",
    "refusals_are_final",
    "translate_errors",
]
