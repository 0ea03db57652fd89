"""Pydantic models shared by several systems: money, lines, callbacks and the events.

Conventions used by every adapter and by the backoffice API:

* Money is :class:`decimal.Decimal` with at most two decimal places (cent-exact), never
  float; on the wire it is a JSON string (``"12.99"``).
* Times are timezone-aware; the backoffice stores and returns UTC.
* Asynchronous outcomes (channel confirmations, WMS pick/ship/receive, store task
  completion) are not in the HTTP response: the backoffice sends an event to the
  workflow named in the request's :class:`Callback`, as a Temporal **signal** whose single
  argument is one of :class:`ChannelEvent`, :class:`WmsEvent`, :class:`TaskEvent`
  (as JSON). Every event has a unique ``event_id``: the same event may be delivered more
  than once (on purpose, under the ``duplicate`` fault), so receivers drop ids they have
  seen.

This module is pure pydantic (no httpx): workflows may mirror these shapes in ``domain/``;
the JSON shape is the contract.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

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


class ChannelEvent(ResultModel):
    """E-commerce or marketplace answer to a publication (signal argument).

    ``status`` is ``confirmed`` (the prices are live in the channel) or ``rejected``
    (``reason`` says why). ``version`` is the publication version it answers.
    """

    event_id: str
    kind: Literal["channel_ack"] = "channel_ack"
    channel: Literal["ecommerce", "marketplace"]
    promotion_id: str
    publication_id: str
    version: int
    status: Literal["confirmed", "rejected"]
    reason: str | None = None
    occurred_at: AwareDatetime


class WmsEvent(ResultModel):
    """Progress of a transfer order (signal argument): picked, shipped or received.

    ``lines`` carry the quantities of this step; a receipt with less (or more) than was
    shipped is a variance the rebalance workflow turns into a claim.
    """

    event_id: str
    kind: Literal["wms_event"] = "wms_event"
    step: Literal["picked", "shipped", "received"]
    transfer_id: str
    reference: str | None = None
    source_id: str
    dest_id: str
    lines: list[QuantityLine]
    occurred_at: AwareDatetime


class TaskEvent(ResultModel):
    """A store task was completed or cancelled (signal argument)."""

    event_id: str
    kind: Literal["store_task"] = "store_task"
    task_id: str
    store_id: str
    task_kind: str
    status: Literal["completed", "cancelled"]
    promotion_id: str | None = None
    completed_by: str | None = None
    occurred_at: AwareDatetime


class IngressEvent(Model):
    """What the backoffice POSTs to the event ingress (``POST /ingress/events``)."""

    workflow_id: Identifier
    signal: Identifier
    run_id: str | None = None
    event: dict[str, object]


class LedgerEntry(ResultModel):
    """One external effect the backoffice performed (one per idempotency key)."""

    id: int
    system: str
    operation: str
    subject: str
    idempotency_key: str
    amount: Decimal | None = None
    quantity: int | None = None
    detail: dict[str, object] = Field(default_factory=dict)
    created_at: datetime


__all__ = [
    "Callback",
    "ChannelEvent",
    "Identifier",
    "IngressEvent",
    "LedgerEntry",
    "Model",
    "Money",
    "PositiveQuantity",
    "PriceLine",
    "Quantity",
    "QuantityLine",
    "ResultModel",
    "SignedMoney",
    "TaskEvent",
    "WmsEvent",
]
