"""Scripted fakes shared by tests and benchmarks: one module per process.

Each fake is an activity registered under the same name as the real one (the name comes
from the process's contract), so `worker.build_worker(client, settings, fakes=[...])`
runs the worker's own registry with only the edge a test is about replaced. A fake whose
name the registry does not know is refused (`activities.with_fakes`).
"""
