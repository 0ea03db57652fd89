"""The activities on a live backoffice, each set closed after its test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from activities.channels import ChannelActivities
from activities.promotion import PromotionActivities
from tests.fixtures.backoffice import LiveBackoffice


@pytest.fixture
async def channels(backoffice: LiveBackoffice) -> AsyncIterator[ChannelActivities]:
    async with aclosing(ChannelActivities(backoffice.url)) as acts:
        yield acts


@pytest.fixture
async def promotion_acts(backoffice: LiveBackoffice) -> AsyncIterator[PromotionActivities]:
    async with aclosing(PromotionActivities(backoffice.url)) as acts:
        yield acts
