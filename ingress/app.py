"""The ingress app: ``POST /ingress/events`` signals a workflow with an event.

The body is a :class:`wire.events.IngressEvent`: ``{"workflow_id", "signal", "run_id"?,
"event": {...}}``. The ingress signals the workflow (by id; the latest run unless
``run_id`` is given) with the event as its one argument. It does not drop duplicates:
receivers do, by ``event["event_id"]``.

Events of the signals the workflows take from the systems (`EVENT_MODELS`: channel
acks, WMS events, store task completions, return receipts and inspections) are validated
against the very models the workflows' handlers read, so an event the workflow could not
read is refused here, with the field, instead of being delivered and lost.

Answers: 202 delivered; 400 ``invalid_input`` (no ``event.event_id``, a malformed body);
413 ``event_too_large`` (an event over `MAX_EVENT_BYTES`: final, Temporal would refuse the
signal and the sender would retry it forever);
422 ``invalid_event`` (the event does not fit the signal's model; ``field`` names the
first field at fault); 404 ``workflow_not_found`` (the sender retries for a while: the
workflow may not have started yet); 404 ``workflow_closed`` (the run has completed: final,
the sender must not retry); 503 ``temporal_unreachable`` or ``signal_failed`` when
Temporal cannot take the signal (the sender retries).
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ValidationError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from common.config import Settings
from common.signals import problem_words
from common.temporal import TemporalUnreachable, connect
from domain.promotion.contract import STORE_TASK_DONE, TaskDone
from domain.publication.contract import CHANNEL_ACK, ChannelAck
from domain.rebalance.contract import WMS_EVENT, WmsEvent
from domain.returns.contract import INSPECTION_RESULT, ITEM_RECEIVED, InspectionResult, ItemReceived
from ingress.config import IngressConfig
from ingress.errors import IngressError, install_error_handlers
from wire.events import IngressEvent

router = APIRouter(tags=["ingress"])

MAX_EVENT_BYTES = 256 * 1024
"""The largest event the ingress signals (serialized). Real events are a few hundred
bytes; Temporal refuses a signal over its 2 MB payload limit, which is no retryable fault."""

EVENT_MODELS: dict[str, type[BaseModel]] = {
    CHANNEL_ACK: ChannelAck,
    WMS_EVENT: WmsEvent,
    STORE_TASK_DONE: TaskDone,
    ITEM_RECEIVED: ItemReceived,
    INSPECTION_RESULT: InspectionResult,
}
"""Signal name -> the model its workflow handler reads (other signals pass unchecked)."""


def check_event(signal: str, event: dict[str, object]) -> None:
    """Refuse (422, naming the field) an event its workflow's handler could not read."""
    model = EVENT_MODELS.get(signal)
    if model is None:
        return
    try:
        model.model_validate(event)
    except ValidationError as err:
        field, words = problem_words(err, prefix="event")
        raise IngressError(
            422,
            "invalid_event",
            f"{signal} event does not fit {model.__name__}: {words}",
            field=field,
        ) from None


class TemporalLink:
    """One lazily connected Temporal client per process (connected on the first event)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await connect(self.settings, service_name="retail-ingress")
                    except TemporalUnreachable as err:
                        raise IngressError(503, "temporal_unreachable", str(err)) from err
        return self._client


@router.post("/ingress/events", status_code=202)
async def ingest(body: IngressEvent, request: Request) -> dict[str, str]:
    link: TemporalLink = request.app.state.temporal_link
    if "event_id" not in body.event:
        raise IngressError(
            400, "invalid_input", "event.event_id: is required", field="event.event_id"
        )
    size = len(json.dumps(body.event, default=str).encode())
    if size > MAX_EVENT_BYTES:
        raise IngressError(
            413,
            "event_too_large",
            f"the event is {size:,} bytes; the ingress takes at most {MAX_EVENT_BYTES:,} "
            "(final, do not retry)",
            field="event",
        )
    check_event(body.signal, body.event)
    client = await link.client()
    handle = client.get_workflow_handle(body.workflow_id, run_id=body.run_id)
    try:
        await handle.signal(body.signal, body.event)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND and "already completed" in err.message:
            raise IngressError(
                404,
                "workflow_closed",
                f"workflow {body.workflow_id!r} has already completed: {body.signal!r} "
                "cannot be delivered (final, do not retry)",
                field="workflow_id",
            ) from err
        if err.status == RPCStatusCode.NOT_FOUND:
            raise IngressError(
                404,
                "workflow_not_found",
                f"no running workflow {body.workflow_id!r} to signal {body.signal!r}: {err.message}",
                field="workflow_id",
            ) from err
        raise IngressError(503, "signal_failed", f"signal failed: {err.message}") from err
    return {"status": "delivered", "event_id": str(body.event["event_id"])}


@router.get("/health")
async def health(request: Request) -> dict[str, str]:
    """Up and listening; names the Temporal it signals (connected lazily, on first use)."""
    link: TemporalLink = request.app.state.temporal_link
    return {
        "status": "ok",
        "temporal": link.settings.temporal_address,
        "namespace": link.settings.namespace,
    }


def create_app(config: IngressConfig | None = None) -> FastAPI:
    """The ingress app; ``python -m ingress`` serves it."""
    config = config or IngressConfig()
    app = FastAPI(
        title="retail-ops event ingress",
        description="Events from the retail systems, delivered to workflows as signals.",
    )
    install_error_handlers(app)
    app.state.temporal_link = TemporalLink(config.temporal)
    app.include_router(router)
    return app
