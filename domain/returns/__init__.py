"""Returns-to-refund: the `ReturnToRefund` process's names, models and pure rules.

One module per concern: `contract` (the names, ids, messages and activities the workflow,
activities, CLI, tests and bench share), `request` (what the customer asks for and the
sale it points at), `policy` (the return policy as data), `eligibility`, `refund` (the
quote with its restocking fee and the allocation over the original tenders), `fraud`,
`approval`, `disposition`, `settlement` (refund mismatch and SLA) and `status` (the states
and what the `status` query answers). No I/O; importers name the submodule.
"""
