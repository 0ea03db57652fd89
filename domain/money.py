"""Money: `Decimal` end to end, cent-exact, one rounding rule.

Every amount the product computes (prices, funding, refunds, costs) goes through `cents`:
round half up to the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def cents(value: Decimal | int) -> Decimal:
    """Round half up to the cent: the one rounding rule for money."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
