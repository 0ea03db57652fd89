"""How adapters map failures: unreachable and 5xx are transient, 4xx are refusals."""

from __future__ import annotations

import httpx
import pytest

from adapters import BusinessRefusal, ErpClient, TransientError
from adapters.base import new_http_client


async def test_unreachable_is_transient_in_words() -> None:
    async with ErpClient("http://127.0.0.1:9", timeout_s=2) as erp:
        with pytest.raises(TransientError) as err:
            await erp.get_item("I0001")
    assert "not reachable" in err.value.message and err.value.system == "erp"


def _client(handler: httpx.MockTransport) -> ErpClient:
    http = httpx.AsyncClient(base_url="http://erp.test", transport=handler)
    return ErpClient(http=http)


async def test_status_mapping_at_the_edge() -> None:
    answers = {
        "/erp/items/a": httpx.Response(429, json={"error": "slow_down", "message": "too many"}),
        "/erp/items/b": httpx.Response(500, text="boom"),
        "/erp/items/c": httpx.Response(
            422, json={"error": "deal_expired", "message": "expired", "field": "deal_id"}
        ),
        "/erp/items/d": httpx.Response(200, json={"unexpected": True}),
    }
    erp = _client(httpx.MockTransport(lambda request: answers[request.url.path]))
    with pytest.raises(TransientError):
        await erp.get_item("a")
    with pytest.raises(TransientError) as err:
        await erp.get_item("b")
    assert err.value.status == 500
    with pytest.raises(BusinessRefusal) as refusal:
        await erp.get_item("c")
    assert refusal.value.code == "deal_expired" and refusal.value.field == "deal_id"
    with pytest.raises(TransientError) as bad_body:
        await erp.get_item("d")
    assert "cannot read" in bad_body.value.message


async def test_empty_idempotency_key_never_leaves_the_process() -> None:
    from decimal import Decimal

    from wire.erp import PostingRequest

    calls: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200)

    erp = _client(httpx.MockTransport(record))
    with pytest.raises(BusinessRefusal) as err:
        await erp.post(
            PostingRequest(kind="write_off", reference="x", amount=Decimal(1)), idempotency_key=" "
        )
    assert err.value.code == "missing_idempotency_key" and calls == []


def test_shared_pool() -> None:
    http = new_http_client("http://x/", timeout_s=3)
    assert str(http.base_url) == "http://x" and http.timeout.read == 3
