"""The asynchronous events and the envelope the backoffice posts them in.

Channel confirmations, WMS pick/ship/receive and store task completion are not in the
HTTP response: the backoffice sends an event to the workflow named in the request's
:class:`wire.common.Callback`, as a Temporal **signal** whose single argument is one of
:class:`ChannelEvent`, :class:`WmsEvent`, :class:`TaskEvent` (as JSON). It posts each one
to the event ingress in an :class:`IngressEvent` envelope (``POST /ingress/events``).
Every event has a unique ``event_id``: the same event may be delivered more than once (on
purpose, under the ``duplicate`` fault), so receivers drop ids they have seen.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from wire.common import Identifier, Model, QuantityLine, ResultModel


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


__all__ = ["ChannelEvent", "IngressEvent", "TaskEvent", "WmsEvent"]
