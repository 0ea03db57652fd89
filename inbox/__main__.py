"""`python -m inbox`: serve the approvals inbox (see `inbox.config` for its settings)."""

from __future__ import annotations

import json
import logging
import sys

import uvicorn

from cli.keys import load_signer
from common.config import Settings
from common.temporal import connect, data_converter
from domain.promotion.policy import PromotionPolicy
from domain.returns.policy import ReturnPolicy
from inbox.accounts import Accounts
from inbox.app import Inbox, create_app
from inbox.config import InboxConfig, InboxConfigError
from inbox.oidc import Oidc
from inbox.work import Policies


def build(config: InboxConfig) -> Inbox:
    """The inbox of `config`; ValueError (one line) when a file is missing or wrong."""
    try:
        signer = load_signer(config.key_path)
    except ValueError as err:
        raise ValueError(f"the inbox needs its issuer key (RETAIL_INBOX_KEY): {err}") from None
    if signer.person is not None:
        raise ValueError(
            f"{config.key_path} is {signer.person}'s personal key: the inbox signs with an "
            "issuer key (`python starter.py keys new --issuer NAME`)"
        )
    try:
        policies = Policies(
            promotion=PromotionPolicy.model_validate(
                json.loads(config.promotion_policy.read_text(encoding="utf-8"))
            ),
            returns=ReturnPolicy.model_validate(
                json.loads(config.returns_policy.read_text(encoding="utf-8"))
            ),
        )
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read a policy: {err}".splitlines()[0]) from None
    settings = Settings.from_env()
    return Inbox(
        accounts=Accounts.load(config.accounts_path),
        signer=signer,
        policies=policies,
        client=lambda: connect(settings, service_name="retail-inbox"),
        oidc=Oidc(config.oidc) if config.oidc else None,
    )


def main() -> int:
    try:
        config = InboxConfig.from_env()
        inbox = build(config)
        data_converter(who="the inbox")  # no payload key: refuse now, not at the first page
    except (InboxConfigError, ValueError, RuntimeError) as err:
        print(f"inbox: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(inbox, secret=config.secret, secure_cookies=config.secure_cookies)
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
