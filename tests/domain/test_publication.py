"""Pure rules of channel publication: request checks, batching, keys and merging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.publication.batch import BatchProgress, route_ack
from domain.publication.contract import (
    Channel,
    ChannelAck,
    PublicationAction,
    PublicationOutcome,
    PublicationRequest,
    ReadBackState,
    SendBatchResult,
    TargetOutcome,
    TargetSend,
    workflow_id,
)
from domain.publication.prices import PriceLine
from domain.publication.rules import (
    failed_batch,
    idempotency_key,
    merge_outcomes,
    split_batches,
    summarize,
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


def test_batch_child_ids_name_parent_channel_action_version_and_batch() -> None:
    req = request(targets=["S1"], version=3)
    assert workflow_id("promotion-P1", req, 2) == "promotion-P1-pub-pos-publish-v3-b2"


def test_a_failed_batch_reports_every_target_failed_with_the_reason() -> None:
    outcome = failed_batch(request(targets=["A", "B"]), "batch workflow failed: boom")
    assert (outcome.confirmed, outcome.failed, outcome.failed_targets) == (0, 2, ["A", "B"])
    assert {o.reason for o in outcome.outcomes} == {"batch workflow failed: boom"}
    assert summarize([outcome]) == "pos publish v1: 0 confirmed, 2 failed"
    assert summarize([]) == "nothing published"


def _sent(progress: BatchProgress, **confirmed: bool) -> None:
    progress.start_sending(progress.first_sends())
    progress.sent(
        SendBatchResult(
            sends=[
                TargetSend(
                    target=t,
                    idempotency_key=f"k-{t}",
                    sent=True,
                    confirmed=c,
                    publication_id=f"p-{t}",
                )
                for t, c in confirmed.items()
            ]
        )
    )


def _ack(event: str, publication_id: str, status: str = "confirmed") -> ChannelAck:
    return ChannelAck.model_validate(
        {"event_id": event, "publication_id": publication_id, "status": status, "reason": "no"}
    )


def test_acks_settle_sent_targets_and_duplicates_are_counted_once() -> None:
    progress = BatchProgress.of(request(targets=["A", "B", "C"]))
    _sent(progress, A=False, B=False, C=True)
    assert [t.name for t in progress.awaiting_acks()] == ["A", "B"]
    progress.receive_ack(_ack("e1", "p-A"))
    progress.receive_ack(_ack("e1", "p-A"))
    progress.receive_ack(_ack("e2", "p-B", status="rejected"))
    assert progress.all_acked() and progress.duplicates == 1
    outcome = progress.outcome()
    assert [(o.target, o.state) for o in outcome.outcomes] == [
        ("A", "CONFIRMED"),
        ("B", "FAILED"),
        ("C", "CONFIRMED"),
    ]
    assert outcome.outcomes[1].reason == "the channel rejected it: no"


def test_an_ack_before_its_send_returned_is_applied_once_it_has() -> None:
    progress = BatchProgress.of(request(channel=Channel.ECOMMERCE, targets=["*"]))
    progress.receive_ack(_ack("e1", "p-*"))
    assert progress.early_acks
    _sent(progress, **{"*": False})
    assert progress.early_acks == [] and progress.outcome().confirmed == 1


def test_read_back_reconciles_republishes_then_fails() -> None:
    progress = BatchProgress.of(request(targets=["A", "B", "C"], max_republish=1))
    _sent(progress, A=False, B=False, C=False)
    states = {
        "A": ReadBackState(target="A", done=True),
        "B": ReadBackState(target="B", done=False, detail="PENDING"),
        "C": ReadBackState(target="C", done=False, detail="REJECTED", refused=True),
    }
    again = progress.judge_read_back(progress.unsure(), states, "unused")
    assert [(a.target, a.attempt) for a in again] == [("B", 2)]
    assert (progress.reconciled, progress.republished) == (1, 1)
    progress.start_sending(again)
    progress.sent(SendBatchResult(sends=[TargetSend(target="B", idempotency_key="k", sent=True)]))
    assert progress.judge_read_back(progress.unsure(), {}, "read-back failed: down") == []
    [a, b, c] = progress.outcome().outcomes
    assert a.state == "CONFIRMED" and c.reason.startswith("the channel refused it")
    assert (b.state, b.attempts) == ("FAILED", 2)
    assert b.reason == (
        "no confirmation within the deadline after 2 send(s); the channel shows: "
        "read-back failed: down"
    )


def test_a_confirmed_revert_is_still_verified_by_reading_back() -> None:
    progress = BatchProgress.of(request(targets=["A"], action=PublicationAction.REVERT))
    _sent(progress, A=True)
    assert [t.name for t in progress.unsure()] == ["A"]
    progress.judge_read_back(progress.unsure(), {"A": ReadBackState(target="A", done=True)}, "")
    assert progress.reconciled == 0 and progress.outcome().confirmed == 1


def _ack_of(channel: Channel | None, publication_id: str | None, event: str = "e1") -> ChannelAck:
    return ChannelAck(event_id=event, channel=channel, publication_id=publication_id)


def test_an_ack_goes_to_the_batch_of_its_channel_holding_its_publication_id() -> None:
    web = BatchProgress.of(request(channel=Channel.ECOMMERCE, targets=["*"]))
    market = BatchProgress.of(request(channel=Channel.MARKETPLACE, targets=["*"]))
    for batch in (web, market):
        _sent(batch, **{"*": False})  # both channels answered publication id "p-*"
    assert route_ack([web, market], _ack_of(Channel.ECOMMERCE, "p-*")) is web
    assert route_ack([web, market], _ack_of(Channel.MARKETPLACE, "p-*")) is market
    # a late answer to a settled batch still goes to it (counted there, not lost)
    web.receive_ack(_ack_of(Channel.ECOMMERCE, "p-*"))
    assert web.settled() and route_ack([web, market], _ack_of(Channel.ECOMMERCE, "p-*")) is web
    # naming no channel, an ack goes to the newest batch holding its publication id
    assert route_ack([web, market], _ack_of(None, "p-*")) is market


def test_an_ack_before_its_send_returned_goes_to_the_batch_awaiting_that_answer() -> None:
    first = BatchProgress.of(request(channel=Channel.ECOMMERCE, targets=["*"]))
    _sent(first, **{"*": False})
    first.receive_ack(_ack_of(Channel.ECOMMERCE, "p-*"))
    later = BatchProgress.of(request(channel=Channel.ECOMMERCE, targets=["*"], version=2))
    later.start_sending(later.first_sends())  # its send has not returned yet
    early = ChannelAck(event_id="e2", channel=Channel.ECOMMERCE, publication_id="p-*", version=2)
    assert route_ack([first, later], early) is later


def test_a_stale_answer_never_confirms_a_later_call_of_the_same_publication() -> None:
    """A digital channel keeps one publication per promotion and counts its versions: an
    answer naming version 1 that comes while version 2 is being sent is kept aside, and
    only the answer naming version 2 confirms it."""
    batch = BatchProgress.of(request(channel=Channel.ECOMMERCE, targets=["*"], version=2))
    batch.start_sending(batch.first_sends())
    stale = ChannelAck(event_id="e1", channel=Channel.ECOMMERCE, publication_id="P", version=1)
    batch.receive_ack(stale)
    batch.sent(
        SendBatchResult(
            sends=[
                TargetSend(
                    target="*",
                    idempotency_key="k",
                    sent=True,
                    publication_id="P",
                    channel_version=2,
                )
            ]
        )
    )
    assert not batch.all_acked() and batch.early_acks == [stale]
    assert route_ack([batch], stale) is None  # nor would the launch route it here now
    fresh = stale.model_copy(update={"event_id": "e2", "version": 2})
    assert route_ack([batch], fresh) is batch
    batch.receive_ack(fresh)
    assert batch.all_acked() and batch.outcome().confirmed == 1


def test_an_ack_matching_no_batch_is_not_routed() -> None:
    web = BatchProgress.of(request(channel=Channel.ECOMMERCE, targets=["*"]))
    _sent(web, **{"*": False})
    assert route_ack([web], _ack_of(Channel.MARKETPLACE, "p-*")) is None
    assert route_ack([web], _ack_of(None, "unknown")) is None
    web.receive_ack(_ack_of(Channel.ECOMMERCE, "p-*"))
    assert route_ack([web], _ack_of(Channel.ECOMMERCE, "other")) is None


def _send(target: str, key: str, *, confirmed: bool = True, error: str = "") -> TargetSend:
    return TargetSend(
        target=target, idempotency_key=key, sent=not error, confirmed=confirmed, error=error
    )


def test_answers_of_one_bulk_call_cross_history_as_one_group() -> None:
    sends = [_send("A", "bulk-1"), _send("B", "bulk-1"), _send("C", "bulk-2")]
    sends += [_send("D", "bulk-2", error="POS answered REJECTED"), _send("E", "bulk-2")]
    grouped = SendBatchResult.of(sends, grouped=True, resumed=2)
    assert grouped.sends == [] and grouped.resumed == 2
    assert [(g.targets, g.idempotency_key, g.error) for g in grouped.groups] == [
        (["A", "B"], "bulk-1", ""),
        (["C"], "bulk-2", ""),
        (["D"], "bulk-2", "POS answered REJECTED"),
        (["E"], "bulk-2", ""),
    ]
    # the wire form decodes to the same answers; not asked, every target answers alone
    again = SendBatchResult.model_validate_json(grouped.model_dump_json())
    assert again == grouped
    assert SendBatchResult.of(sends, grouped=False).sends == sends


def test_grouped_and_per_target_answers_settle_a_batch_alike() -> None:
    sends = [_send("A", "k1"), _send("B", "k1", confirmed=False), _send("C", "k2", error="no")]
    outcomes = []
    for grouped in (False, True):
        progress = BatchProgress.of(request(targets=["A", "B", "C"]))
        progress.start_sending(progress.first_sends())
        progress.sent(SendBatchResult.of(sends, grouped=grouped))
        outcomes.append(([t.phase for t in progress.targets.values()], progress.outcome()))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == ["DONE", "SENT", "FAILED"]


def test_an_error_prefix_reaches_grouped_and_per_target_answers() -> None:
    sends = [_send("A", "k1"), _send("B", "k2", error="down")]
    for grouped in (False, True):
        result = SendBatchResult.of(sends, grouped=grouped).with_error_prefix("retried until T")
        errors = {t: a.error for targets, a in result.answers() for t in targets}
        assert errors == {"A": "", "B": "retried until T; down"}
