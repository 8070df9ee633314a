"""The code samples of shared/spec 002 ("Task System").

Each sample of the document runs as written, its placeholders filled in; each test
asserts what the sample's comments promise.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import timedelta

import pytest

import flux.tasks
from flux import ExecutionContext, WorkflowExecutionContext, task, workflow
from flux.errors import (
    ExecutionTimeoutError,
)
from flux.tasks import (
    Graph,
    choice,
    now,
    parallel,
    pause,
    pipeline,
    randint,
    randrange,
    sleep,
    uuid4 as flux_uuid4,
)
from tests.engine.spec_support import T, process_data, types


async def test_task_receives_requested_secrets_which_never_reach_the_store(store):
    @task.with_options(name="process_data_with_secret", secret_requests=["API_KEY"])
    async def complex_task(data: str, secrets: dict = {}):  # noqa: B006 - as in the docs
        return f"{data}:{secrets['API_KEY']}"

    seen = []

    @workflow
    async def wf(ctx: ExecutionContext[str]):
        value = await complex_task(ctx.input)
        seen.append(value)
        return value

    ctx = await wf.run("d")
    assert seen == ["d:s3cr3t-key"]  # the workflow gets the real value...
    assert ctx.output == "d:***"  # ...the record never holds it
    stored = repr(store.events(ctx.execution_id)) + repr(store.get(ctx.execution_id))
    assert "s3cr3t-key" not in stored


async def test_retry_configuration_waits_1_2_4_seconds(delays):
    attempts = []

    @task.with_options(retry_max_attempts=3, retry_delay=1, retry_backoff=2)
    def retrying_task():
        attempts.append(1)
        raise ValueError("Task failed")

    @workflow
    async def wf(ctx):
        await retrying_task()

    ctx = await wf.run()
    assert delays == [1, 2, 4]
    assert len(attempts) == 4  # the first attempt and three retries
    assert ctx.has_failed
    error = ctx.error
    assert error["type"] == "ExecutionError" and error["cause"]["type"] == "RetryError"
    assert error["cause"]["cause"] == {"type": "ValueError", "module": "builtins",
                                       "message": "Task failed"}
    assert types(ctx).count("TASK_RETRY_STARTED") == 3
    assert types(ctx).count("TASK_RETRY_FAILED") == 3


async def test_timeout_configuration_fails_a_blocking_sync_task():
    @task.with_options(timeout=0.2)
    def timed_task():
        time.sleep(3)

    @workflow
    async def wf(ctx):
        try:
            await timed_task()
        except ExecutionTimeoutError as e:
            return e.timeout

    started = time.monotonic()
    ctx = await wf.run()
    assert time.monotonic() - started < 1.5
    assert ctx.output == 0.2


async def test_fallback_configuration_returns_the_fallback_result():
    def fallback_handler(input_data):
        return f"fallback result for {input_data}"

    @task.with_options(fallback=fallback_handler)
    def task_with_fallback(input_data):
        raise RuntimeError("nope")

    @workflow
    async def wf(ctx):
        return await task_with_fallback(ctx.input)

    ctx = await wf.run("x")
    assert ctx.output == "fallback result for x"
    assert "TASK_FALLBACK_COMPLETED" in types(ctx) and "TASK_FAILED" not in types(ctx)
    started = next(e for e in ctx.events if e.type is T.TASK_FALLBACK_STARTED)
    assert started.value["error"]["message"] == "nope"  # the log says why


async def test_rollback_configuration_cleans_up_then_the_error_propagates():
    rolled_back = []

    def rollback_handler(input_data):
        rolled_back.append(input_data)

    @task.with_options(rollback=rollback_handler)
    def task_with_rollback(input_data):
        raise ValueError("bad")

    @workflow
    async def wf(ctx):
        await task_with_rollback(ctx.input)

    ctx = await wf.run("x")
    assert rolled_back == ["x"] and ctx.has_failed
    assert types(ctx)[-4:] == ["TASK_ROLLBACK_STARTED", "TASK_ROLLBACK_COMPLETED", "TASK_FAILED",
                               "WORKFLOW_FAILED"]


@task
async def task1():
    return 1


@task
async def task2(x=None):
    return (x or 0) + 2


@task
async def task3(x=None):
    return (x or 0) + 3


async def test_parallel_execution_returns_results_in_order():
    @workflow
    async def parallel_workflow(ctx: WorkflowExecutionContext):
        results = await parallel(
            task1(),
            task2(),
            task3()
        )
        return results

    assert (await parallel_workflow.run()).output == [1, 2, 3]


async def test_pipeline_feeds_each_result_to_the_next():
    @task
    async def add_one(x):
        return x + 1

    @workflow
    async def pipeline_workflow(ctx: WorkflowExecutionContext):
        result = await pipeline(
            add_one,
            task2,
            task3,
            input=ctx.input
        )
        return result

    assert (await pipeline_workflow.run(10)).output == 16


async def test_task_mapping():
    @task
    async def process_item(item: str):
        return item.upper()

    @workflow
    async def mapping_workflow(ctx: WorkflowExecutionContext):
        items = ["a", "b", "c"]
        results = await process_item.map(items)
        return results

    ctx = await mapping_workflow.run()
    assert ctx.output == ["A", "B", "C"]
    assert types(ctx).count("TASK_COMPLETED") == 3


async def test_retry_mechanism_with_random_failures_eventually_succeeds(delays):
    rng = random.Random(7)

    @task.with_options(retry_max_attempts=3, retry_delay=1, retry_backoff=2)
    def retrying_task():
        if rng.random() < 0.5:
            raise ValueError("Task failed")
        return "success"

    @workflow
    async def wf(ctx):
        return await retrying_task()

    ctx = await wf.run()
    assert ctx.output == "success"
    assert delays == [1, 2, 4][: len(delays)]


async def test_retries_first_then_fallback(delays):
    calls = []

    def fallback_handler():
        calls.append("fallback")
        return "fallback result"

    @task.with_options(fallback=fallback_handler, retry_max_attempts=3)
    def task_with_fallback():
        calls.append("try")
        raise RuntimeError("down")

    @workflow
    async def wf(ctx):
        return await task_with_fallback()

    ctx = await wf.run()
    assert calls == ["try"] * 4 + ["fallback"] and ctx.output == "fallback result"


async def test_timeout_then_fallback():
    @task.with_options(timeout=0.1, fallback=lambda: "fallback result")
    def timed_task():
        time.sleep(2)

    @workflow
    async def wf(ctx):
        return await timed_task()

    assert (await wf.run()).output == "fallback result"


async def test_time_operations_sleep_durably(monkeypatch):
    slept = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(flux.tasks, "sleep_wait", fake_sleep)

    @workflow
    async def timing_workflow(ctx: WorkflowExecutionContext):
        start_time = await now()
        await sleep(timedelta(seconds=5))
        end_time = await now()
        return end_time - start_time

    ctx = await timing_workflow.run()
    assert ctx.has_succeeded and isinstance(ctx.output, timedelta)
    assert len(slept) == 1 and 4.5 < slept[0] <= 5
    started = [e for e in ctx.events if e.type is T.TASK_STARTED and e.name == "sleep"]
    assert started[0].value["input"] == {"seconds": 5.0}


async def test_random_operations_are_recorded():
    @workflow
    async def random_workflow(ctx: WorkflowExecutionContext):
        chosen = await choice(["a", "b", "c"])
        number = await randint(1, 10)
        range_num = await randrange(0, 10, 2)
        return chosen, number, range_num

    ctx = await random_workflow.run()
    chosen, number, range_num = ctx.output
    assert chosen in "abc" and 1 <= number <= 10 and range_num in range(0, 10, 2)
    assert isinstance(ctx.output, tuple)


async def test_uuid_generation():
    @workflow
    async def id_workflow(ctx: WorkflowExecutionContext):
        new_id = await flux_uuid4()
        return new_id

    assert isinstance((await id_workflow.run()).output, uuid.UUID)


async def test_workflow_pauses_wait_for_resume():
    @workflow
    async def approval_workflow(ctx: WorkflowExecutionContext):
        result = await process_data()
        await pause("wait_for_approval")
        return f"Approved: {result}"

    ctx = await approval_workflow.run()
    assert ctx.is_paused
    assert [e.type for e in ctx.events][-2:] == [T.TASK_PAUSED, T.WORKFLOW_PAUSED]
    ctx = await approval_workflow.run(execution_id=ctx.execution_id)
    assert ctx.output == "Approved: data(None)"


@task
def get_name(input: str) -> str:
    return input


@task
def say_hello(name: str) -> str:
    return f"Hello, {name}"


async def test_graph_hello_world():
    @workflow
    async def graph_workflow(ctx: WorkflowExecutionContext[str]):
        hello = (
            Graph("hello_world")
            .add_node("get_name", get_name)
            .add_node("say_hello", say_hello)
            .add_edge("get_name", "say_hello")
            .start_with("get_name")
            .end_with("say_hello")
        )
        return await hello(ctx.input)

    ctx = await graph_workflow.run("Joe")
    assert ctx.output == "Hello, Joe"
    graph_event = next(e for e in ctx.events if e.type is T.GRAPH_STARTED)
    assert graph_event.value["graph"]["nodes"] == [
        {"id": "get_name", "task": "get_name", "options": {}},
        {"id": "say_hello", "task": "say_hello", "options": {}}]


@pytest.mark.parametrize(("value", "expected"), [(5, {"task2": 7}), (-5, {"task3": -2})])
async def test_graph_with_conditions_takes_one_branch(value, expected):
    @task
    async def task1_func(x):
        return x

    @task
    async def task2_func(x):
        return x + 2

    @task
    async def task3_func(x):
        return x + 3

    graph = (
        Graph("complex_workflow")
        .add_node("task1", task1_func)
        .add_node("task2", task2_func)
        .add_node("task3", task3_func)
        .add_edge("task1", "task2", condition=lambda result: result > 0)
        .add_edge("task1", "task3", condition=lambda result: result <= 0)
        .start_with("task1")
        .end_with("task2")
        .end_with("task3")
        .validate()
    )

    @workflow
    async def wf(ctx):
        return await graph(ctx.input)

    ctx = await wf.run(value)
    assert ctx.output == next(iter(expected.values()))
    skipped = [e.value["node"] for e in ctx.events if e.type is T.GRAPH_NODE_SKIPPED]
    assert skipped == ["task3" if "task2" in expected else "task2"]
    structure = next(e for e in ctx.events if e.type is T.GRAPH_STARTED).value["graph"]
    assert structure["edges"][0]["condition"] == "lambda result: result > 0"


async def test_error_handling_graph_routes_to_fallback_node():
    @task
    async def safe_task(x):
        return 42  # not a string: the check fails

    @task
    async def fallback_task(x):
        return f"recovered from {x}"

    def check_condition(result):
        return isinstance(result, str)

    graph = (
        Graph("error_handling")
        .add_node("task1", safe_task)
        .add_node("fallback", fallback_task)
        .add_edge("task1", "fallback", condition=lambda r: not check_condition(r))
        .start_with("task1")
        .end_with("fallback")
    )

    @workflow
    async def wf(ctx):
        return await graph(ctx.input)

    assert (await wf.run("in")).output == "recovered from 42"
