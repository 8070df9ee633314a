"""The code samples of shared/spec 003 ("Basic Concepts").

Each sample of the document runs as written, its placeholders filled in; each test
asserts what the sample's comments promise.
"""

from __future__ import annotations

from flux import ExecutionContext, LocalFileStorage, WorkflowExecutionContext, task, workflow
from flux.domain.events import ExecutionEventType
from flux.tasks import (
    pause,
)
from tests.engine.spec_support import process_data, some_task, types


async def test_basic_workflow_runs_a_task_on_its_input():
    @workflow
    async def my_workflow(ctx: ExecutionContext[str]):
        result = await some_task(ctx.input)
        return result

    ctx = await my_workflow.run("hello")
    assert ctx.has_succeeded and ctx.output == "processed hello"
    assert types(ctx) == ["WORKFLOW_STARTED", "TASK_STARTED", "TASK_COMPLETED",
                          "WORKFLOW_COMPLETED"]


async def test_configured_workflow_takes_name_secrets_and_output_storage(tmp_path, store):
    custom_storage = LocalFileStorage(tmp_path / "outputs")

    @workflow.with_options(
        name="custom_workflow",
        secret_requests=["API_KEY"],
        output_storage=custom_storage,
    )
    async def configured_workflow(ctx: ExecutionContext):
        result = await some_task()
        return result

    assert configured_workflow.name == "custom_workflow"
    ctx = await configured_workflow.run()
    assert ctx.name == "custom_workflow" and ctx.output == "processed None"
    assert store.get(ctx.execution_id).output["$t"] == "ref"  # the event keeps a reference
    assert list((tmp_path / "outputs").iterdir())


async def test_workflow_with_pause_point_continues_after_resume():
    @workflow
    async def approval_workflow(ctx: ExecutionContext):
        data = await process_data(ctx.input)
        await pause("manual_approval")
        return f"Approved: {data}"

    ctx = await approval_workflow.run("x")
    assert ctx.is_paused and not ctx.has_finished and ctx.output is None
    ctx = await approval_workflow.resume(ctx.execution_id)
    assert ctx.has_succeeded and ctx.output == "Approved: data(x)"


async def test_basic_and_configured_tasks(delays):
    @task
    async def simple_task(data: str):
        return data.upper()

    def fallback_function(data):
        return "fallback"

    def rollback_function(data):
        pass

    @task.with_options(
        name="custom_task",
        retry_max_attempts=3,
        retry_delay=1,
        retry_backoff=2,
        timeout=30,
        fallback=fallback_function,
        rollback=rollback_function,
        secret_requests=["API_KEY"],
        output_storage=None,
    )
    async def complex_task(data: str):
        return data * 2

    assert await simple_task("abc") == "ABC"  # callable outside workflows too
    assert complex_task.name == "custom_task"

    @workflow
    async def wf(ctx: ExecutionContext[str]):
        return [await simple_task(ctx.input), await complex_task(ctx.input)]

    assert (await wf.run("ab")).output == ["AB", "abab"]


async def test_execution_context_properties():
    seen = {}

    @workflow
    async def example_workflow(ctx: ExecutionContext[str]):
        seen.update(execution_id=ctx.execution_id, input_data=ctx.input,
                    is_finished=ctx.has_finished, has_succeeded=ctx.has_succeeded,
                    output_data=ctx.output, name=ctx.name, has_failed=ctx.has_failed,
                    is_paused=ctx.is_paused, events=len(ctx.events))
        return "ok"

    ctx = await example_workflow.run("in")
    assert seen == {"execution_id": ctx.execution_id, "input_data": "in", "is_finished": False,
                    "has_succeeded": False, "output_data": None, "name": "example_workflow",
                    "has_failed": False, "is_paused": False, "events": 1}
    assert ctx.has_finished and ctx.has_succeeded and not ctx.has_failed and ctx.output == "ok"
    assert WorkflowExecutionContext is ExecutionContext


def test_event_types_of_the_documents_exist():
    for name in ["WORKFLOW_STARTED", "WORKFLOW_COMPLETED", "WORKFLOW_FAILED", "WORKFLOW_PAUSED",
                 "TASK_STARTED", "TASK_COMPLETED", "TASK_FAILED", "TASK_PAUSED",
                 "TASK_RETRY_STARTED", "TASK_RETRY_COMPLETED", "TASK_RETRY_FAILED",
                 "TASK_FALLBACK_STARTED", "TASK_FALLBACK_COMPLETED", "TASK_FALLBACK_FAILED",
                 "TASK_ROLLBACK_STARTED", "TASK_ROLLBACK_COMPLETED", "TASK_ROLLBACK_FAILED"]:
        assert ExecutionEventType[name].value == name
