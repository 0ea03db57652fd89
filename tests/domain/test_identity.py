"""Decision tokens: every refusal `verify` gives, in words, and the one valid path.

Pure: a fixed clock, keys made here, no Temporal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import jwt
import pytest

from domain.identity import (
    LEGACY_UNSIGNED,
    REFUSE_ALL,
    DecisionRefused,
    DecisionSigner,
    Refusal,
    TrustedIssuer,
    TrustedKey,
    TrustPolicy,
    Verdict,
    canonical_json,
    new_private_key,
    personal_issuer,
    public_key_text,
    sign_decision,
    subject_hash,
    trust_in_force,
    verify,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WF = "rebalance-P1"
STEP = "plan-approval"
PLAN_V1 = {"plan_id": "P1", "version": 1, "price": Decimal("2.49")}
PLAN_V2 = {"plan_id": "P1", "version": 2, "price": Decimal("1.99")}
HOLDERS = {"supply_chain": ["sam"], "finance": ["frank"]}

INBOX = DecisionSigner(key=new_private_key(), issuer="inbox", kid="inbox-1")
SAM_KEY = DecisionSigner(
    key=new_private_key(), issuer=personal_issuer("sam"), kid="sam-1", person="sam"
)
TRUST = TrustPolicy(issuers=[INBOX.trusted_issuer(), SAM_KEY.trusted_issuer()])


def token(signer: DecisionSigner = INBOX, **changes: Any) -> str:
    claims: dict[str, Any] = {
        "person": "sam",
        "role": "supply_chain",
        "workflow_id": WF,
        "step": STEP,
        "subject": PLAN_V1,
        "decision": Verdict.APPROVE,
        "issued_at": NOW - timedelta(minutes=1),
        "jti": "token-0001",
    }
    claims.update(changes)
    return signer.sign(**claims)


def check(tok: str | None, **changes: Any) -> Any:
    args: dict[str, Any] = {
        "trust": TRUST,
        "now": NOW,
        "workflow_id": WF,
        "step": STEP,
        "subject_hash": subject_hash(PLAN_V1),
        "decision": Verdict.APPROVE,
        "seen_ids": set(),
        "holders": HOLDERS,
        "allowed_roles": ["supply_chain"],
        "person": "sam",
        "role": "supply_chain",
    }
    args.update(changes)
    return verify(tok, **args)


def refused(tok: str | None, reason: Refusal, words: str, **changes: Any) -> None:
    with pytest.raises(DecisionRefused) as err:
        check(tok, **changes)
    assert err.value.reason is reason, err.value
    assert words in str(err.value)


def test_a_valid_token_is_verified_with_issuer_key_and_token_id() -> None:
    proof = check(token())
    assert (proof.person, proof.role, proof.signed) == ("sam", "supply_chain", True)
    assert (proof.issuer, proof.kid, proof.jti) == ("inbox", "inbox-1", "token-0001")
    assert proof.audit_fields() == {"issuer": "inbox", "kid": "inbox-1", "token_id": "token-0001"}
    assert "signed by inbox (key inbox-1, token token-0001)" == proof.words()


def test_a_personal_key_proves_its_owner() -> None:
    assert check(token(SAM_KEY)).issuer == "key:sam"


def test_forged_signature_is_refused() -> None:
    forger = INBOX.model_copy(update={"key": new_private_key()})
    refused(token(forger), Refusal.BAD_SIGNATURE, "forged or altered")


def test_altered_claims_are_refused() -> None:
    header, payload, signature = token().split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["role"] = "finance"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    refused(f"{header}.{forged}.{signature}", Refusal.BAD_SIGNATURE, "forged or altered")


def test_unknown_issuer_is_refused() -> None:
    stranger = DecisionSigner(key=new_private_key(), issuer="elsewhere", kid="x-1")
    refused(token(stranger), Refusal.UNKNOWN_ISSUER, "issuer 'elsewhere' is not trusted")


def test_unknown_key_id_is_refused() -> None:
    retired = INBOX.model_copy(update={"kid": "inbox-0"})
    refused(token(retired), Refusal.UNKNOWN_KEY, "has no key 'inbox-0'")


def test_keys_rotate_old_and_new_kid_both_verify_while_listed() -> None:
    new = DecisionSigner(key=new_private_key(), issuer="inbox", kid="inbox-2")
    both = TrustedIssuer(
        issuer="inbox", keys=[INBOX.trusted_key(), new.trusted_key()], vouches_for=["*"]
    )
    trust = TrustPolicy(issuers=[both])
    assert check(token(INBOX), trust=trust).kid == "inbox-1"
    assert check(token(new), trust=trust).kid == "inbox-2"
    after = TrustPolicy(issuers=[new.trusted_issuer()])
    refused(token(INBOX), Refusal.UNKNOWN_KEY, "no key 'inbox-1'", trust=after)


def test_an_issuer_vouching_outside_its_scope_is_refused() -> None:
    # sam's personal key, signing for frank (bypassing the signer's own guard)
    tok = sign_decision(
        SAM_KEY.key,
        issuer=SAM_KEY.issuer,
        kid=SAM_KEY.kid,
        person="frank",
        role="finance",
        workflow_id=WF,
        step=STEP,
        subject_hash=subject_hash(PLAN_V1),
        decision=Verdict.APPROVE,
        issued_at=NOW,
        jti="token-0002",
    )
    refused(
        tok,
        Refusal.OUT_OF_SCOPE,
        "may not vouch for 'frank'",
        person="frank",
        role="finance",
        allowed_roles=None,
    )
    with pytest.raises(ValueError, match="signs for 'sam' only"):
        token(SAM_KEY, person="frank")


def test_a_person_claiming_a_role_they_do_not_hold_is_refused() -> None:
    tok = token(person="mallory")
    refused(tok, Refusal.ROLE_NOT_HELD, "'mallory' does not hold the role", person="mallory")


def test_a_role_that_cannot_take_this_decision_is_refused() -> None:
    tok = token(person="frank", role="finance")
    refused(tok, Refusal.ROLE_NOT_ALLOWED, "needs supply_chain", person="frank", role="finance")


def test_a_process_naming_no_holders_takes_no_signed_decision() -> None:
    refused(token(), Refusal.ROLE_NOT_HELD, "names nobody who holds", holders=None)


def test_the_payload_must_agree_with_the_token() -> None:
    refused(token(), Refusal.PERSON_MISMATCH, "names 'eve'", person="eve")
    refused(token(), Refusal.PERSON_MISMATCH, "claims role 'finance'", role="finance")


def test_a_token_for_another_workflow_is_refused() -> None:
    refused(token(workflow_id="rebalance-P2"), Refusal.WRONG_WORKFLOW, "not 'rebalance-P1'")


def test_a_token_for_another_step_is_refused() -> None:
    refused(token(step="cancel"), Refusal.WRONG_STEP, "step 'cancel', not 'plan-approval'")


def test_an_approval_of_version_1_is_refused_after_a_change_to_version_2() -> None:
    tok = token(subject=PLAN_V1)
    assert check(tok).signed
    refused(tok, Refusal.STALE_SUBJECT, "not what is current", subject_hash=subject_hash(PLAN_V2))


def test_a_token_for_another_decision_is_refused() -> None:
    refused(token(), Refusal.WRONG_DECISION, "says 'approve'", decision=Verdict.REJECT)


def test_an_expired_token_is_refused() -> None:
    old = token(issued_at=NOW - timedelta(hours=1))
    refused(old, Refusal.EXPIRED, "expired at 2026-12-01T08:15:00+00:00")
    within_leeway = token(issued_at=NOW - timedelta(minutes=15, seconds=10))
    assert check(within_leeway).signed  # 30 s of clock skew allowed


def test_a_token_from_the_future_or_too_long_lived_is_refused() -> None:
    refused(token(issued_at=NOW + timedelta(minutes=5)), Refusal.NOT_YET_VALID, "after now")
    refused(token(ttl=timedelta(days=3)), Refusal.TOO_LONG_LIVED, "longer than the policy")


def test_a_replayed_token_is_refused() -> None:
    refused(token(), Refusal.REPLAYED, "already used", seen_ids={"token-0001"})


def test_unsigned_decisions_are_refused_unless_the_policy_accepts_them() -> None:
    refused(None, Refusal.UNSIGNED, "accepts only signed decisions")
    refused(None, Refusal.UNSIGNED, "only signed", trust=REFUSE_ALL)
    proof = check(None, trust=LEGACY_UNSIGNED)
    assert (proof.signed, proof.person, proof.issuer) == (False, "sam", None)
    assert "unsigned" in proof.words()
    refused(None, Refusal.ROLE_NOT_HELD, "'eve' does not hold", trust=LEGACY_UNSIGNED, person="eve")


@pytest.mark.parametrize(
    "bad",
    [
        "not-a-token",
        jwt.encode({"sub": "sam"}, "s" * 32, algorithm="HS256"),
        jwt.encode({"sub": "sam"}, "", algorithm="none"),
    ],
    ids=["garbage", "hs256", "alg-none"],
)
def test_unreadable_or_wrongly_signed_tokens_are_refused(bad: str) -> None:
    refused(bad, Refusal.MALFORMED, "")


def test_an_hs256_token_made_with_the_public_key_is_refused() -> None:
    # the classic key-confusion attack: HMAC keyed with the (public) Ed25519 key
    claims = json.loads(jwt.utils.base64url_decode(token().split(".")[1]))
    confused = jwt.encode(
        claims, public_key_text(INBOX.key), algorithm="HS256", headers={"kid": "inbox-1"}
    )
    refused(confused, Refusal.MALFORMED, "only EdDSA")


def test_subject_hash_is_canonical() -> None:
    a = {"b": [1, {"y": Decimal("2.50"), "x": "é"}], "a": None}
    b = {"a": None, "b": [1, {"x": "é", "y": Decimal("2.50")}]}
    assert subject_hash(a) == subject_hash(b)
    assert canonical_json(a) == '{"a":null,"b":[1,{"x":"é","y":"2.50"}]}'
    assert subject_hash(PLAN_V1) != subject_hash(PLAN_V2)
    assert subject_hash(a).startswith("sha256:") and len(subject_hash(a)) == 71


def test_the_trust_policy_fails_closed_and_old_runs_keep_their_rules() -> None:
    assert TrustPolicy() == REFUSE_ALL and not REFUSE_ALL.accept_unsigned
    assert trust_in_force(TRUST, given=True, recorded_before_identities=True) is TRUST
    assert trust_in_force(TRUST, given=False, recorded_before_identities=False) is REFUSE_ALL
    assert trust_in_force(TRUST, given=False, recorded_before_identities=True) is LEGACY_UNSIGNED


def test_trust_models_refuse_bad_keys_and_duplicates() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TrustedKey(kid="k", public_key="AAAA")
    key = INBOX.trusted_key()
    with pytest.raises(ValueError, match="listed twice"):
        TrustedIssuer(issuer="i", keys=[key, key], vouches_for=["*"])
    with pytest.raises(ValueError, match="listed twice"):
        TrustPolicy(issuers=[INBOX.trusted_issuer(), INBOX.trusted_issuer()])
