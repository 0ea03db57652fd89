"""The FastAPI app: ``create_app(config)``; ``python -m backoffice`` serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from backoffice import faults as faults_module
from backoffice.config import BackofficeConfig
from backoffice.core import BackofficeState
from backoffice.db import Database
from backoffice.errors import install_error_handlers
from backoffice.faults import FaultRegistry
from backoffice.outbox import Outbox
from backoffice.routers import (
    channels,
    control,
    erp,
    erp_funding,
    erp_stores,
    fraud,
    pos,
    tasks,
    wms,
)
from backoffice.seed import seed_if_empty


def create_app(config: BackofficeConfig | None = None) -> FastAPI:
    config = config or BackofficeConfig()
    config.validate()
    state = BackofficeState(config=config, db=Database(config.database_url), faults=FaultRegistry())
    state.tickers = [wms.auto_progress, channels.confirm_due, tasks.auto_complete]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.seeded_at = await run_in_threadpool(seed_if_empty, state.db, config.estate_path)
        state.outbox = Outbox(state)
        state.outbox.start()
        try:
            yield
        finally:
            await state.outbox.stop()
            state.db.dispose()

    app = FastAPI(
        title="retail-ops backoffice",
        description="Reference ERP, POS, WMS, e-commerce, marketplace, store tasks and fraud "
        "systems with idempotency keys, an effects ledger, events and fault injection.",
        lifespan=lifespan,
    )
    app.state.backoffice = state
    install_error_handlers(app)
    app.include_router(control.router)
    app.include_router(faults_module.router)
    app.include_router(erp.router)
    app.include_router(erp_funding.router)
    app.include_router(erp_stores.router)
    app.include_router(pos.router)
    app.include_router(wms.router)
    for router in channels.routers:
        app.include_router(router)
    app.include_router(tasks.router)
    app.include_router(fraud.router)
    return app
