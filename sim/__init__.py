"""The promotion week simulator: one real week of The Complete Journey run through the stack.

`sim.world` turns the prepared week into an estate and promotion events, `sim.stack` starts
the stack, `sim.actors` plays the people, `sim.faults` the fault profiles, `sim.kpis` reads
the figures back from the backoffice ledger and the workflows, `sim.report` writes them,
`sim.run` runs it all. The data set is simulated for teaching.
"""
