"""Every workflow the worker registers.

Kept out of `workflows/__init__.py` on purpose: the workflow sandbox re-imports a
workflow's package for every run, and an `__init__` importing every workflow module made
each run pay for all of them (returns ran at half speed).

Two lists of the same workflow types: an unversioned worker (the embedded stack, the
tests) registers `ALL_WORKFLOWS`; a worker that runs as a version of a Worker Deployment
registers `VERSIONED_WORKFLOWS` (`workflows/versioned/`), the same classes declaring their
versioning behaviour (pinned or auto-upgrade: `VERSIONING` in each contract). Two lists because the server
refuses a behaviour from an unversioned worker ("versioning behavior cannot be specified
without deployment options being set with versioned mode"), and a versioned worker refuses
a workflow without one; the SDK reads the behaviour from the class.
"""

from __future__ import annotations

from workflows.channel_publication import ChannelFanout, ChannelPublication
from workflows.inventory_rebalance import InventoryRebalance
from workflows.promotion_launch import PromotionLaunch
from workflows.return_to_refund import ReturnToRefund
from workflows.sell_through_monitor import SellThroughMonitor
from workflows.versioned.promotion import VersionedPromotionLaunch
from workflows.versioned.publication import VersionedChannelFanout, VersionedChannelPublication
from workflows.versioned.rebalance import VersionedInventoryRebalance
from workflows.versioned.returns import VersionedReturnToRefund
from workflows.versioned.sellthrough import VersionedSellThroughMonitor

ALL_WORKFLOWS: list[type] = [
    PromotionLaunch,
    ChannelPublication,
    ChannelFanout,
    SellThroughMonitor,
    InventoryRebalance,
    ReturnToRefund,
]
VERSIONED_WORKFLOWS: list[type] = [
    VersionedPromotionLaunch,
    VersionedChannelPublication,
    VersionedChannelFanout,
    VersionedSellThroughMonitor,
    VersionedInventoryRebalance,
    VersionedReturnToRefund,
]


def workflows_for(versioned: bool) -> list[type]:
    """What a worker registers: with versioning behaviours exactly when it is versioned."""
    return VERSIONED_WORKFLOWS if versioned else ALL_WORKFLOWS
