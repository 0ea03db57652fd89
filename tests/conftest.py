"""Shared fixtures: each area keeps its own in tests/fixtures/ and is imported here."""

from tests.fixtures.backoffice import backoffice, backoffice_factory, backoffice_pg, postgres
from tests.fixtures.promotion import fast_promo_rig, promo_rig
from tests.fixtures.publication import channel_rig, monitor_rig, stuck_channel_rig
from tests.fixtures.rebalance import fake_inventory
from tests.fixtures.returns import codec_client, scripted_returns, seeded_orders
from tests.fixtures.temporal import codec_keys, env, local_env, run_worker, task_queue

__all__ = [
    "backoffice",
    "backoffice_factory",
    "backoffice_pg",
    "channel_rig",
    "codec_client",
    "codec_keys",
    "env",
    "fake_inventory",
    "fast_promo_rig",
    "local_env",
    "monitor_rig",
    "postgres",
    "promo_rig",
    "run_worker",
    "scripted_returns",
    "seeded_orders",
    "stuck_channel_rig",
    "task_queue",
]
