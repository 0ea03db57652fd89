"""Types every system's schemas share: money, quantities, identifiers, lines, callbacks.

Conventions of the backoffice API:

* Money is :class:`decimal.Decimal` with at most two decimal places (cent-exact), never
  float; on the wire it is a JSON string (``"12.99"``).
* Times are timezone-aware; the backoffice stores and returns UTC.
* Requests refuse unknown fields (:class:`Model`), so typos surface; results ignore fields
  added later (:class:`ResultModel`).
* Asynchronous outcomes are not in the HTTP response: a call names a :class:`Callback` and
  the event comes later as a signal (see :mod:`wire.events`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
"""A non-negative, cent-exact amount (``Decimal('12.99')``)."""

SignedMoney = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
"""A cent-exact amount that may be negative (adjustments, variances)."""

Quantity = Annotated[int, Field(ge=0)]
PositiveQuantity = Annotated[int, Field(ge=1)]
Identifier = Annotated[str, Field(min_length=1, max_length=200)]


class Model(BaseModel):
    """Base of every request/result: unknown fields are refused, so typos surface."""

    model_config = ConfigDict(extra="forbid")


class ResultModel(BaseModel):
    """Base of results read from the backoffice: tolerant of fields added later."""

    model_config = ConfigDict(extra="ignore")


class Callback(Model):
    """Where the asynchronous events of a call go: signal ``signal`` on ``workflow_id``.

    Example: ``Callback(workflow_id="promotion-P1-channels-0", signal="channel_ack")``.
    ``run_id`` is optional; without it the latest run of the workflow id gets the signal.
    """

    workflow_id: Identifier
    signal: Identifier
    run_id: str | None = None


class PriceLine(Model):
    """A price for one item (the promoted or the regular price)."""

    item_id: Identifier
    price: Money


class QuantityLine(Model):
    """A quantity of one item (transfer lines, pick/ship/receive progress)."""

    item_id: Identifier
    quantity: Quantity


__all__ = [
    "Callback",
    "Identifier",
    "Model",
    "Money",
    "PositiveQuantity",
    "PriceLine",
    "Quantity",
    "QuantityLine",
    "ResultModel",
    "SignedMoney",
]
