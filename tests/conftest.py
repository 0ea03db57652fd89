"""Shared fixtures: each area keeps its own in tests/fixtures/ and is imported here."""

from tests.fixtures.temporal import env, local_env, run_worker, task_queue

__all__ = ["env", "local_env", "run_worker", "task_queue"]
