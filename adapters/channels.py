"""E-commerce and marketplace: publish, retract and read back a promotion's prices.

A publication is **asynchronous**: :meth:`ChannelClient.publish` answers at once with
status ``PENDING``; the confirmation (``confirmed`` or ``rejected`` with a reason) comes
later as a :class:`wire.events.ChannelEvent` signal to ``request.callback`` (for
example ``Callback(workflow_id="promotion-P1", signal="channel_ack")``). A confirmation may
be late, duplicated or never come (faults); a workflow whose deadline passes reads the
channel back with :meth:`ChannelClient.read_back` (``LIVE`` means it was applied) and
republishes with a new idempotency key otherwise. Publishing the same promotion again with a
new key makes a new ``version`` (e.g. after a price change).

Marketplace policy: prices more than 70% below the item's regular price are rejected.
"""

from __future__ import annotations

from adapters.base import BaseAdapter
from wire.channels import ChannelName, Publication, PublicationRequest


class ChannelClient(BaseAdapter):
    """Typed client of one channel (``/ecommerce`` or ``/marketplace``)."""

    channel: ChannelName = "ecommerce"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.system = self.channel
        self.prefix = f"/{self.channel}"

    async def publish(self, request: PublicationRequest, *, idempotency_key: str) -> Publication:
        """Send the prices; the answer is ``PENDING``, the confirmation is an event."""
        return await self._call(
            "POST",
            "/publications",
            operation="publish",
            result=Publication,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def retract(
        self, promotion_id: str, *, idempotency_key: str, reason: str = ""
    ) -> Publication:
        """Take the promotion's prices down (synchronous); retracting twice is harmless."""
        return await self._call(
            "POST",
            f"/publications/{promotion_id}/retract",
            operation="retract",
            result=Publication,
            json={"reason": reason},
            idempotency_key=idempotency_key,
        )

    async def read_back(self, promotion_id: str) -> Publication:
        """What the channel shows now (``not_found`` refusal if never published)."""
        return await self._call(
            "GET", f"/publications/{promotion_id}", operation="read_back", result=Publication
        )


class EcommerceClient(ChannelClient):
    channel: ChannelName = "ecommerce"


class MarketplaceClient(ChannelClient):
    channel: ChannelName = "marketplace"


__all__ = ["ChannelClient", "EcommerceClient", "MarketplaceClient"]
