"""Every workflow the worker registers.

Kept out of `workflows/__init__.py` on purpose: the workflow sandbox re-imports a
workflow's package for every run, and an `__init__` importing every workflow module made
each run pay for all of them (returns ran at half speed).
"""

from __future__ import annotations

from workflows.channel_publication import ChannelFanout, ChannelPublication
from workflows.inventory_rebalance import InventoryRebalance
from workflows.promotion_launch import PromotionLaunch
from workflows.return_to_refund import ReturnToRefund
from workflows.sell_through_monitor import SellThroughMonitor

ALL_WORKFLOWS: list[type] = [
    PromotionLaunch,
    ChannelPublication,
    ChannelFanout,
    SellThroughMonitor,
    InventoryRebalance,
    ReturnToRefund,
]
