"""E-commerce and marketplace wire schemas: a promotion's publication (``/ecommerce``,
``/marketplace``).

Publishing answers ``PENDING`` at once; the confirmation comes later as a
:class:`wire.events.ChannelEvent` signal to the request's ``callback``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from wire.common import Callback, Identifier, Model, PriceLine, ResultModel

ChannelName = Literal["ecommerce", "marketplace"]
PublicationStatus = Literal["PENDING", "LIVE", "REJECTED", "RETRACTED"]


class PublicationRequest(Model):
    promotion_id: Identifier
    prices: list[PriceLine] = Field(min_length=1)
    start: AwareDatetime
    end: AwareDatetime
    callback: Callback | None = None


class Publication(ResultModel):
    """What the channel holds for a promotion (read back)."""

    publication_id: str
    channel: ChannelName
    promotion_id: str
    version: int
    status: PublicationStatus
    prices: list[PriceLine]
    start: datetime
    end: datetime
    reason: str | None = None
    updated_at: datetime


__all__ = [
    "ChannelName",
    "Publication",
    "PublicationRequest",
    "PublicationStatus",
]
