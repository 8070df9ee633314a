"""Workflows the hostile-input tests run (registered on import; names start with sec_)."""

from __future__ import annotations

from typing import Any

from flux import ExecutionContext, task, workflow
from flux.tasks import pause


@task
async def sec_repeat(value: Any) -> Any:
    return value


@workflow
async def sec_echo(ctx: ExecutionContext[Any]) -> Any:
    """Gives its input back, through a task (so events hold it too)."""
    return await sec_repeat(ctx.input)


@workflow
async def sec_ask(ctx: ExecutionContext[Any]) -> Any:
    """Pauses for a person's answer, then gives it back."""
    return await pause("answer", title="Answer?")
