"""Inventory rebalancing: move stock from surplus to deficit and follow the transfers.

By concern: `contract` (the workflow's names, ids, messages and activities), `status`
(states and the status model), `policy`, `estate` (the network facts the planner reads),
`screening` (which stock-feed rows to trust), `plan` and `planner` (the pure planner),
`transfers` and `wms_events` (following transfer orders), `approvals`, `outcome`.
"""
