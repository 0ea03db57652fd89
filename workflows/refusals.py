"""Refusals from update validators: non-retryable application errors with a type.

A validator that raises a plain `ValueError` reaches clients (the stock `temporal` CLI
included) as a *retryable* failure of type "ValueError"; a refusal is a business answer,
not a fault, so it is raised as `ApplicationError(reason, type=..., non_retryable=True)`.
The types are part of each contract (e.g. `domain.promotion.contract.DECISION_REFUSED`).
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError


def refused(reason: str, kind: str) -> ApplicationError:
    """The error a validator raises to refuse an update, in words, with its type."""
    return ApplicationError(reason, type=kind, non_retryable=True)
