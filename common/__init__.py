"""Plumbing shared by the worker, the starter, the devstack and the tests.

Nothing here knows about retail: configuration from the environment, the Temporal
client (data converter, tracing, payload codec) and the search attribute keys.
"""
