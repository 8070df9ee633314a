"""Workflows the browser tests run in a real worker process
(``FLUX_WORKFLOW_MODULES=tests.browser.workflows``)."""

from __future__ import annotations

import asyncio
from typing import NotRequired, TypedDict

from flux import ExecutionContext, task, workflow
from flux.tasks import pause


class StepsInput(TypedDict):
    steps: int
    delay: NotRequired[float]


@task
async def browser_step(i: int, delay: float) -> int:
    await asyncio.sleep(delay)
    return i


@workflow
async def browser_steps(ctx: ExecutionContext[StepsInput]) -> int:
    """Runs `steps` tasks one after another, each taking `delay` seconds."""
    total = 0
    for i in range(ctx.input["steps"]):
        total += await browser_step(i, ctx.input.get("delay", 0.1))
    return total


@workflow
async def browser_wait(ctx: ExecutionContext[None]) -> str:
    """Pauses until someone approves (or cancels) it."""
    await pause("hold", title="Hold")
    return "released"
