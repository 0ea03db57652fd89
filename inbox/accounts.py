"""Local accounts (argon2 password hashes in a JSON file) and the limit on failed log-ins.

    {"accounts": [{"person": "alice", "name": "Alice (category manager)",
                   "password_hash": "$argon2id$..."}]}

`python -m inbox.accounts hash` prints the hash of a password read from standard input.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field

HASHER = PasswordHasher()
_DUMMY_HASH = HASHER.hash("no such account")
"""Checked against when the account is unknown, so both answers take as long."""


class Account(BaseModel):
    person: str = Field(min_length=1)
    name: str = ""
    password_hash: str = Field(min_length=1)


class AccountFile(BaseModel):
    accounts: list[Account]


class Accounts:
    def __init__(self, accounts: list[Account]) -> None:
        self._by_person = {a.person: a for a in accounts}

    @classmethod
    def load(cls, path: Path) -> Accounts:
        try:
            data = AccountFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ValueError(f"{path}: no such accounts file (RETAIL_INBOX_ACCOUNTS)") from None
        except ValueError as err:
            raise ValueError(f"{path}: not an accounts file ({err})") from None
        return cls(data.accounts)

    def check(self, person: str, password: str) -> Account | None:
        """The account when the password is right, else None (unknown or wrong alike)."""
        account = self._by_person.get(person)
        try:
            HASHER.verify(account.password_hash if account else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return account


class LoginLimiter:
    """At most `attempts` failed log-ins per account within `window_s` (in memory)."""

    max_tracked = 10_000

    def __init__(
        self,
        attempts: int = 5,
        window_s: float = 15 * 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts, self.window_s, self._clock = attempts, window_s, clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, person: str) -> deque[float]:
        failures = self._failures.setdefault(person, deque())
        horizon = self._clock() - self.window_s
        while failures and failures[0] < horizon:
            failures.popleft()
        return failures

    def blocked(self, person: str) -> bool:
        return len(self._recent(person)) >= self.attempts

    def failed(self, person: str) -> None:
        if len(self._failures) >= self.max_tracked:  # names made up by the thousand
            for name in [n for n in self._failures if not self._recent(n)]:
                del self._failures[name]
        self._recent(person).append(self._clock())

    def succeeded(self, person: str) -> None:
        self._failures.pop(person, None)


def main(argv: list[str]) -> int:
    if argv[:1] != ["hash"]:
        print("usage: python -m inbox.accounts hash < password", file=sys.stderr)
        return 2
    print(HASHER.hash(sys.stdin.readline().rstrip("\n")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
