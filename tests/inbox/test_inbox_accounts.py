"""Local accounts and the failed log-in limit, without a server."""

from __future__ import annotations

from inbox.accounts import Accounts, LoginLimiter
from inbox.config import DEFAULT_ACCOUNTS


def test_demo_accounts_check_their_passwords_and_nothing_else() -> None:
    accounts = Accounts.load(DEFAULT_ACCOUNTS)
    alice = accounts.check("alice", "demo-alice")
    assert alice is not None and alice.person == "alice"
    assert accounts.check("alice", "demo-frank") is None
    assert accounts.check("nobody", "demo-nobody") is None
    assert accounts.check("alice", "") is None


def test_the_limit_lifts_once_its_window_has_passed() -> None:
    now = [0.0]
    limiter = LoginLimiter(attempts=5, window_s=900, clock=lambda: now[0])
    for _ in range(5):
        assert not limiter.blocked("frank")
        limiter.failed("frank")
    assert limiter.blocked("frank") and not limiter.blocked("fatima")
    now[0] = 899.0
    assert limiter.blocked("frank")
    now[0] = 901.0
    assert not limiter.blocked("frank")
    limiter.failed("frank")
    limiter.succeeded("frank")
    assert not limiter.blocked("frank")


def test_made_up_names_do_not_grow_the_limiter_without_bound() -> None:
    now = [0.0]
    limiter = LoginLimiter(attempts=5, window_s=10, clock=lambda: now[0])
    limiter.max_tracked = 100
    for n in range(100):
        limiter.failed(f"made-up-{n}")
    now[0] = 20.0
    limiter.failed("one-more")
    assert len(limiter._failures) == 1
