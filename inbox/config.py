"""The inbox's settings; every value has an environment variable.

| variable | default | what |
|---|---|---|
| `RETAIL_HOST` | 127.0.0.1 | where it listens |
| `RETAIL_INBOX_PORT` | 8302 | its port |
| `RETAIL_INBOX_KEY` | the demo key (`examples/keys/demo-inbox-1.pem`) | the issuer key it signs with |
| `RETAIL_INBOX_ACCOUNTS` | `examples/inbox/accounts.json` | local accounts (argon2 hashes) |
| `RETAIL_INBOX_SECRET` | generated into the devstack folder | signs the session cookies |
| `RETAIL_PROMOTION_POLICY` | `examples/policy/promotion.json` | who holds the promotion roles |
| `RETAIL_RETURNS_POLICY` | `examples/policy/returns.json` | who holds the return roles |
| `RETAIL_INBOX_OIDC_*` | unset: local accounts only | OpenID Connect log-in (`inbox.oidc`) |
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common.config import devstack_dir
from inbox.oidc import OidcSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KEY = REPO_ROOT / "examples" / "keys" / "demo-inbox-1.pem"
DEFAULT_ACCOUNTS = REPO_ROOT / "examples" / "inbox" / "accounts.json"
DEFAULT_PROMOTION_POLICY = REPO_ROOT / "examples" / "policy" / "promotion.json"
DEFAULT_RETURNS_POLICY = REPO_ROOT / "examples" / "policy" / "returns.json"
DEFAULT_PORT = 8302
SECRET_FILE_NAME = "inbox-session-secret"


class InboxConfigError(RuntimeError):
    """A setting the operator must fix, in one line."""


@dataclass(frozen=True)
class InboxConfig:
    host: str
    port: int
    key_path: Path
    accounts_path: Path
    secret: str
    promotion_policy: Path
    returns_policy: Path
    secure_cookies: bool = False
    oidc: OidcSettings | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InboxConfig:
        env = os.environ if environ is None else environ
        raw_port = env.get("RETAIL_INBOX_PORT", "").strip() or str(DEFAULT_PORT)
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise InboxConfigError(f"RETAIL_INBOX_PORT={raw_port!r} is not a port number")
        key = env.get("RETAIL_INBOX_KEY", "").strip()
        if "RETAIL_INBOX_KEY" in env and not key:
            raise InboxConfigError(
                "RETAIL_INBOX_KEY is empty: the inbox signs every decision and needs its "
                "issuer key (make one with `python starter.py keys new --issuer NAME`)"
            )
        return cls(
            host=env.get("RETAIL_HOST", "127.0.0.1") or "127.0.0.1",
            port=int(raw_port),
            key_path=Path(key or DEFAULT_KEY),
            accounts_path=Path(env.get("RETAIL_INBOX_ACCOUNTS", "") or DEFAULT_ACCOUNTS),
            secret=env.get("RETAIL_INBOX_SECRET", "") or session_secret(devstack_dir(env)),
            promotion_policy=Path(
                env.get("RETAIL_PROMOTION_POLICY", "") or DEFAULT_PROMOTION_POLICY
            ),
            returns_policy=Path(env.get("RETAIL_RETURNS_POLICY", "") or DEFAULT_RETURNS_POLICY),
            secure_cookies=env.get("RETAIL_INBOX_SECURE_COOKIES", "") == "1",
            oidc=OidcSettings.from_env(env),
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def session_secret(state_dir: Path) -> str:
    """The session secret kept in the devstack folder (mode 0600), made on first use."""
    path = state_dir / SECRET_FILE_NAME
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    state_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    return secret
