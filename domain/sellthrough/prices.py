"""Prices while a promotion is live: markdowns on top of the promotional price."""

from __future__ import annotations

from decimal import Decimal

from domain.money import CENT, HUNDRED, cents
from domain.publication.prices import PriceLine
from domain.sellthrough.status import MonitorState, key


def marked_down_price(price: Decimal, pct: Decimal) -> Decimal:
    """``price`` less ``pct`` percent, to the cent, never below one cent."""
    return max(cents(price * (HUNDRED - pct) / HUNDRED), CENT)


def current_price(state: MonitorState, region: str, item: PriceLine) -> Decimal:
    """The item's price in the region now: its promotional price less the markdowns applied."""
    pct = state.markdown_pct.get(key(region, item.item_id), Decimal("0"))
    return marked_down_price(item.promo_price, pct) if pct else item.promo_price
