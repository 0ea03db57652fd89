"""`starter.py keys`: a new key is private (0600), never overwritten, and signs tokens the
workflows verify; a personal key signs for its owner only."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.keys import KEY_ENV, load_signer, new_key, sign_now, signer_from
from domain.identity import TrustedIssuer, TrustPolicy, Verdict, subject_hash, verify
from starter import app


def _snippet(output: str) -> TrustedIssuer:
    start = output.index("{")
    return TrustedIssuer.model_validate(json.loads(output[start:]))


def test_keys_new_writes_a_private_key_and_prints_the_policy_entry(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["keys", "new", "--person", "alice", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [pem] = list(tmp_path.glob("*.pem"))
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    entry = _snippet(result.output)
    assert entry.issuer == "key:alice" and entry.vouches_for == ["alice"]
    assert entry.keys[0].kid == pem.stem and entry.keys[0].public_key in result.output
    again = CliRunner().invoke(
        app, ["keys", "new", "--person", "alice", "--dir", str(tmp_path), "--kid", pem.stem]
    )
    assert again.exit_code == 2 and "never overwritten" in again.output
    shown = CliRunner().invoke(app, ["keys", "show", str(pem)])
    assert shown.exit_code == 0 and _snippet(shown.output) == entry


def test_a_personal_key_signs_for_its_owner_only_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, signer = new_key(tmp_path, person="alice")
    monkeypatch.setenv(KEY_ENV, str(path))
    loaded = signer_from(None)
    assert loaded is not None and loaded.person == "alice" and loaded.kid == signer.kid
    claims: dict[str, Any] = {
        "role": "category_manager",
        "workflow_id": "promotion-P1",
        "step": "approval/category_manager",
        "subject": {"v": 1},
        "decision": Verdict.APPROVE,
    }
    token = sign_now(loaded, person="alice", **claims)
    proof = verify(
        token,
        trust=TrustPolicy(issuers=[loaded.trusted_issuer()]),
        now=datetime.now(UTC),
        workflow_id="promotion-P1",
        step="approval/category_manager",
        subject_hash=subject_hash({"v": 1}),
        decision="approve",
        seen_ids=(),
        holders={"category_manager": ["alice"]},
    )
    assert proof.issuer == "key:alice"
    with pytest.raises(ValueError, match="signs for 'alice' only"):
        sign_now(loaded, person="frank", **claims)


def test_keys_sign_prints_a_token_and_refuses_without_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    args = ["keys", "sign", "--workflow", "rebalance-P1", "--step", "plan-approval"]
    args += ["--role", "supply_chain", "--decision", "approve", "--subject-hash", "sha256:00"]
    missing = CliRunner().invoke(app, args)
    assert missing.exit_code == 2 and "no key" in missing.output
    path, _ = new_key(tmp_path, person="sam")
    result = CliRunner().invoke(app, [*args, "--key", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.count(".") == 2  # header.payload.signature
    other = CliRunner().invoke(app, [*args, "--key", str(path), "--person", "eve"])
    assert other.exit_code == 2 and "signs for sam" in other.output
    assert load_signer(path).person == "sam"
