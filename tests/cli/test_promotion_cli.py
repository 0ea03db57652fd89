"""`starter.py promotion ...` and `demo promotion` driven like a user would."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError
from typer.testing import CliRunner

from cli import demo_promotion
from tests.fixtures.promotion import PromoRig

REPO = Path(__file__).resolve().parents[2]
MALFORMED = REPO / "examples" / "promotions" / "malformed.json"
DEMO_KEY = str(REPO / "examples" / "keys" / "demo-inbox-1.pem")
"""The example policy trusts the demo inbox: the starter signs with its key (`--key`)."""


def cli_args(rig: PromoRig, *args: str) -> list[str]:
    target = rig.client.service_client.config.target_host
    return ["--address", target, "--task-queue", rig.settings.task_queue, *args]


async def invoke(args: list[str], **env: str) -> Any:
    """Run the CLI in a thread (it runs its own event loop, as from a shell)."""
    import starter

    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, starter.app, args, env={"COLUMNS": "250", **env})


async def test_malformed_plan_is_refused_with_field_and_reason_and_nothing_starts(
    promo_rig: PromoRig,
) -> None:
    result = await invoke(cli_args(promo_rig, "promotion", "launch", str(MALFORMED)))
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert "ends_at: Value error, must be after starts_at" in out
    assert "offer: Value error, a percent_off offer needs percent" in out
    assert "channels.1: Input should be 'erp', 'pos', 'ecommerce' or 'marketplace'" in out
    with pytest.raises(RPCError):
        await promo_rig.client.get_workflow_handle("promotion-BROKEN-1").describe()


async def test_launch_status_list_refusals_and_duplicate(
    promo_rig: PromoRig, tmp_path: Path
) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="CLI")
    path = tmp_path / "plan.json"
    path.write_text(plan.model_dump_json())
    with rig.env.with_time_skipping_disabled():
        first = await invoke(cli_args(rig, "promotion", "launch", str(path)))
    assert first.exit_code == 0, first.output
    assert f"promotion-{plan.promotion_id}" in first.output
    again = await invoke(cli_args(rig, "promotion", "launch", str(path)))
    assert again.exit_code == 1, again.output
    assert f"promotion {plan.promotion_id} already runs" in " ".join(again.output.split())

    handle = rig.client.get_workflow_handle(f"promotion-{plan.promotion_id}")
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    refused = await invoke(
        cli_args(rig, "promotion", "approve", plan.promotion_id, "--approver", "mallory")
    )
    assert refused.exit_code == 1
    assert "mallory is not an approver" in " ".join(refused.output.split())

    listed = ""
    for _ in range(300):  # visibility is eventually consistent (bounded: 30 s)
        result = await invoke(
            cli_args(
                rig,
                "promotion",
                "list",
                "--awaiting",
                "category_manager",
                "--state",
                "awaiting_approval",
            )
        )
        listed = result.output
        if plan.promotion_id in listed:
            break
        await asyncio.sleep(0.1)
    assert plan.promotion_id in listed

    approved = await invoke(
        cli_args(
            rig, "promotion", "approve", plan.promotion_id, "--approver", "alice", "--key", DEMO_KEY
        )
    )
    assert approved.exit_code == 0 and "approved by alice" in approved.output
    status = await invoke(cli_args(rig, "promotion", "status", plan.promotion_id))
    assert status.exit_code == 0
    assert "AWAITING_APPROVAL" in status.output and "finance" in status.output
    as_json = await invoke(cli_args(rig, "promotion", "status", plan.promotion_id, "--json"))
    assert json.loads(as_json.output)["state"] == "AWAITING_APPROVAL"
    cancelled = await invoke(
        cli_args(
            rig,
            "promotion",
            "cancel",
            plan.promotion_id,
            "--by",
            "alice",
            "--reason",
            "test over",
            "--key",
            DEMO_KEY,
        )
    )
    assert cancelled.exit_code == 0, cancelled.output
    assert (await handle.result())["state"] == "CANCELLED"
    watched = await invoke(cli_args(rig, "promotion", "status", plan.promotion_id, "--watch"))
    assert watched.exit_code == 0, watched.output
    # not a terminal: one line per change, then the final status
    assert f"{plan.promotion_id} v1 CANCELLED: cancelled and rolled back" in watched.output
    assert "ecommerce confirmations" in watched.output
    again = await invoke(
        cli_args(rig, "promotion", "cancel", plan.promotion_id, "--by", "alice", "--reason", "x")
    )
    assert again.exit_code == 1, again.output
    assert f"promotion {plan.promotion_id} has already finished: CANCELLED" in " ".join(
        again.output.split()
    )
    missing = await invoke(cli_args(rig, "promotion", "status", "NO-SUCH-PROMO"))
    assert missing.exit_code == 2 and "no promotion NO-SUCH-PROMO" in missing.output


async def test_demo_promotion_runs_end_to_end(promo_rig: PromoRig) -> None:
    """The demo shows the product working: tasks done (one late, one SLA alert), sales in
    the live window, the claim on units sold, the accrual settled, prices verified back."""
    rig = promo_rig
    from rich.console import Console

    out = Console(record=True, width=140)
    settings = rig.settings
    with rig.env.with_time_skipping_disabled():
        result = await demo_promotion.run_promotion_demo(
            settings,
            go_live_after=timedelta(seconds=8),
            live_for=timedelta(seconds=6),
            client=rig.client,
            out=out,
            poll_s=0.2,
        )
    text = out.export_text()
    assert result.state.value == "ENDED", result.reasons
    assert "mallory is not an approver" in text
    assert "LIVE" in text and "KPIs of promotion" in text
    assert "/namespaces/default/workflows/promotion-GROCERY-WEEKEND-" in text
    assert [e.action for e in result.audit].count("SLA missed") == 1
    assert result.task_counts.get("DONE") == sum(result.task_counts.values())
    assert result.kpis is not None and result.kpis.actual_units > 0
    # claimed on the units sold (the session's deal may be capped by earlier tests' claims)
    assert result.funding.claim_id and result.funding.settled
    assert result.funding.released == max(result.funding.accrued - result.funding.claimed, 0)
    assert any(e.action == "verified" for e in result.audit)
    assert "shoppers bought" in text and "accrual settled in the ERP" in text


async def test_unknown_items_stores_and_deal_are_refused_before_anything_starts(
    promo_rig: PromoRig, tmp_path: Path
) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="CLI-UNKNOWN")
    data = json.loads(plan.model_dump_json())
    data["items"][1]["item_id"] = "NO-SUCH-ITEM"
    data["stores"][0] = "S999"
    data["store_groups"] = ["region:atlantis"]
    data["vendor_deal_id"] = "D-NONE"
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(data))
    result = await invoke(
        cli_args(rig, "promotion", "launch", str(path)), BACKOFFICE_URL=rig.backoffice.url
    )
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert "items.1.item_id: item 'NO-SUCH-ITEM' is not in the ERP" in out
    assert "stores.0: store 'S999' is not in the ERP" in out
    assert "store_groups.0: store group 'region:atlantis' has no store" in out
    assert "vendor_deal_id: deal 'D-NONE' is not in the ERP" in out
    with pytest.raises(RPCError):
        await rig.client.get_workflow_handle(f"promotion-{plan.promotion_id}").describe()


async def test_an_unknown_store_group_is_refused_with_its_name_before_anything_starts(
    promo_rig: PromoRig, tmp_path: Path
) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="CLI-GROUPS")
    data = json.loads(plan.model_dump_json())
    data["store_groups"] = ["group:flagships", "group:ghost", "colour:red", "format:kiosk"]
    data["items"][0]["group_offers"] = [
        {
            "store_groups": ["zone:Z1", "group:nope"],
            "offer": {"type": "percent_off", "percent": "5"},
        }
    ]
    path = tmp_path / "groups.json"
    path.write_text(json.dumps(data))
    result = await invoke(
        cli_args(rig, "promotion", "launch", str(path)), BACKOFFICE_URL=rig.backoffice.url
    )
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert (
        "store_groups.1: store group 'group:ghost': the ERP defines no store group named "
        "'ghost'" in out
    )
    assert "store_groups.2: store group 'colour:red': unknown kind 'colour'" in out
    assert "store_groups.3: store group 'format:kiosk' has no store" in out
    assert (
        "items.0.group_offers.0.store_groups.1: store group 'group:nope': the ERP defines no "
        "store group named 'nope'" in out
    )
    assert "store_groups.0" not in out and "zone:Z1" not in out  # the known ones pass
    with pytest.raises(RPCError):
        await rig.client.get_workflow_handle(f"promotion-{plan.promotion_id}").describe()


async def test_a_plan_over_the_size_a_launch_takes_is_refused_in_one_line(
    promo_rig: PromoRig, tmp_path: Path
) -> None:
    from domain.promotion.plan import MAX_PLAN_CELLS

    rig = promo_rig
    stores = [f"S{n:04d}" for n in range(500)]
    items = [
        {"item_id": f"I{n:05d}", "forecast_units_per_store": 1}
        for n in range(MAX_PLAN_CELLS // len(stores) + 1)
    ]
    plan = rig.plan(prefix="CLI-HUGE", items=items, stores=stores)
    path = tmp_path / "huge.json"
    path.write_text(plan.model_dump_json())
    result = await invoke(cli_args(rig, "promotion", "launch", str(path)))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    n = len(items)
    assert (
        f"{n} items x 500 stores = {n * 500:,} cells; a launch takes at most {MAX_PLAN_CELLS:,}"
        in (result.output)
    )
    with pytest.raises(RPCError):
        await rig.client.get_workflow_handle(f"promotion-{plan.promotion_id}").describe()
