"""Signals a workflow cannot read are recorded, never dropped in silence.

The SDK drops a signal whose payload does not deserialize into the handler's parameter type
(it logs "dropping the signal" and the event is lost). So the ingress-fed handlers are
wrapped by `reads(model, signal, record)`: the registered handler takes the raw payload and
validates it with the same model the ingress checks events against
(`ingress.app.EVENT_MODELS`); a refusal is recorded by the workflow (`record`: its status or
audit) and sets the `RetailProblem` search attribute, so `RetailProblem =
'unreadable_signal'` finds the run. Commands are unchanged for a readable payload (replay).

    @workflow.signal(name=WMS_EVENT)
    @reads(WmsEvent, WMS_EVENT, audited(lambda wf: wf.audit))
    def wms_event(self, event: WmsEvent) -> None: ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow

from common.search_attributes import RETAIL_PROBLEM

M = TypeVar("M", bound=BaseModel)

UNREADABLE_SIGNAL = "unreadable_signal"
"""The `RetailProblem` value of a workflow that received a signal it could not read."""


def problem_words(err: ValidationError, *, prefix: str = "") -> tuple[str, str]:
    """(the first field at fault, every problem in words) of a validation error."""
    problems = []
    first = ""
    for item in err.errors():
        field = ".".join(str(p) for p in item["loc"])
        field = f"{prefix}.{field}" if prefix and field else (field or prefix or "payload")
        first = first or field
        problems.append(f"{field}: {item['msg']}")
    return first, "; ".join(problems)


def read_signal(model: type[M], payload: Any) -> tuple[M | None, str]:
    """The payload as `model`, or None and why (in words, naming the fields)."""
    if isinstance(payload, model):
        return payload, ""
    try:
        return model.model_validate(payload), ""
    except ValidationError as err:
        return None, problem_words(err)[1]


def event_id_of(payload: Any) -> str:
    """The event id of a raw payload, for the record of an unreadable one."""
    if isinstance(payload, dict):
        return str(payload.get("event_id", "?"))
    return "?"


Recorder = Callable[[Any, str], None]
"""How a workflow records an unreadable signal: `record(workflow_instance, words)`."""


def audited(trail: Callable[[Any], Callable[[str, str, str], None]]) -> Recorder:
    """A recorder writing to an audit trail `trail(wf)(actor, action, detail)`."""
    return lambda wf, words: trail(wf)("workflow", "signal unreadable", words)


def reads(
    model: type[M], signal: str, record: Recorder
) -> Callable[[Callable[[Any, M], None]], Callable[[Any, Any], None]]:
    """Wrap a signal handler taking `model`: the registered one takes the raw payload,
    validates it, and records (never drops) one it cannot read."""

    def wrap(handler: Callable[[Any, M], None]) -> Callable[[Any, Any], None]:
        def raw(self: Any, payload: Any) -> None:
            value, problem = read_signal(model, payload)
            if value is None:
                record(self, f"{signal} {event_id_of(payload)}: {problem}")
                workflow.upsert_search_attributes([RETAIL_PROBLEM.value_set(UNREADABLE_SIGNAL)])
                return
            handler(self, value)

        raw.__name__ = handler.__name__
        raw.__qualname__ = handler.__qualname__
        raw.__doc__ = handler.__doc__
        return raw

    return wrap
