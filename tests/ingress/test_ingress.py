"""The event ingress: its answers (202, 400, 404, 503) as a process of its own and in-process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from common.config import Settings
from devstack.processes import free_port
from domain.promotion.contract import STORE_TASK_DONE
from domain.publication.contract import CHANNEL_ACK
from domain.rebalance.contract import WMS_EVENT
from domain.returns.contract import INSPECTION_RESULT, ITEM_RECEIVED
from ingress.app import create_app
from ingress.config import IngressConfig
from tests.adapters.helpers import uid
from tests.backoffice.event_workflow import EVENT_SIGNAL, EventCollector
from tests.fixtures.backoffice import LiveBackoffice


async def test_ingress_refuses_unknown_workflow_and_bad_events(backoffice: LiveBackoffice) -> None:
    async with httpx.AsyncClient(base_url=backoffice.ingress_url) as http:
        missing = await http.post(
            "/ingress/events",
            json={
                "workflow_id": uid("nobody"),
                "signal": EVENT_SIGNAL,
                "event": {"event_id": "e1"},
            },
        )
        assert missing.status_code == 404 and missing.json()["error"] == "workflow_not_found"
        bad = await http.post(
            "/ingress/events", json={"workflow_id": "x", "signal": EVENT_SIGNAL, "event": {}}
        )
        assert bad.status_code == 400 and bad.json()["field"] == "event.event_id"


async def test_ingress_signals_a_running_workflow_with_the_event(
    env: WorkflowEnvironment, backoffice: LiveBackoffice, run_worker: Any, task_queue: str
) -> None:
    settings = replace(Settings(), backoffice_url=backoffice.url)
    wid = f"collector-{uuid.uuid4().hex[:10]}"
    async with run_worker(env.client, settings=settings, extra_workflows=[EventCollector]):
        handle = await env.client.start_workflow(
            EventCollector.run, 1, id=wid, task_queue=task_queue
        )
        async with httpx.AsyncClient(base_url=backoffice.ingress_url) as http:
            answer = await http.post(
                "/ingress/events",
                json={"workflow_id": wid, "signal": EVENT_SIGNAL, "event": {"event_id": "e7"}},
            )
        assert answer.status_code == 202
        assert answer.json() == {"status": "delivered", "event_id": "e7"}
        assert await handle.result() == [{"event_id": "e7"}]


async def test_the_backoffice_names_the_ingress_it_posts_to(backoffice: LiveBackoffice) -> None:
    async with httpx.AsyncClient() as http:
        health = (await http.get(f"{backoffice.url}/health")).json()
        mounted = await http.post(f"{backoffice.url}/ingress/events", json={})
    assert health["ingress"] == f"{backoffice.ingress_url}/ingress/events"
    assert mounted.status_code == 404  # the reference systems no longer serve the ingress


@pytest.fixture
async def unreachable_temporal() -> AsyncIterator[httpx.AsyncClient]:
    """The ingress app in-process, pointed at a Temporal nobody serves."""
    config = IngressConfig(
        temporal=replace(Settings(), temporal_address=f"127.0.0.1:{free_port()}")
    )
    transport = httpx.ASGITransport(app=create_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as http:
        yield http


async def test_unreachable_temporal_is_503_so_the_sender_retries(
    unreachable_temporal: httpx.AsyncClient,
) -> None:
    answer = await unreachable_temporal.post(
        "/ingress/events",
        json={"workflow_id": "w", "signal": EVENT_SIGNAL, "event": {"event_id": "e1"}},
    )
    assert answer.status_code == 503
    assert answer.json()["error"] == "temporal_unreachable"
    assert "is not reachable at 127.0.0.1:" in answer.json()["message"]


async def test_a_malformed_envelope_is_400_naming_the_field(
    unreachable_temporal: httpx.AsyncClient,
) -> None:
    answer = await unreachable_temporal.post(
        "/ingress/events", json={"workflow_id": "w", "signal": EVENT_SIGNAL, "extra": 1}
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "invalid_input" and body["field"] == "event"
    assert {"field": "extra", "reason": "is not a known field"} in body["problems"]


async def test_health_names_the_temporal_it_signals(
    unreachable_temporal: httpx.AsyncClient,
) -> None:
    health = (await unreachable_temporal.get("/health")).json()
    assert health["status"] == "ok" and health["temporal"].startswith("127.0.0.1:")


def test_a_bad_port_exits_2_in_words(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ingress.__main__ import main

    monkeypatch.setenv("RETAIL_INGRESS_PORT", "port")
    assert main() == 2
    assert "RETAIL_INGRESS_PORT='port' is not a port number" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("signal", "event", "field"),
    [
        (ITEM_RECEIVED, {"event_id": "e1", "receipt_id": 7, "source": "nowhere"}, "event."),
        (WMS_EVENT, {"event_id": "e1", "transfer_id": "T1", "step": "lost"}, "event.step"),
        (
            CHANNEL_ACK,
            {"event_id": "e1", "channel": "pos", "status": "maybe"},
            "event.",
        ),
        (STORE_TASK_DONE, {"event_id": "e1"}, "event."),
        (INSPECTION_RESULT, {"event_id": "e1", "condition": "shiny"}, "event."),
    ],
)
async def test_an_event_its_workflow_cannot_read_is_refused_naming_the_field(
    unreachable_temporal: httpx.AsyncClient, signal: str, event: dict[str, Any], field: str
) -> None:
    """Validated against the handler's own model before Temporal is even asked (so here,
    with Temporal unreachable, 422 and not 503): never 202 for an event that is lost."""
    answer = await unreachable_temporal.post(
        "/ingress/events", json={"workflow_id": "w", "signal": signal, "event": event}
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "invalid_event"
    assert body["field"].startswith(field)
    assert signal in body["message"]


async def test_an_event_over_the_size_limit_is_413_final_before_temporal_is_asked(
    unreachable_temporal: httpx.AsyncClient,
) -> None:
    """A 3 MB event would be refused by Temporal (over its 2 MB payload limit) as a 503 the
    sender retries forever: the ingress refuses it first, as final (a 4xx)."""
    answer = await unreachable_temporal.post(
        "/ingress/events",
        json={
            "workflow_id": "w",
            "signal": WMS_EVENT,
            "event": {"event_id": "e1", "note": "x" * 3_000_000},
        },
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "event_too_large"
    assert answer.json()["field"] == "event"
