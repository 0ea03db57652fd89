"""`workflows.identity.accept`: the handler-side check turns a refusal into an update
failure with its reason (never a workflow task failure) and spends the token."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from domain.identity import DecisionRefused, Refusal, VerifiedDecision
from workflows.identity import accept


def test_a_refusal_in_a_handler_fails_the_update_with_its_reason() -> None:
    def replayed() -> VerifiedDecision:
        raise DecisionRefused(Refusal.REPLAYED, "token t-1 was already used")

    with pytest.raises(ApplicationError) as err:
        accept(replayed)
    assert err.value.type == "replayed" and err.value.non_retryable
    assert "already used" in err.value.message

    def closed() -> VerifiedDecision:
        raise ValueError("this return was already approved")

    with pytest.raises(ApplicationError) as other:
        accept(closed)
    assert other.value.type == "DECISION_REFUSED"


def test_an_accepted_token_is_spent() -> None:
    seen: set[str] = set()
    proof = VerifiedDecision(person="sam", role="r", decision="approve", signed=True, jti="t-2")
    assert accept(lambda: proof, seen) is proof and seen == {"t-2"}
