"""Sell-through monitoring while a promotion is live.

Every ``check_interval`` the monitor reads POS sales per region and item and compares them
with the forecast (`rules`): a slow seller gets a markdown, a fast one a transfer or
digital throttling. A recommendation inside the policy's bounds (`policy`) is applied
automatically (`effects`); outside them it waits for ``decide`` from an authorized role
(`decisions`). `contract` holds the workflow's names, messages and activity; `status` its
state and audit trail, carried across continue-as-new; `prices` the markdown arithmetic.
"""
