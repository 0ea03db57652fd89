"""The one price-line type: an item's regular and promotional price, and the offer in words.

Promotion plans, channel publications and the sell-through monitor all carry their prices
as `PriceLine`s.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PriceLine(BaseModel):
    """One item's regular and promotional price, and the offer in words ("20% off")."""

    model_config = ConfigDict(frozen=True)

    item_id: str = Field(min_length=1)
    regular_price: Decimal = Field(gt=0, decimal_places=2)
    promo_price: Decimal = Field(gt=0, decimal_places=2)
    offer: str = Field(min_length=1)

    @model_validator(mode="after")
    def _promo_not_above_regular(self) -> PriceLine:
        if self.promo_price > self.regular_price:
            raise ValueError(
                f"promo_price {self.promo_price} of item {self.item_id} is above its "
                f"regular_price {self.regular_price}"
            )
        return self
