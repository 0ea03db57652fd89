"""Real data sets the simulations and benchmarks run on, prepared once and cached in `.datasets/`.

The data sets are public teaching data; nothing here is a retailer's real figures.
"""
