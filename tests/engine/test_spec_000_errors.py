"""The code samples of shared/spec 000 ("Error Handling & Recovery").

Each sample of the document runs as written, its placeholders filled in; each test
asserts what the sample's comments promise.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from flux import WorkflowExecutionContext, task, workflow
from flux.domain.events import ExecutionEventType
from flux.errors import (
    ExecutionError,
    ExecutionTimeoutError,
    RetryError,
    WorkflowNotFoundError,
)
from tests.engine.spec_support import T, types


def test_error_types_import():
    assert issubclass(RetryError, ExecutionError)
    assert issubclass(ExecutionTimeoutError, ExecutionError)
    assert issubclass(WorkflowNotFoundError, ExecutionError)


async def test_full_error_handling_order_timeout_retries_rollback_fallback(delays):
    order = []

    async def rollback_handler():
        order.append("rollback")

    async def fallback_handler():
        order.append("fallback")
        return "fallback value"

    @task.with_options(retry_max_attempts=3, retry_delay=1, retry_backoff=2,
                       fallback=fallback_handler, rollback=rollback_handler, timeout=0.05)
    async def task_with_full_error_handling():
        order.append("attempt")
        await asyncio.sleep(1)

    @workflow
    async def wf(ctx):
        return await task_with_full_error_handling()

    ctx = await wf.run()
    assert order == ["attempt"] * 4 + ["rollback", "fallback"]
    assert ctx.output == "fallback value" and delays == [1, 2, 4]
    retry_failures = [e.value["error"]["type"] for e in ctx.events
                      if e.type is T.TASK_RETRY_FAILED]
    assert retry_failures == ["ExecutionTimeoutError"] * 3


async def test_try_except_pattern_sees_the_inner_exception():
    seen = []

    @task
    async def risky_task():
        raise KeyError("missing")

    @workflow
    async def error_handling_workflow(ctx: WorkflowExecutionContext):
        try:
            result = await risky_task()
            return result
        except ExecutionError as e:
            seen.append(e.inner_exception)
            raise

    ctx = await error_handling_workflow.run()
    assert isinstance(seen[0], KeyError) and ctx.has_failed
    assert ctx.error["type"] == "ExecutionError"
    assert ctx.error["cause"]["type"] == "KeyError"


async def test_timeout_handling_in_the_workflow():
    @task.with_options(timeout=0.05)
    async def long_running_task():
        await asyncio.sleep(35)

    @workflow
    async def timeout_workflow(ctx: WorkflowExecutionContext):
        try:
            result = await long_running_task()
            return result
        except ExecutionTimeoutError as e:
            return f"Task timed out: {e.timeout}s"

    assert (await timeout_workflow.run()).output == "Task timed out: 0.05s"


async def test_automatic_state_recovery_resumes_from_the_last_successful_state():
    runs = {"first": 0, "flaky": 0}
    broken = {"yes": True}

    @task
    async def first_step(x):
        runs["first"] += 1
        return x + 1

    @task
    async def flaky_step(x):
        runs["flaky"] += 1
        if broken["yes"]:
            raise ConnectionError("service down")
        return x * 10

    @workflow
    async def my_workflow(ctx):
        return await flaky_step(await first_step(ctx.input))

    ctx = await my_workflow.run(1)
    assert ctx.has_failed
    broken["yes"] = False
    ctx = await my_workflow.run(execution_id=ctx.execution_id)
    assert ctx.has_succeeded and ctx.output == 20
    assert runs == {"first": 1, "flaky": 2}  # the completed task kept its result
    assert types(ctx).count("WORKFLOW_RESUMED") == 1


async def test_error_events_can_be_analysed():
    @task.with_options(retry_max_attempts=1, retry_delay=0)
    async def bad():
        raise ValueError("x")

    @workflow
    async def wf(ctx):
        await bad()

    ctx = await wf.run()

    async def analyze_errors(ctx: WorkflowExecutionContext):
        error_events = [
            event for event in ctx.events
            if event.type in [
                ExecutionEventType.TASK_FAILED,
                ExecutionEventType.TASK_RETRY_FAILED,
                ExecutionEventType.TASK_FALLBACK_FAILED,
                ExecutionEventType.WORKFLOW_FAILED
            ]
        ]
        return error_events

    assert [e.type.value for e in await analyze_errors(ctx)] == [
        "TASK_RETRY_FAILED", "TASK_FAILED", "WORKFLOW_FAILED"]


async def test_layered_error_handling_returns_none_on_unexpected_errors():
    @task.with_options(retry_max_attempts=3, retry_delay=0, fallback=lambda: "fallback")
    async def resilient_task():
        raise RuntimeError()

    @task
    async def exploding():
        raise RuntimeError("boom")

    @workflow
    async def resilient_workflow(ctx: WorkflowExecutionContext):
        try:
            result = await resilient_task()
            await exploding()
            return result
        except Exception:
            return None

    ctx = await resilient_workflow.run()
    assert ctx.has_succeeded and ctx.output is None


async def test_partial_failures_continue_with_other_items():
    @task
    async def process_item(item):
        if item == "bad":
            raise ValueError(item)
        return item.upper()

    @workflow
    async def partial_failure_workflow(ctx: WorkflowExecutionContext):
        results = []
        for item in ctx.input:
            try:
                result = await process_item(item)
                results.append(result)
            except Exception:
                results.append(None)
        return results

    ctx = await partial_failure_workflow.run(["a", "bad", "c"])
    assert ctx.output == ["A", None, "C"]


async def test_appropriate_timeouts_are_options():
    @task.with_options(timeout=30)
    async def api_task():
        return "api"

    @task.with_options(timeout=300)
    async def processing_task():
        return "processing"

    assert (api_task.timeout, processing_task.timeout) == (30, 300)
    assert await api_task() == "api"


def test_timestamps_in_context_are_datetimes():
    @workflow
    async def wf(ctx):
        return 1

    ctx = wf.run_sync()
    assert isinstance(ctx.started_at, datetime) and isinstance(ctx.finished_at, datetime)
