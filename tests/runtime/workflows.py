"""Workflows the runtime tests run, in the test process and in worker processes
(``FLUX_WORKFLOW_MODULES=tests.runtime.workflows``)."""

from __future__ import annotations

import asyncio
import os
import time

from flux import ExecutionContext, task, workflow
from flux.tasks import pause, sleep


@task
async def add(a: int, b: int) -> int:
    return a + b


@workflow.with_options(name="rt_hello", input_schema={
    "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"]})
async def rt_hello(ctx: ExecutionContext[dict]):
    return await add(ctx.input["a"], ctx.input["b"])


@workflow.with_options(name="rt_approval")
async def rt_approval(ctx: ExecutionContext):
    answer = await pause("approve")
    return {"answer": answer}


@workflow.with_options(name="rt_sleepy")
async def rt_sleepy(ctx: ExecutionContext[float]):
    await sleep(ctx.input)
    return "awake"


@task
async def tick(i: int) -> int:
    import asyncio

    await asyncio.sleep(0.05)
    return i


@workflow.with_options(name="rt_forever")
async def rt_forever(ctx: ExecutionContext):
    for i in range(100_000):
        await tick(i)


@task
def step(path: str, tag: str, i: int, delay: float) -> int:
    """One line per body run: the crash tests count them."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{tag} {i}\n".encode())
    finally:
        os.close(fd)
    time.sleep(delay)
    return i


@workflow.with_options(name="rt_crash", max_recovery_attempts=1000)
async def rt_crash(ctx: ExecutionContext[dict]):
    """20 tasks in a row, each appending a line to ``path``."""
    inp = ctx.input
    total = 0
    for i in range(inp.get("tasks", 20)):
        total += await step(inp["path"], inp["tag"], i, inp.get("delay", 0.02))
    return total


#: What rt_leaves_a_task_behind's forgotten task saw (tests/web/test_runner.py).
LEFT_BEHIND: dict[str, int] = {}


@workflow.with_options(name="rt_leaves_a_task_behind")
async def rt_leaves_a_task_behind(ctx: ExecutionContext):
    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            LEFT_BEHIND["cancelled"] = LEFT_BEHIND.get("cancelled", 0) + 1
            raise

    asyncio.get_running_loop().create_task(forever())  # never awaited
    return "done"


# composition (issue 15) ------------------------------------------------------------------

from flux import call, continue_as_new  # noqa: E402
from flux.tasks import progress, wait_for_event  # noqa: E402


@task
async def one_step(x: int) -> int:
    return x + 1


@workflow.with_options(name="rt_child")
async def rt_child(ctx: ExecutionContext[int]):
    return await one_step(ctx.input)


@workflow.with_options(name="rt_failing_child")
async def rt_failing_child(ctx: ExecutionContext):
    raise ValueError("the child broke")


@workflow.with_options(name="rt_fanout")
async def rt_fanout(ctx: ExecutionContext[int]):
    """Fan out ``ctx.input`` children through call(); their outputs' sum."""
    return sum(await call.map(rt_child, range(ctx.input)))


@workflow.with_options(name="rt_call_one")
async def rt_call_one(ctx: ExecutionContext):
    try:
        return await call(ctx.input["workflow"], ctx.input.get("input"))
    except Exception as exc:
        return f"caught {type(exc).__name__}: {exc}"


@workflow.with_options(name="rt_waiter")
async def rt_waiter(ctx: ExecutionContext[dict]):
    payload = await wait_for_event("payment", match={"order": ctx.input["order"]},
                                   timeout=ctx.input.get("timeout"))
    return {"order": ctx.input["order"], "payload": payload}


@workflow.with_options(name="rt_deadline", timeout=60)
async def rt_deadline(ctx: ExecutionContext):
    await pause("forever")


@task
async def crunch(n: int) -> int:
    for i in range(n):
        await progress({"processed": i + 1, "total": n})
    return n


@workflow.with_options(name="rt_progress")
async def rt_progress(ctx: ExecutionContext[int]):
    return await crunch(ctx.input)


@workflow.with_options(name="rt_loop")
async def rt_loop(ctx: ExecutionContext[int]):
    await one_step(ctx.input)
    if ctx.input < 3:
        return continue_as_new(ctx.input + 1)
    return ctx.input
