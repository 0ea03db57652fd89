"""Pure rules of channel publication: request checks, batching, keys and merging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.publication import (
    Channel,
    PriceLine,
    PublicationAction,
    PublicationOutcome,
    PublicationRequest,
    TargetOutcome,
    idempotency_key,
    merge_outcomes,
    split_batches,
)

START = datetime(2026, 12, 1, 8, tzinfo=UTC)


def request(**changes: object) -> PublicationRequest:
    fields: dict[str, object] = {
        "promotion_id": "P1",
        "channel": Channel.POS,
        "action": PublicationAction.PUBLISH,
        "targets": [f"S{i:04d}" for i in range(1, 1001)],
        "lines": [
            PriceLine(
                item_id="SKU-1",
                regular_price=Decimal("10.00"),
                promo_price=Decimal("8.00"),
                offer="20% off",
            )
        ],
        "version": 1,
        "starts_at": START,
        "ends_at": START + timedelta(days=7),
        "ack_timeout": timedelta(minutes=5),
        "max_republish": 2,
    }
    fields.update(changes)
    return PublicationRequest.model_validate(fields)


def test_split_batches_keeps_every_target_once_in_order() -> None:
    req = request()
    batches = split_batches(req, 250)
    assert [len(b.targets) for b in batches] == [250, 250, 250, 250]
    assert [t for b in batches for t in b.targets] == req.targets
    assert all(b.version == 1 and b.channel is Channel.POS for b in batches)


def test_split_batches_last_batch_is_smaller_and_single_target_is_one_batch() -> None:
    assert [len(b.targets) for b in split_batches(request(targets=["A", "B", "C"]), 2)] == [2, 1]
    digital = request(channel=Channel.ECOMMERCE, targets=["*"])
    assert [b.targets for b in split_batches(digital, 250)] == [["*"]]


def test_split_batches_drops_the_erp_scope_from_other_channels() -> None:
    scope = [f"S{i}" for i in range(10)]
    [pos] = split_batches(request(targets=["S1"], scope_store_ids=scope), 250)
    assert pos.scope_store_ids == []
    erp = request(channel=Channel.ERP, targets=["*"], scope_store_ids=scope)
    assert split_batches(erp, 250)[0].scope_store_ids == scope


def test_split_batches_refuses_a_zero_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        split_batches(request(), 0)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"targets": []}, "targets"),
        ({"targets": ["S1", "S1"]}, "targets repeat: S1"),
        ({"targets": ["*"]}, "store by store"),
        ({"channel": Channel.ECOMMERCE, "targets": ["S1"]}, "single target '\\*'"),
        ({"ends_at": START}, "is not after starts_at"),
        ({"ack_timeout": timedelta(0)}, "ack_timeout must be longer than zero"),
        ({"lines": []}, "needs at least one price line"),
        ({"version": 0}, "version"),
        ({"starts_at": datetime(2026, 12, 1, 8)}, "timezone"),
    ],
)
def test_bad_requests_are_refused_in_words(changes: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        request(**changes)


def test_a_promo_price_above_the_regular_price_is_refused() -> None:
    with pytest.raises(ValidationError, match="above its regular_price"):
        PriceLine(
            item_id="SKU-1", regular_price=Decimal("5.00"), promo_price=Decimal("6.00"), offer="x"
        )


def test_retract_needs_no_lines() -> None:
    assert request(action=PublicationAction.RETRACT, lines=[]).lines == []


def test_idempotency_key_per_target_channel_action_version_and_republish() -> None:
    base = idempotency_key("P1", Channel.POS, PublicationAction.PUBLISH, 1, "S1")
    assert base == "promo:P1:pos:publish:v1:S1"
    others = {
        idempotency_key("P1", Channel.POS, PublicationAction.PUBLISH, 1, "S2"),
        idempotency_key("P1", Channel.ECOMMERCE, PublicationAction.PUBLISH, 1, "S1"),
        idempotency_key("P1", Channel.POS, PublicationAction.RETRACT, 1, "S1"),
        idempotency_key("P1", Channel.POS, PublicationAction.PUBLISH, 2, "S1"),
        idempotency_key("P1", Channel.POS, PublicationAction.PUBLISH, 1, "S1", attempt=2),
    }
    assert base not in others and len(others) == 5


def _part(targets: list[tuple[str, str]], **counts: int) -> PublicationOutcome:
    outcomes = [TargetOutcome(target=t, state=s, attempts=1) for t, s in targets]
    failed = sum(1 for _, s in targets if s == "FAILED")
    return PublicationOutcome(
        channel=Channel.POS,
        action=PublicationAction.PUBLISH,
        version=1,
        outcomes=outcomes,
        confirmed=len(outcomes) - failed,
        failed=failed,
        duplicate_acks_dropped=counts.get("dups", 0),
        reconciled_by_readback=counts.get("rec", 0),
        republished=counts.get("rep", 0),
    )


def test_merge_outcomes_orders_by_request_and_reports_missing_targets_failed() -> None:
    req = request(targets=["A", "B", "C", "D"])
    merged = merge_outcomes(
        req,
        [
            _part([("C", "CONFIRMED"), ("B", "FAILED")], dups=1, rec=2),
            _part([("A", "CONFIRMED")], rep=1),
        ],
    )
    assert [o.target for o in merged.outcomes] == ["A", "B", "C", "D"]
    assert merged.confirmed == 2 and merged.failed == 2
    assert merged.failed_targets == ["B", "D"]
    assert merged.outcomes[3].reason == "no outcome reported"
    assert (merged.duplicate_acks_dropped, merged.reconciled_by_readback, merged.republished) == (
        1,
        2,
        1,
    )


def test_merge_refuses_an_outcome_of_another_channel() -> None:
    req = request(channel=Channel.ERP, targets=["*"])
    with pytest.raises(ValueError, match="cannot merge"):
        merge_outcomes(req, [_part([("*", "CONFIRMED")])])


def test_requests_round_trip_through_json() -> None:
    req = request(targets=["S1", "S2"])
    assert PublicationRequest.model_validate_json(req.model_dump_json()) == req
