"""Typed httpx clients, one per external system (ERP, POS, WMS, channels, store tasks, fraud).

Build them together so they share one connection pool::

    from adapters import Backoffice
    backoffice = Backoffice(settings.backoffice_url, timeout_s=settings.http_timeout_s)
    item = await backoffice.erp.get_item("I0001")
    await backoffice.aclose()          # at worker shutdown (optional)

Every method returns a typed pydantic result or raises ``adapters.errors.TransientError``
(retry with the same idempotency key) or ``adapters.errors.BusinessRefusal`` (never
retried; ``code`` becomes the Temporal ``ApplicationError.type``, see
``activities/common.py``). Workflows never import this package: activities do.

The request and result models these methods take and return are the wire schemas in
``wire/`` (``wire.erp.PostingRequest``, ``wire.common.Callback``...), shared with the
backoffice; this package holds the clients and their errors only.
"""

from __future__ import annotations

from adapters.base import DEFAULT_TIMEOUT_S, new_http_client, new_idempotency_key
from adapters.channels import EcommerceClient, MarketplaceClient
from adapters.control import ControlClient
from adapters.erp import ErpClient
from adapters.errors import BackofficeError, BusinessRefusal, TransientError
from adapters.fraud import FraudClient
from adapters.pos import PosClient
from adapters.tasks import TasksClient
from adapters.wms import WmsClient


class Backoffice:
    """Every adapter on one shared ``httpx.AsyncClient`` (connection reuse)."""

    def __init__(self, base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = new_http_client(self.base_url, timeout_s=timeout_s)
        self.erp = ErpClient(http=self.http)
        self.pos = PosClient(http=self.http)
        self.wms = WmsClient(http=self.http)
        self.ecommerce = EcommerceClient(http=self.http)
        self.marketplace = MarketplaceClient(http=self.http)
        self.tasks = TasksClient(http=self.http)
        self.fraud = FraudClient(http=self.http)
        self.control = ControlClient(http=self.http)

    def channel(self, name: str) -> EcommerceClient | MarketplaceClient:
        """The channel adapter by name (``ecommerce`` or ``marketplace``)."""
        if name == "ecommerce":
            return self.ecommerce
        if name == "marketplace":
            return self.marketplace
        raise ValueError(f"unknown channel {name!r}: expected 'ecommerce' or 'marketplace'")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Backoffice:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = [
    "Backoffice",
    "BackofficeError",
    "BusinessRefusal",
    "ControlClient",
    "EcommerceClient",
    "ErpClient",
    "FraudClient",
    "MarketplaceClient",
    "PosClient",
    "TasksClient",
    "TransientError",
    "WmsClient",
    "new_idempotency_key",
]
