"""Store tasks answered in groups: a bulk creation of thousands of tasks crosses history as
a few groups, and reads back as the very tasks one entry a task would give."""

from __future__ import annotations

from datetime import timedelta

from domain.promotion.contract import TasksResult
from domain.promotion.status import TaskStatus
from tests.domain.promotion.samples import NOW


def _task(store: str, kind: str = "signage", hours: int = 0, state: str = "OPEN") -> TaskStatus:
    return TaskStatus.model_validate(
        {
            "task_id": f"P1-{store}-{kind}",
            "store_id": store,
            "kind": kind,
            "due_at": NOW + timedelta(hours=hours),
            "state": state,
        }
    )


def test_tasks_alike_but_for_their_store_cross_as_one_group_and_read_back_the_same() -> None:
    tasks = [_task("S001"), _task("S002"), _task("S003", state="DONE"), _task("S004")]
    tasks += [_task("S001", kind="labor", hours=-2), _task("S002", kind="labor", hours=-2)]
    grouped = TasksResult.of(tasks, grouped=True)
    assert grouped.tasks == []
    assert [(g.kind, g.state, g.store_ids) for g in grouped.groups] == [
        ("signage", "OPEN", ["S001", "S002"]),
        ("signage", "DONE", ["S003"]),
        ("signage", "OPEN", ["S004"]),
        ("labor", "OPEN", ["S001", "S002"]),
    ]
    wire = TasksResult.model_validate_json(grouped.model_dump_json())
    assert wire.all_tasks() == tasks  # the same tasks, in the activity's order


def test_tasks_not_asked_for_groups_answer_one_entry_a_task() -> None:
    tasks = [_task("S001"), _task("S002")]
    plain = TasksResult.of(tasks, grouped=False)
    assert plain.groups == [] and plain.all_tasks() == tasks
    # a result recorded before groups reads as it always did
    assert (
        TasksResult.model_validate({"tasks": [t.model_dump() for t in tasks]}).all_tasks() == tasks
    )
