"""Helpers shared by the spec-sample tests (test_spec_000/002/003_*.py)."""

from __future__ import annotations

from flux import task
from flux.domain.events import ExecutionEventType

T = ExecutionEventType


def types(ctx) -> list[str]:
    return [e.type.value for e in ctx.events]


@task
async def some_task(value=None):
    return f"processed {value}"


@task
async def process_data(data=None):
    return f"data({data})"
