"""The two ways a call to a retail system can fail, and nothing else.

Every adapter method either returns a typed result or raises one of:

* :class:`TransientError` -- the system could not answer right now (timeout, connection
  refused, 5xx, 429, an outage window). Calling again with the **same idempotency key**
  is safe and is what Temporal's retry policy does.
* :class:`BusinessRefusal` -- the system understood the request and said no (unknown
  item, deal expired, tender declined, transfer already shipped, idempotency key reused
  with another body, bad input). Retrying cannot help: activities turn it into a
  non-retryable ``ApplicationError`` whose ``type`` is :attr:`BusinessRefusal.code`
  (see ``activities/common.py``).

This module is pure Python (no httpx) so any layer can import the exception types.
"""

from __future__ import annotations

from typing import Any


class BackofficeError(Exception):
    """Base of both kinds: which system, which operation, and a message for a person."""

    def __init__(
        self,
        message: str,
        *,
        system: str,
        operation: str,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.operation = operation
        self.status = status
        self.details = details or {}

    def __str__(self) -> str:
        return self.message


class TransientError(BackofficeError):
    """The call may succeed later: retry it with the same idempotency key."""


class BusinessRefusal(BackofficeError):
    """The system said no for a business reason; never retried.

    ``code`` is a stable snake_case word (``unknown_item``, ``tender_declined``,
    ``idempotency_conflict``, ``invalid_input``...) used as the Temporal
    ``ApplicationError.type``; ``field`` names the offending input field when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        system: str,
        operation: str,
        status: int | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message, system=system, operation=operation, status=status, details=details
        )
        self.code = code
        self.field = field


# Refusal codes the backoffice uses; workflows may match on these ``ApplicationError.type``s.
INVALID_INPUT = "invalid_input"
IDEMPOTENCY_CONFLICT = "idempotency_conflict"
MISSING_IDEMPOTENCY_KEY = "missing_idempotency_key"
NOT_FOUND = "not_found"

__all__ = [
    "IDEMPOTENCY_CONFLICT",
    "INVALID_INPUT",
    "MISSING_IDEMPOTENCY_KEY",
    "NOT_FOUND",
    "BackofficeError",
    "BusinessRefusal",
    "TransientError",
]
