"""Each fault kind is observed, and the same seed gives the same faults."""

from __future__ import annotations

from decimal import Decimal

import pytest
from typer.testing import CliRunner

from adapters import Backoffice, BusinessRefusal, TransientError
from tests.adapters.helpers import key, uid
from tests.fixtures.backoffice import LiveBackoffice
from wire.control import FaultSpec
from wire.pos import RefundRequest
from wire.wms import RestockRequest


async def _pattern(bo: Backoffice, calls: int = 24) -> list[bool]:
    out = []
    for _ in range(calls):
        try:
            await bo.erp.get_item("I0001")
            out.append(False)
        except TransientError:
            out.append(True)
    return out


async def test_error_rate_is_repeatable_by_seed(backoffice: LiveBackoffice) -> None:
    async with backoffice.adapters() as bo:
        async with backoffice.fault("erp", "get_item", error_rate=0.5, seed=7):
            first = await _pattern(bo)
        async with backoffice.fault("erp", "get_item", error_rate=0.5, seed=7):
            second = await _pattern(bo)
        async with backoffice.fault("erp", "get_item", error_rate=0.5, seed=8):
            other = await _pattern(bo)
        assert first == second
        assert 0 < sum(first) < len(first)
        assert other != first
        assert await _pattern(bo, 3) == [False, False, False]  # cleared


async def test_transient_error_message_is_in_words(backoffice: LiveBackoffice) -> None:
    async with backoffice.adapters() as bo, backoffice.fault("erp", "*", error_rate=1, seed=1):
        with pytest.raises(TransientError) as err:
            await bo.erp.get_item("I0001")
    assert "injected error" in err.value.message and err.value.status == 503


async def test_refusal_rate_declines_a_tender(backoffice: LiveBackoffice) -> None:
    async with backoffice.adapters() as bo:
        order = await bo.pos.get_order("O00004")
        tender = order.tenders[0]
        async with backoffice.fault("pos", f"refund.{tender.tender_type}", refusal_rate=1):
            with pytest.raises(BusinessRefusal) as err:
                await bo.pos.refund(
                    RefundRequest(
                        order_id=order.order_id,
                        rma_id=uid("RMA"),
                        tender_type=tender.tender_type,
                        tender_id=tender.tender_id,
                        amount=Decimal("0.01"),
                    ),
                    idempotency_key=key(),
                )
    assert err.value.code == "tender_declined"


async def test_outage_window_then_recovery(backoffice: LiveBackoffice) -> None:
    async with backoffice.adapters() as bo:
        async with backoffice.fault("wms", outage_seconds=3600):
            with pytest.raises(TransientError) as err:
                await bo.wms.positions(location_ids=["S001"])
            assert "unavailable" in err.value.message and "outage" in err.value.message
            assert await bo.erp.get_item("I0001")  # other systems unaffected
        assert await bo.wms.positions(location_ids=["S001"])


async def test_latency_is_added_and_counted(backoffice: LiveBackoffice) -> None:
    async with backoffice.adapters() as bo:
        async with backoffice.fault("fraud", "score", latency_ms=50):
            from wire.fraud import FraudRequest

            await bo.fraud.score(
                FraudRequest(
                    rma_id="R",
                    customer_id="C0001",
                    value=Decimal("1.00"),
                    has_receipt=True,
                    days_since_purchase=1,
                )
            )
            [fault] = [f for f in await backoffice.faults() if f.spec.system == "fraud"]
    assert fault.injected["latency"] == 1 and fault.calls == 1


async def test_stale_stock_ignores_new_movements(backoffice: LiveBackoffice) -> None:
    async with backoffice.adapters() as bo:
        [before] = await bo.wms.positions(location_ids=["DC-WEST"], item_ids=["I0050"])
        async with backoffice.fault("wms", "positions", stale_stock=True) as fault:
            await bo.wms.restock(
                RestockRequest(
                    location_id="DC-WEST", item_id="I0050", quantity=5, reference=uid("RMA")
                ),
                idempotency_key=key(),
            )
            [stale] = await bo.wms.positions(location_ids=["DC-WEST"], item_ids=["I0050"])
        [fresh] = await bo.wms.positions(location_ids=["DC-WEST"], item_ids=["I0050"])
    assert stale.on_hand == before.on_hand and stale.as_of == fault.created_at
    assert fresh.on_hand == before.on_hand + 5


async def test_wrong_stock_is_repeatable_by_seed(backoffice: LiveBackoffice) -> None:
    async with backoffice.adapters() as bo:
        truth = await bo.wms.positions(location_ids=["S007"])
        async with backoffice.fault("wms", "positions", wrong_stock_rate=0.3, seed=3):
            wrong = await bo.wms.positions(location_ids=["S007"])
        async with backoffice.fault("wms", "positions", wrong_stock_rate=0.3, seed=3):
            again = await bo.wms.positions(location_ids=["S007"])
    differs = [t.item_id for t, w in zip(truth, wrong, strict=True) if t.on_hand != w.on_hand]
    assert 0 < len(differs) < len(truth)
    assert [p.on_hand for p in wrong] == [p.on_hand for p in again]


async def test_stock_factor_scales_only_the_named_locations(backoffice: LiveBackoffice) -> None:
    async with backoffice.adapters() as bo:
        truth = await bo.wms.positions(location_ids=["S007", "S008"], item_ids=["I0001"])
        async with backoffice.fault("wms", "positions", stock_factor=-1, stores=["S007"]) as fault:
            wrong = await bo.wms.positions(location_ids=["S007", "S008"], item_ids=["I0001"])
    by_store = {p.location_id: p.on_hand for p in truth}
    assert by_store["S007"] > 0, truth  # the seed stocks every store
    assert {p.location_id: p.on_hand for p in wrong} == {
        "S007": -by_store["S007"],
        "S008": by_store["S008"],
    }
    assert fault.spec.stock_factor == -1


async def test_fault_spec_bad_input(backoffice: LiveBackoffice) -> None:
    with pytest.raises(ValueError, match="backwards"):
        from datetime import UTC, datetime, timedelta

        t = datetime.now(UTC)
        FaultSpec(system="erp", outage_from=t, outage_until=t - timedelta(seconds=1))
    import httpx

    async with httpx.AsyncClient(base_url=backoffice.url) as http:
        response = await http.post("/faults", json={"system": "erp", "error_rate": 2})
    assert response.status_code == 400 and response.json()["field"] == "error_rate"
    assert await backoffice.faults() == []


def test_cli_set_list_clear(backoffice: LiveBackoffice) -> None:
    from starter import app

    runner = CliRunner()
    url = ["--url", backoffice.url]
    result = runner.invoke(
        app,
        [
            "faults",
            "set",
            "pos",
            "--operation",
            "refund.card",
            "--error-rate",
            "0.25",
            "--seed",
            "9",
            *url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "refund.card" in result.output
    listed = runner.invoke(app, ["faults", "list", *url])
    assert listed.exit_code == 0 and "error_rate=0.25" in listed.output
    cleared = runner.invoke(app, ["faults", "clear", *url])
    assert cleared.exit_code == 0 and "cleared 1" in cleared.output
    bad = runner.invoke(app, ["faults", "set", "pos", "--error-rate", "2", *url])
    assert bad.exit_code == 2 and "--error-rate" in bad.output
    unknown = runner.invoke(app, ["faults", "set", "bank", *url])
    assert unknown.exit_code == 2 and "SYSTEM" in unknown.output
    down = runner.invoke(app, ["faults", "list", "--url", "http://127.0.0.1:9"])
    assert down.exit_code == 3 and "not reachable" in down.output


async def test_a_fault_scoped_to_stores_refuses_only_calls_naming_them(
    backoffice: LiveBackoffice,
) -> None:
    from datetime import UTC, datetime, timedelta

    from wire.common import PriceLine
    from wire.pos import PriceBookRequest

    start = datetime.now(UTC) + timedelta(days=1)

    def request(store: str) -> PriceBookRequest:
        return PriceBookRequest(
            promotion_id=uid("P"),
            store_ids=[store],
            prices=[PriceLine(item_id="I0005", price=Decimal("1.99"))],
            start=start,
            end=start + timedelta(days=2),
        )

    async with backoffice.adapters() as bo:
        async with backoffice.fault(
            "pos", "publish_prices", refusal_rate=1, stores=["S011", "S020"]
        ) as fault:
            assert fault.spec.stores == ["S011", "S020"]
            with pytest.raises(BusinessRefusal) as err:
                await bo.pos.publish_prices(request("S011"), idempotency_key=key())
            assert "injected refusal" in err.value.message
            published = await bo.pos.publish_prices(request("S001"), idempotency_key=key())
            assert published.status == "PUBLISHED"
        assert (await bo.pos.publish_prices(request("S020"), idempotency_key=key())).status == (
            "PUBLISHED"
        )


async def test_a_fault_on_an_operation_no_call_uses_is_refused_with_the_real_ones(
    backoffice: LiveBackoffice,
) -> None:
    """`pos`/`publish` (the README's old example) can never fire: refused, names listed."""
    with pytest.raises(BusinessRefusal) as err:
        await backoffice.set_fault("pos", "publish", error_rate=0.3, seed=7)
    assert err.value.status == 422
    assert "publish_prices" in err.value.message and "refund.card" in err.value.message
    fault = await backoffice.set_fault("pos", "publish_prices", error_rate=0.3, seed=7)
    assert fault.spec.operation == "publish_prices"
    await backoffice.clear_faults()


def test_the_fault_catalogue_names_every_operation_the_routers_gate() -> None:
    """Every `gate(request, SYSTEM, "op")` in the routers is in `OPERATIONS`, and back."""
    import re
    from pathlib import Path

    from backoffice.faults import OPERATIONS
    from wire.control import SYSTEMS

    routers = Path(__file__).resolve().parents[2] / "backoffice" / "routers"
    gated: dict[str, set[str]] = {system: {"events"} for system in SYSTEMS}
    for path in routers.glob("*.py"):
        text = path.read_text()
        system = re.search(r'^SYSTEM = "(\w+)"', text, re.M)
        for op in re.findall(r'gate\(request, (?:SYSTEM|channel), "([\w.]+)"', text):
            for name in [system.group(1)] if system else ["ecommerce", "marketplace"]:
                gated[name].add(op)
    gated["pos"] |= {f"refund.{t}" for t in ("card", "gift_card", "store_credit", "cash")}
    assert {s: set(ops) for s, ops in OPERATIONS.items()} == gated
