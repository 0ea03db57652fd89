"""Traces of a promotion launch: the OpenTelemetry interceptor `common.temporal.connect`
installs, checked with an in-memory exporter on the fast tier (`fakes.promotion`, the
`fast_promo_rig` set-up with a traced client, so its worker is traced too).

StartWorkflow:PromotionLaunch (client) -> RunWorkflow and the launch's first activities
(StartActivity -> RunActivity) -> StartChildWorkflow -> the child's RunWorkflow and its
activities. The workflow side parents its spans to the context of the activation that made
them (the SDK interceptor's rule): the work an approval resumes sits under that update's
trace. Exactly one span per activity scheduled and child started (counted against every
workflow's history), and a `Replayer` with the interceptor over those histories adds none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from common.config import Settings
from domain.promotion.status import PromotionState, PromotionStatus
from tests.fixtures.promotion import FastRig, load_policy
from tests.workflows.test_promotion_launch_orchestration import FEW_CHECKS, approve_pending
from workflows.registry import ALL_WORKFLOWS


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> TracingInterceptor:
    """The project's interceptor over a provider of our own (the global one stays as is)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return TracingInterceptor(provider.get_tracer("retail-ops-test"))


@dataclass
class TracedRig(FastRig):
    """The fast tier, its client (and so its worker) traced."""

    traced: Client | None = field(default=None)

    @property
    def client(self) -> Any:
        return self.traced


@pytest.fixture
async def traced_rig(
    env: WorkflowEnvironment, run_worker: Any, task_queue: str, tracing: TracingInterceptor
) -> Any:
    config = env.client.config()
    config["interceptors"] = [tracing]
    client = Client(**config)
    rig = TracedRig(env=env, backoffice=None, settings=replace(Settings(), task_queue=task_queue))
    rig.traced = client
    async with run_worker(client, fakes=rig.retail.activities()):
        try:
            yield rig
        finally:
            rig.retail.release_all()


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def descendants(spans: list[ReadableSpan], root: ReadableSpan) -> Iterator[ReadableSpan]:
    for child in children(spans, root):
        yield child
        yield from descendants(spans, child)


def history_counts(history: WorkflowHistory) -> Counter[str]:
    """What the history says was started: activities by type, children by workflow type."""
    counts: Counter[str] = Counter()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            counts[
                f"StartActivity:{event.activity_task_scheduled_event_attributes.activity_type.name}"
            ] += 1
        elif event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            attrs = event.start_child_workflow_execution_initiated_event_attributes
            counts[f"StartChildWorkflow:{attrs.workflow_type.name}"] += 1
    return counts


async def test_a_launch_traces_start_workflow_activities_and_children_once(
    traced_rig: TracedRig, exporter: InMemorySpanExporter, tracing: TracingInterceptor
) -> None:
    rig = traced_rig
    plan = rig.plan(prefix="TRACED", length=timedelta(days=1))
    policy = load_policy(**FEW_CHECKS)
    # POS per store: its stores go to ChannelPublication batch children (traced below),
    # the chain-wide channels are sent by the launch itself
    pos = policy.publication.pos.model_copy(update={"mode": "per_store"})
    policy = policy.model_copy(
        update={"publication": policy.publication.model_copy(update={"pos": pos})}
    )
    handle = await rig.launch(plan, policy)
    await approve_pending(rig, handle)
    await rig.wait_state(handle, "SCHEDULED")
    await rig.env.fast_forward(handle)
    result: PromotionStatus = await handle.result()
    assert result.state is PromotionState.ENDED, result.reasons

    spans = list(exporter.get_finished_spans())
    roots = [s for s in spans if s.parent is None]
    (start,) = [s for s in roots if s.name == "StartWorkflow:PromotionLaunch"]
    assert start.attributes and start.attributes["temporalWorkflowID"] == handle.id
    # the launch: its run and its first activities under the client's start
    under_start = [c.name for c in children(spans, start)]
    assert under_start.count("RunWorkflow:PromotionLaunch") == 1, under_start
    assert "StartActivity:promotion_lookup_facts" in under_start, under_start
    # this exporter saw this launch only (its own worker, task queue and tracer)
    tree = spans
    assert {s.attributes["temporalWorkflowID"] for s in roots if s.attributes} == {handle.id}
    names = Counter(s.name for s in tree)
    assert names["CompleteWorkflow:PromotionLaunch"] == 1
    assert names["HandleUpdate:approve"] == names["ValidateUpdate:approve"] >= 1
    # each activity started runs once, under its start
    activity_starts = [s for s in tree if s.name.startswith("StartActivity:")]
    for started in activity_starts:
        kind = started.name.split(":", 1)[1]
        assert [c.name for c in children(spans, started)] == [f"RunActivity:{kind}"], kind
    # each child workflow started runs once, under its start, with its own activities
    child_starts = [s for s in tree if s.name.startswith("StartChildWorkflow:")]
    assert {s.name for s in child_starts} >= {
        "StartChildWorkflow:ChannelPublication",
        "StartChildWorkflow:SellThroughMonitor",
    }, sorted(names)
    for started in child_starts:
        kind = started.name.split(":", 1)[1]
        runs = [c for c in children(spans, started) if c.name == f"RunWorkflow:{kind}"]
        assert len(runs) == 1, (started.name, [c.name for c in children(spans, started)])
    publication = next(s for s in child_starts if s.name.endswith(":ChannelPublication"))
    assert "RunActivity:channel_send_batch" in {s.name for s in descendants(spans, publication)}
    launch_sends = [
        s
        for s in activity_starts
        if s.name == "StartActivity:channel_send_batch"
        and s.attributes
        and s.attributes["temporalWorkflowID"] == handle.id
    ]
    assert launch_sends, "the chain-wide channels are sent from the launch itself"

    # exactly one span per activity scheduled and child started, in every workflow's history
    runs_by_workflow = {
        (str(s.attributes["temporalWorkflowID"]), str(s.attributes["temporalRunID"]))
        for s in tree
        if s.name.startswith("RunWorkflow:") and s.attributes
    }
    histories = [
        await rig.env.client.get_workflow_handle(wid, run_id=rid).fetch_history()
        for wid, rid in sorted(runs_by_workflow)
    ]
    expected: Counter[str] = Counter()
    for history in histories:
        expected += history_counts(history)
    traced = Counter(
        s.name for s in tree if s.name.startswith(("StartActivity:", "StartChildWorkflow:"))
    )
    assert traced == expected

    # a replay of every history with the interceptor adds no span
    before = len(exporter.get_finished_spans())
    replayer = Replayer(
        workflows=ALL_WORKFLOWS,
        data_converter=rig.env.client.data_converter,
        interceptors=[tracing],
    )
    for history in histories:
        await replayer.replay_workflow(history)
    assert len(exporter.get_finished_spans()) == before


def test_the_exporter_is_chosen_by_the_environment_variable() -> None:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    from common.telemetry import span_exporter, tracer_provider

    assert span_exporter("none") is None and span_exporter("") is None
    assert tracer_provider("retail-worker", "none") is None
    assert isinstance(span_exporter("Console"), ConsoleSpanExporter)
    provider = tracer_provider("retail-worker", "console")
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "retail-worker"
    provider.shutdown()
    with pytest.raises(RuntimeError, match="not one of: none, console, otlp"):
        span_exporter("jaeger")
    try:
        import opentelemetry.exporter.otlp.proto.grpc.trace_exporter  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match=r"pip install '\.\[otlp\]'"):
            span_exporter("otlp")
    else:
        assert type(span_exporter("otlp")).__name__ == "OTLPSpanExporter"
