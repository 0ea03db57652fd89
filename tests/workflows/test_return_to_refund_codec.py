"""Customer data never stands in plain text in Temporal; the codec server reads it back.

The edge systems are scripted (the subject is the payload codec, not the backoffice).
"""

from __future__ import annotations

from typing import Any

import httpx
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from common.codec import EncryptionCodec, KeyRing, new_key, with_codec
from devstack.codec_server import build_app
from domain.returns.contract import InspectionResult, ItemReceived
from domain.returns.disposition import Condition
from domain.returns.request import TenderType
from domain.returns.status import ReturnState
from fakes.returns import ScriptedReturnSystems
from tests.fixtures.returns import return_request, start_return
from workflows.return_to_refund import ReturnToRefund


async def run_return(
    client: Client, run_worker: Any, systems: ScriptedReturnSystems, task_queue: str
) -> tuple[Any, str]:
    request = return_request()
    async with run_worker(client, fakes=systems.activities()):
        handle = await start_return(client, task_queue, request)
        await handle.signal(ReturnToRefund.item_received, ItemReceived(receipt_id="SCAN-7"))
        await handle.signal(
            ReturnToRefund.inspection_result,
            InspectionResult(inspector="ines", condition=Condition.DEFECTIVE),
        )
        status = await handle.result()
    assert status.state is ReturnState.CLOSED
    return handle, request.customer.email


async def test_history_holds_no_customer_email_but_the_codec_server_decodes_it(
    codec_client: tuple[Client, EncryptionCodec],
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    client, codec = codec_client
    scripted_returns.declined_methods = {TenderType.CARD}  # failures in history too
    handle, email = await run_return(client, run_worker, scripted_returns, task_queue)

    history = await handle.fetch_history()  # raw events, as the server stores them
    raw = history.to_json()
    wire = b"".join(e.SerializeToString() for e in history.events)
    assert email not in raw and email.encode() not in wire
    assert "Ada Lovelace" not in raw and b"Ada Lovelace" not in wire
    assert b"tender declined" not in wire  # failure messages are encrypted as well

    started = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    body = json_format.MessageToJson(started.workflow_execution_started_event_attributes.input)
    app = build_app(codec, origins=["http://localhost:8233"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://codec"
    ) as http:
        answer = await http.post(
            "/decode",
            content=body,
            headers={"Origin": "http://localhost:8233", "X-Namespace": "default"},
        )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "http://localhost:8233"
    decoded = json_format.Parse(answer.text, Payloads())
    assert email.encode() in decoded.payloads[0].data


async def test_key_rotation_still_decodes_old_workflows(
    env: WorkflowEnvironment,
    codec_client: tuple[Client, EncryptionCodec],
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    client, codec = codec_client
    old_handle, email = await run_return(client, run_worker, scripted_returns, task_queue)
    old_ring = codec.ring  # the key in force before the rotation
    rotated = KeyRing(active="rotated", keys={**old_ring.keys, "rotated": new_key()})
    after = await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        data_converter=with_codec(pydantic_data_converter, EncryptionCodec(rotated)),
    )
    old = after.get_workflow_handle_for(ReturnToRefund.run, old_handle.id)
    status = await old.result()  # the old result payload, decoded with the old key
    assert status.state is ReturnState.CLOSED
    old_history = await old.fetch_history()
    sealed = old_history.events[0].workflow_execution_started_event_attributes.input.payloads
    assert sealed[0].metadata["encryption-key-id"] == old_ring.active.encode()
    (opened,) = await EncryptionCodec(rotated).decode(sealed)
    assert email.encode() in opened.data
    new_handle, _ = await run_return(after, run_worker, scripted_returns, task_queue)
    history = await new_handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert started.metadata["encryption-key-id"] == b"rotated"
