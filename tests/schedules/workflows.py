"""Workflows the schedule tests run (registered when a test module imports this)."""

from __future__ import annotations

from flux import ExecutionContext, cron, interval, task, workflow


@task
async def note(value: object) -> object:
    return value


@workflow
async def sched_echo(ctx: ExecutionContext) -> object:
    """Returns its input."""
    return await note(ctx.input)


@workflow.with_options(schedule=cron("0 9 * * MON-FRI", timezone="Europe/Paris"))
async def sched_daily(ctx: ExecutionContext) -> str:
    """Declared with a schedule in code."""
    return "report"


@workflow.with_options(schedule=interval(hours=6, input={"full": False}))
async def sched_every6h(ctx: ExecutionContext) -> object:
    return ctx.input


@workflow.with_options(concurrency=2)
async def sched_limited(ctx: ExecutionContext) -> object:
    return ctx.input


@workflow.with_options(concurrency={"limit": 1, "key": "input.customer"})
async def sched_per_customer(ctx: ExecutionContext) -> object:
    return ctx.input


@task
def linger(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


@workflow.with_options(concurrency=2)
async def sched_limited_slow(ctx: ExecutionContext) -> object:
    """At most two at once; each takes ``input["seconds"]``."""
    return await linger(ctx.input["seconds"])


@workflow.with_options(concurrency={"limit": 1, "key": "input.customer"})
async def sched_per_customer_slow(ctx: ExecutionContext) -> object:
    """One at a time per customer."""
    return await linger(ctx.input["seconds"])
