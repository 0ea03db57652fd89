"""`starter.py keys`: personal signing keys for decisions, and signing with them.

    python starter.py keys new --person alice [--dir DIR] [--kid KID]
    python starter.py keys show ~/.config/retail-ops/keys/alice-20261201-1a2b3c.pem
    python starter.py keys sign --key KEY --workflow rebalance-P1 --step plan-approval \\
        --role supply_chain --decision approve --subject-hash sha256:...

`keys new` writes an Ed25519 private key (mode 0600, never over an existing file) and its
key card (issuer, key id, person) beside it, then prints the public key and the entry to
add to a policy's `trust.issuers`. The decision commands (`rebalance approve|cancel`,
`return approve|reject`) sign with the key given by `--key` or `RETAIL_DECISION_KEY`.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from cli.common import console, fail
from domain.identity import (
    ANY_PERSON,
    DecisionSigner,
    TrustedIssuer,
    load_private_key,
    new_private_key,
    personal_issuer,
    private_key_pem,
    public_key_text,
    sign_decision,
)

KEY_ENV = "RETAIL_DECISION_KEY"
"""The private key the decision commands sign with when `--key` is not given."""
KEYS_DIR_ENV = "RETAIL_KEYS_DIR"
CARD_SUFFIX = ".json"

app = typer.Typer(help="Personal signing keys for decisions.", no_args_is_help=True)


def default_dir() -> Path:
    return Path(os.environ.get(KEYS_DIR_ENV) or Path.home() / ".config" / "retail-ops" / "keys")


def card_path(key_path: Path) -> Path:
    return key_path.with_suffix(CARD_SUFFIX)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create `path` with `mode` from the start; refuse when it exists (never overwrite)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def new_key(
    directory: Path, *, person: str | None, issuer: str | None = None, kid: str | None = None
) -> tuple[Path, DecisionSigner]:
    """A new key and its card in `directory`. A personal key (`person`) vouches for its
    owner only; an issuer key without a person (an inbox, a demo) for whoever it signs as."""
    if person is None and issuer is None:
        raise ValueError("give the person the key is for (or the issuer it signs as)")
    key = new_private_key()
    fingerprint = public_key_text(key)[:6].replace("-", "x").replace("_", "y").lower()
    name = person or issuer or "key"
    kid = kid or f"{name}-{datetime.now(UTC):%Y%m%d}-{fingerprint}"
    signer = DecisionSigner(key=key, issuer=issuer or personal_issuer(name), kid=kid, person=person)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{kid}.pem"
    for existing in (path, card_path(path)):
        if existing.exists():
            raise FileExistsError(f"{existing} exists: a key is never overwritten")
    _write_new(path, private_key_pem(key), 0o600)
    card = {"issuer": signer.issuer, "kid": kid, "person": person}
    _write_new(card_path(path), (json.dumps(card, indent=1) + "\n").encode(), 0o644)
    return path, signer


def load_signer(path: Path | str) -> DecisionSigner:
    """The key at `path` with its card (issuer, key id, person) beside it."""
    key_path = Path(path).expanduser()
    try:
        key = load_private_key(key_path.read_bytes())
        card = json.loads(card_path(key_path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ValueError(f"{err.filename}: no such file (make one with `keys new`)") from None
    except (OSError, ValueError) as err:
        raise ValueError(f"{key_path}: not a decision key ({err})") from None
    return DecisionSigner(
        key=key, issuer=card["issuer"], kid=card["kid"], person=card.get("person")
    )


def signer_from(path: Path | str | None) -> DecisionSigner | None:
    """`--key`, else `RETAIL_DECISION_KEY`, else None (the decision goes unsigned, and a
    policy that refuses unsigned decisions says so)."""
    chosen = path or os.environ.get(KEY_ENV)
    return load_signer(chosen) if chosen else None


def sign_now(signer: DecisionSigner, ttl: timedelta | None = None, **claims: Any) -> str:
    """Sign with the wall clock and a fresh token id (what a person's decision does)."""
    return signer.sign(issued_at=datetime.now(UTC), jti=uuid.uuid4().hex, ttl=ttl, **claims)


def trust_entry(signer: DecisionSigner) -> TrustedIssuer:
    return signer.trusted_issuer()


def _print_key(path: Path, signer: DecisionSigner) -> None:
    entry = trust_entry(signer).model_dump(mode="json")
    console.print(f"key:        {path} (mode 0600)")
    console.print(f"issuer:     {signer.issuer}")
    console.print(f"key id:     {signer.kid}")
    console.print(f"public key: {public_key_text(signer.key)}")
    console.print("add to the policy's trust.issuers (or, when the issuer is there already,")
    console.print("add just the key to its keys: keep the old one until running work ends):")
    console.print_json(json.dumps(entry))


@app.command("new")
def new_cmd(
    person: str | None = typer.Option(None, "--person", help="whose key (it vouches for them)"),
    directory: Path | None = typer.Option(None, "--dir", help=f"default ${KEYS_DIR_ENV}"),
    kid: str | None = typer.Option(None, "--kid", help="key id (default: person-date-hash)"),
    issuer: str | None = typer.Option(
        None, "--issuer", help=f"an issuer key vouching for anyone ({ANY_PERSON!r}), no --person"
    ),
) -> None:
    """Write a new private key (mode 0600) and print what to add to the policy."""
    if (person is None) == (issuer is None):
        fail("give either --person (a personal key) or --issuer (an issuer's key)")
    try:
        path, signer = new_key(directory or default_dir(), person=person, issuer=issuer, kid=kid)
    except (FileExistsError, ValueError) as err:
        fail(str(err))
    _print_key(path, signer)


@app.command("show")
def show_cmd(key: Path = typer.Argument(..., help="a private key written by `keys new`")) -> None:
    """Print a key's issuer, key id, public key and policy entry."""
    try:
        signer = load_signer(key)
    except ValueError as err:
        fail(str(err))
    _print_key(key, signer)


@app.command("sign")
def sign_cmd(
    workflow_id: str = typer.Option(..., "--workflow", help="the workflow id decided"),
    step: str = typer.Option(..., "--step", help="the step decided"),
    role: str = typer.Option(..., "--role"),
    decision: str = typer.Option(..., "--decision", help="approve, reject, cancel, ..."),
    subject_hash: str = typer.Option(..., "--subject-hash", help="sha256:... of what you saw"),
    person: str | None = typer.Option(None, "--person", help="default: the key's owner"),
    key: Path | None = typer.Option(None, "--key", help=f"default ${KEY_ENV}"),
    ttl_minutes: int = typer.Option(15, "--ttl-minutes", min=1),
) -> None:
    """Print a decision token (for clients such as the `temporal` CLI)."""
    try:
        signer = signer_from(key)
    except ValueError as err:
        fail(str(err))
    if signer is None:
        fail(f"no key: give --key or set {KEY_ENV}")
    who = person or signer.person
    if who is None or (signer.person is not None and who != signer.person):
        fail(f"this key signs for {signer.person or 'the person you name with --person'}")
    token = sign_decision(
        signer.key,
        issuer=signer.issuer,
        kid=signer.kid,
        person=who,
        role=role,
        workflow_id=workflow_id,
        step=step,
        subject_hash=subject_hash,
        decision=decision,
        issued_at=datetime.now(UTC),
        jti=uuid.uuid4().hex,
        ttl=timedelta(minutes=ttl_minutes),
    )
    print(token)
