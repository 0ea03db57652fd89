"""The event ingress: turns backoffice events into Temporal signals.

``POST /ingress/events`` with ``{"workflow_id", "signal", "run_id"?, "event": {...}}``
signals the workflow (by id; the latest run unless ``run_id`` is given) with the event as
its one argument. It does not drop duplicates: receivers do, by ``event["event_id"]``.

Answers: 202 delivered; 404 ``workflow_not_found`` (the sender retries for a while: the
workflow may not have started yet); 503 when Temporal is unreachable. It lives in the
backoffice process by default; ``EVENT_INGRESS_URL`` lets the backoffice post to an
ingress running elsewhere (``create_ingress_app``).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, FastAPI, Request
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from backoffice.errors import ApiError, install_error_handlers
from common.temporal import data_converter
from wire.events import IngressEvent

router = APIRouter(prefix="/ingress", tags=["ingress"])


class TemporalLink:
    """One lazily connected Temporal client per process."""

    def __init__(self, address: str, namespace: str) -> None:
        self.address = address
        self.namespace = namespace
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await Client.connect(
                            self.address, namespace=self.namespace, data_converter=data_converter()
                        )
                    except RuntimeError as err:
                        raise ApiError(
                            503,
                            "temporal_unreachable",
                            f"Temporal is not reachable at {self.address}: {err}",
                        ) from err
        return self._client


@router.post("/events", status_code=202)
async def ingest(body: IngressEvent, request: Request) -> dict[str, str]:
    link: TemporalLink = request.app.state.temporal_link
    if "event_id" not in body.event:
        raise ApiError(400, "invalid_input", "event.event_id: is required", field="event.event_id")
    client = await link.client()
    handle = client.get_workflow_handle(body.workflow_id, run_id=body.run_id)
    try:
        await handle.signal(body.signal, body.event)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(
                404,
                "workflow_not_found",
                f"no running workflow {body.workflow_id!r} to signal {body.signal!r}: {err.message}",
                field="workflow_id",
            ) from err
        raise ApiError(503, "signal_failed", f"signal failed: {err.message}") from err
    return {"status": "delivered", "event_id": str(body.event["event_id"])}


def create_ingress_app(temporal_address: str, namespace: str = "default") -> FastAPI:
    """A stand-alone ingress (when split out of the backoffice)."""
    app = FastAPI(title="retail-ops event ingress")
    install_error_handlers(app)
    app.state.temporal_link = TemporalLink(temporal_address, namespace)
    app.include_router(router)
    return app
