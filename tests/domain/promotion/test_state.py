"""The launch's state as one model: store windows, views, and the status it reports."""

from __future__ import annotations

from datetime import timedelta

from domain.promotion.contract import LaunchInput
from domain.promotion.gates import StoreGateState
from domain.promotion.monitoring import monitor_input, stores_by_region
from domain.promotion.state import LaunchState
from domain.promotion.status import PromotionState, StoreStatus
from domain.promotion.validation import validate_plan
from tests.domain.promotion.samples import NOW, facts, plan, policy


def launched(**plan_changes: object) -> LaunchState:
    s = LaunchState.start(LaunchInput(plan=plan(**plan_changes), policy=policy()))
    s.facts = facts()
    for store_id, store in s.facts.stores.items():
        s.stores[store_id] = StoreStatus(
            store_id=store_id, store_class=store.store_class, region=store.region, timezone="UTC"
        )
    return s


def test_a_new_state_starts_in_draft_with_every_channel_pending() -> None:
    s = LaunchState.start(LaunchInput(plan=plan(), policy=policy()))
    assert s.state is PromotionState.DRAFT
    assert s.launched_by == s.plan.submitted_by
    assert sorted(s.channels) == sorted(c.value for c in s.plan.channels)
    assert all(ch.state == "PENDING" for ch in s.channels.values())
    assert s.funding.deal_id == s.plan.vendor_deal_id


def test_store_windows_follow_the_store_in_store_time() -> None:
    s = launched()
    assert s.first_start == s.plan.starts_at and s.last_end == s.plan.ends_at
    assert s.facts is not None
    # facts are an activity's answer: a new reading replaces them whole
    in_store_time = s.facts.model_copy(deep=True)
    later = in_store_time.stores["S020"]
    later.starts_at = s.plan.starts_at + timedelta(hours=3)
    later.ends_at = s.plan.ends_at + timedelta(hours=3)
    s.facts = in_store_time
    assert s.window("S020") == (later.starts_at, later.ends_at)
    assert s.first_start == s.plan.starts_at
    assert s.last_end == s.plan.ends_at + timedelta(hours=3)


def test_the_launch_window_follows_a_plan_put_in_force() -> None:
    s = launched()
    assert s.facts is not None
    s.facts = s.facts.model_copy(update={"stores": {}})  # no store in store time
    assert s.last_end == s.plan.ends_at
    s.plan = s.plan.model_copy(update={"ends_at": s.plan.ends_at + timedelta(days=1)})
    assert s.last_end == s.plan.ends_at and s.first_start == s.plan.starts_at
    del s.stores["S020"]
    assert s.last_end == s.plan.ends_at


def test_status_names_the_awaited_role_only_while_awaiting_approval() -> None:
    s = launched()
    validation = validate_plan(s.plan, facts(), s.policy, now=NOW)
    assert validation.metrics is not None
    from domain.promotion.approvals import required_approvals

    s.approvals = required_approvals(validation.metrics, s.policy)
    s.state = PromotionState.VALIDATING
    assert s.status().awaiting_role is None
    s.state = PromotionState.AWAITING_APPROVAL
    assert s.status().awaiting_role == s.approvals[0].role


def test_the_monitor_watches_live_stores_per_region_with_forecast_per_region() -> None:
    s = launched()
    s.lines = validate_plan(s.plan, facts(), s.policy, now=NOW).lines
    s.stores["S001"].region = "west"
    for store_id in ("S001", "S004", "S011"):
        s.stores[store_id].published = True
        s.stores[store_id].gate = StoreGateState.READY
    by_region = stores_by_region(s.stores, s.live_stores())
    assert by_region == {"west": ["S001"], "east": ["S004", "S011"]}
    data = monitor_input(s.plan, s.lines, by_region, (s.first_start, s.last_end), s.policy)
    per_store = {i.item_id: i.forecast_units_per_store for i in s.plan.items}
    assert data.forecast_units["east"] == {k: v * 2 for k, v in per_store.items()}
    assert [i.item_id for i in data.items] == [line.item_id for line in s.lines]
