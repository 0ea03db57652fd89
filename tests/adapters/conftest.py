"""The adapter contract tests run against a live backoffice on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters import Backoffice
from tests.fixtures.backoffice import LiveBackoffice


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest) -> LiveBackoffice:
    """The backoffice under test: SQLite, then PostgreSQL (skipped if not installed)."""
    name = "backoffice" if request.param == "sqlite" else "backoffice_pg"
    bo: LiveBackoffice = request.getfixturevalue(name)
    return bo


@pytest.fixture
async def bo(live: LiveBackoffice) -> AsyncIterator[Backoffice]:
    async with live.adapters() as clients:
        yield clients
