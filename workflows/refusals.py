"""Refusals from update validators: non-retryable application errors with a type.

A validator that raises a plain `ValueError` reaches clients (the stock `temporal` CLI
included) as a *retryable* failure of type "ValueError"; a refusal is a business answer,
not a fault, so it is raised as `ApplicationError(reason, type=..., non_retryable=True)`.
The types are part of each contract (e.g. `domain.promotion.contract.DECISION_REFUSED`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from temporalio.exceptions import ApplicationError

DECISION_REFUSED = "decision_refused"
"""The type of a refused decision where no more precise one applies."""


def refused(reason: str, kind: str) -> ApplicationError:
    """The error a validator raises to refuse an update, in words, with its type."""
    return ApplicationError(reason, type=kind, non_retryable=True)


@contextlib.contextmanager
def refusing(kind: str = DECISION_REFUSED) -> Iterator[None]:
    """In a validator: a `ValueError` raised by the checks becomes the typed refusal (a
    refused token keeps its own reason code as the type)."""
    try:
        yield
    except ValueError as err:
        code = getattr(getattr(err, "reason", None), "value", None)
        raise refused(str(err), code or kind) from None
