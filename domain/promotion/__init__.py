"""Promotion launch: the plan, its policy, the pure rules that judge it, the contract.

One module per concern, no I/O: `plan` (offer, items, facts), `policy` (approval matrix
and launch rules), `validation`, `approvals`, `gates` (inventory coverage), `publishing`
(publication rounds and their outcomes), `kpis`, `status` (the query's model and the
workflow's state) and `contract` (names, messages, activities and their options).
"""
